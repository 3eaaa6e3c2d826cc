//! `runtime::sync::broadcast` on both schedulers:
//!
//! - every receiver gets every value sent while it was subscribed, in order;
//!   `recv` reports `Closed` once every sender is gone and all was read;
//! - a receiver that falls behind gets `Lagged(n)` with the count lost, then
//!   resumes at the oldest value kept (capacity rounded up to a power of
//!   two, as tokio's);
//! - `subscribe`/`resubscribe` start at the tail; `receiver_count`; a send
//!   with no receiver fails with the value back; a value is dropped once
//!   every receiver has seen it, or when a receiver that had not is dropped;
//! - a `recv` dropped mid-wait loses nothing;
//! - `blocking_recv` from a plain thread;
//! - the cooperative budget: a receive loop on an always-ready receiver
//!   yields on a current-thread runtime;
//! - fan-out to TCP connections on 127.0.0.1.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use runtime_tests::{block_on, flavor_tests, DropCounter, Flavor, Watchdog};

fn every_receiver_gets_every_value(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = broadcast::channel::<u32>(1024);
        let receivers: Vec<_> = std::iter::once(rx)
            .chain((0..3).map(|_| tx.subscribe()))
            .map(|mut rx| {
                runtime::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(v) => got.push(v),
                            Err(RecvError::Closed) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        assert_eq!(tx.receiver_count(), 4);
        let tx2 = tx.clone();
        for i in 0..500 {
            if i % 2 == 0 { &tx } else { &tx2 }.send(i).unwrap();
            if i % 64 == 0 {
                runtime::task::yield_now().await;
            }
        }
        drop((tx, tx2));
        for r in receivers {
            assert_eq!(r.await.unwrap(), (0..500).collect::<Vec<_>>());
        }
    });
}

#[test]
fn a_lagging_receiver_is_told_and_resumes() {
    let (tx, mut rx) = broadcast::channel(2);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 5);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // Capacity 3 is rounded up to 4.
    let (tx, mut rx) = broadcast::channel(3);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    for v in 2..5 {
        assert_eq!(rx.try_recv(), Ok(v));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(TryRecvError::Lagged(3).to_string(), "channel lagged by 3");
    assert_eq!(RecvError::Closed.to_string(), "channel closed");
}

#[test]
fn subscribe_and_resubscribe_start_at_the_tail() {
    let (tx, mut rx) = broadcast::channel(8);
    tx.send(1).unwrap();
    let mut late = tx.subscribe();
    let mut again = rx.resubscribe();
    assert_eq!(tx.receiver_count(), 3);
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(late.try_recv(), Ok(2));
    assert_eq!(again.try_recv(), Ok(2));
    drop((rx, late, again));
    assert_eq!(tx.send(3).unwrap_err().0, 3);

    let tx = broadcast::Sender::<u8>::new(2);
    assert_eq!(tx.receiver_count(), 0);
    let mut rx = tx.subscribe();
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    weak.upgrade().unwrap().send(4).unwrap();
    drop(tx);
    assert!(weak.upgrade().is_none(), "weak senders do not keep it open");
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn values_are_dropped_once_seen_by_all() {
    let drops = DropCounter::new();
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    tx.send(Arc::new(drops.guard())).unwrap();
    tx.send(Arc::new(drops.guard())).unwrap();
    assert_eq!(tx.len(), 2);
    drop(a.try_recv().unwrap());
    assert_eq!(drops.count(), 0, "b has not seen it");
    drop(b.try_recv().unwrap());
    assert_eq!(drops.count(), 1);
    assert_eq!(tx.len(), 1);
    drop(a.try_recv().unwrap());
    drop(b);
    assert_eq!(drops.count(), 2, "the receiver that had not seen it left");
    assert!(tx.is_empty());
}

#[test]
fn a_dropped_recv_loses_nothing() {
    let (tx, mut rx) = broadcast::channel(4);
    {
        let mut wait = pin!(rx.recv());
        assert!(wait
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
    }
    tx.send(9).unwrap();
    assert_eq!(rx.try_recv(), Ok(9));
}

#[test]
fn blocking_recv_from_a_plain_thread() {
    let _watchdog = Watchdog::start(runtime_tests::HANG_LIMIT);
    let (tx, mut rx) = broadcast::channel(4);
    let t = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.blocking_recv() {
            got.push(v);
        }
        got
    });
    for i in 0..3 {
        tx.send(i).unwrap();
        std::thread::yield_now();
    }
    drop(tx);
    let got = t.join().unwrap();
    assert!(got.windows(2).all(|w| w[0] < w[1]) && got.last() == Some(&2));
}

fn an_always_ready_receiver_yields(flavor: Flavor) {
    block_on(flavor, async {
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let spinner = runtime::spawn(async move {
            let (tx, mut rx) = broadcast::channel(4);
            let mut spins = 0u64;
            while !flag.load(Ordering::SeqCst) {
                tx.send(()).unwrap();
                rx.recv().await.unwrap();
                spins += 1;
                assert!(spins < 10_000_000, "the other task never ran");
            }
        });
        runtime::spawn(async move { other_ran.store(true, Ordering::SeqCst) })
            .await
            .unwrap();
        spinner.await.unwrap();
    });
}

/// Each connection's task subscribes and writes every value broadcast to
/// its socket; each client reads them all.
fn fans_out_to_tcp_connections(flavor: Flavor) {
    const CLIENTS: usize = 4;
    const VALUES: u32 = 200;
    block_on(flavor, async {
        let (tx, _) = broadcast::channel::<u32>(VALUES as usize);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ready_tx, mut ready_rx) = runtime::sync::mpsc::channel::<()>(CLIENTS);
        let server_tx = tx.clone();
        runtime::spawn(async move {
            for _ in 0..CLIENTS {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut rx = server_tx.subscribe();
                ready_tx.send(()).await.unwrap();
                runtime::spawn(async move {
                    while let Ok(v) = rx.recv().await {
                        s.write_all(&v.to_le_bytes()).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    let mut all = Vec::new();
                    s.read_to_end(&mut all).await.unwrap();
                    all
                })
            })
            .collect();
        for _ in 0..CLIENTS {
            ready_rx.recv().await.unwrap();
        }
        for v in 0..VALUES {
            tx.send(v).unwrap();
        }
        drop(tx);
        let expected: Vec<u8> = (0..VALUES).flat_map(u32::to_le_bytes).collect();
        for c in clients {
            assert_eq!(c.await.unwrap(), expected);
        }
    });
}

flavor_tests!(
    every_receiver_gets_every_value,
    an_always_ready_receiver_yields,
    fans_out_to_tcp_connections,
);
