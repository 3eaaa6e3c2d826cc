//! `runtime::sync::oneshot` on both schedulers:
//!
//! - a value crosses tasks; the sender dropped unsent gives `RecvError`;
//! - the receiver dropped (or closed) fails `send` with the value back and
//!   completes `closed()`; a value sent before `close` is still received,
//!   and one left in a dropped receiver is dropped;
//! - a wait dropped (or abandoned) mid-way loses nothing: the receiver can be
//!   polled again later;
//! - `blocking_recv` from a plain thread, and its panic inside a runtime;
//! - the cooperative budget: a task awaiting ready receivers in a loop
//!   yields to another task on a current-thread runtime;
//! - a TCP request/response server on 127.0.0.1 whose connection tasks get
//!   their answers from a worker task through oneshots.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::{mpsc, oneshot, oneshot::error::TryRecvError};
use runtime_tests::{block_on, flavor_tests, panic_message, DropCounter, Flavor, Watchdog};

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

fn value_crosses_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = oneshot::channel();
        runtime::spawn(async move {
            runtime::task::yield_now().await;
            tx.send(String::from("hi")).unwrap();
        });
        assert_eq!(rx.await.as_deref(), Ok("hi"));

        let (tx, rx) = oneshot::channel::<u8>();
        runtime::spawn(async move { drop(tx) });
        let err = rx.await.unwrap_err();
        assert_eq!(err.to_string(), "channel closed");
    });
}

fn receiver_gone_fails_send_and_completes_closed(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, rx) = oneshot::channel::<u32>();
        assert!(!tx.is_closed());
        let dropper = runtime::spawn(async move {
            runtime::task::yield_now().await;
            drop(rx);
        });
        tx.closed().await;
        dropper.await.unwrap();
        assert!(tx.is_closed());
        assert_eq!(tx.send(7), Err(7));

        let (mut tx, mut rx) = oneshot::channel::<u32>();
        let waiter = runtime::spawn(async move {
            tx.closed().await;
            tx.send(1)
        });
        runtime::task::yield_now().await;
        rx.close();
        assert_eq!(waiter.await.unwrap(), Err(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(rx.is_terminated());
    });
}

#[test]
fn close_after_send_still_receives() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(3).unwrap();
    rx.close();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(3));
    assert!(rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    // Closed with nothing sent: the wait ends at once, though the sender
    // lives.
    let (_tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(matches!(poll_once(&mut rx), Poll::Ready(Err(_))));
}

#[test]
fn a_value_left_in_a_dropped_receiver_is_dropped() {
    let drops = DropCounter::new();
    let (tx, rx) = oneshot::channel();
    tx.send(drops.guard()).unwrap();
    assert_eq!(drops.count(), 0);
    drop(rx);
    assert_eq!(drops.count(), 1);

    let (tx, rx) = oneshot::channel();
    drop(rx);
    let refused = tx.send(drops.guard()).unwrap_err();
    drop(refused);
    assert_eq!(drops.count(), 2);
}

#[test]
fn an_abandoned_wait_loses_nothing() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(poll_once(&mut rx), Poll::Pending);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(5).unwrap();
    assert_eq!(poll_once(&mut rx), Poll::Ready(Ok(5)));
}

#[test]
fn the_receiver_is_woken_once_sent() {
    let (counter, waker) = runtime_tests::WakeCounter::new();
    let (tx, mut rx) = oneshot::channel();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
    tx.send(1).unwrap();
    assert_eq!(counter.count(), 1);

    let (counter, waker) = runtime_tests::WakeCounter::new();
    let (mut tx, rx) = oneshot::channel::<u8>();
    let mut cx = Context::from_waker(&waker);
    assert!(tx.poll_closed(&mut cx).is_pending());
    drop(rx);
    assert_eq!(counter.count(), 1);
    assert!(tx.poll_closed(&mut cx).is_ready());
}

#[test]
fn blocking_recv_from_a_plain_thread() {
    let _watchdog = Watchdog::start(runtime_tests::HANG_LIMIT);
    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || rx.blocking_recv());
    let rt = Flavor::MultiThread.build();
    rt.block_on(async move {
        runtime::task::yield_now().await;
        tx.send(11).unwrap();
    });
    assert_eq!(t.join().unwrap(), Ok(11));

    let (tx, rx) = oneshot::channel::<u8>();
    let t = std::thread::spawn(move || rx.blocking_recv());
    drop(tx);
    assert!(t.join().unwrap().is_err());
}

fn blocking_recv_inside_a_runtime_panics(flavor: Flavor) {
    let (_tx, rx) = oneshot::channel::<u8>();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(flavor, async { rx.blocking_recv() })
    }));
    let message = panic_message(&*result.unwrap_err()).unwrap_or_default();
    assert!(message.contains("blocking_recv"), "{message}");
}

/// A task awaiting always-ready receivers in a loop lets another task on
/// the same thread run.
fn ready_receivers_in_a_loop_yield(flavor: Flavor) {
    block_on(flavor, async {
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let spinner = runtime::spawn(async move {
            let mut spins = 0u64;
            while !flag.load(Ordering::SeqCst) {
                let (tx, rx) = oneshot::channel();
                tx.send(()).unwrap();
                rx.await.unwrap();
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

/// Connection tasks read a number, ask a worker task to square it (the
/// answer comes back through a oneshot), and write the answer.
fn answers_through_oneshots_over_tcp(flavor: Flavor) {
    const CLIENTS: u64 = 8;
    const ROUNDS: u64 = 50;
    block_on(flavor, async {
        let (req_tx, mut req_rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(4);
        runtime::spawn(async move {
            while let Some((n, reply)) = req_rx.recv().await {
                let _ = reply.send(n * n);
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        runtime::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let req_tx = req_tx.clone();
                runtime::spawn(async move {
                    let mut buf = [0u8; 8];
                    while s.read_exact(&mut buf).await.is_ok() {
                        let (tx, rx) = oneshot::channel();
                        req_tx.send((u64::from_le_bytes(buf), tx)).await.unwrap();
                        let sq = rx.await.unwrap();
                        s.write_all(&sq.to_le_bytes()).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    for r in 0..ROUNDS {
                        let n = c * 1000 + r;
                        s.write_all(&n.to_le_bytes()).await.unwrap();
                        let mut buf = [0u8; 8];
                        s.read_exact(&mut buf).await.unwrap();
                        assert_eq!(u64::from_le_bytes(buf), n * n);
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    });
}

#[test]
fn error_shapes_match_tokio() {
    assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    assert_eq!(TryRecvError::Closed.to_string(), "channel closed");
}

flavor_tests!(
    value_crosses_tasks,
    receiver_gone_fails_send_and_completes_closed,
    blocking_recv_inside_a_runtime_panics,
    ready_receivers_in_a_loop_yield,
    answers_through_oneshots_over_tcp,
);
