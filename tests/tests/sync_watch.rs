//! `runtime::sync::watch` on both schedulers:
//!
//! - `changed` completes for a value the receiver has not seen and marks it
//!   seen; it fails once every sender is gone with nothing new;
//! - `send` fails with no receiver (the value is not stored), while
//!   `send_modify`/`send_replace` always store; `send_if_modified` notifies
//!   only when told;
//! - `borrow` does not mark seen, `borrow_and_update` does; `mark_changed`,
//!   `mark_unchanged`, `has_changed` (an error once closed);
//! - `wait_for` checks the current value first, waits across tasks, and
//!   fails once closed; `subscribe` and `clone` start at what was seen;
//! - `Sender::closed` completes once every receiver is gone;
//! - a `changed` dropped mid-wait loses nothing;
//! - the cooperative budget: a loop on an always-changed receiver yields
//!   on a current-thread runtime;
//! - connection tasks on 127.0.0.1 wait for a watched value, then answer.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::watch;
use runtime_tests::{block_on, flavor_tests, Flavor};

fn changed_marks_seen_and_ends(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = watch::channel(0u32);
        assert!(!rx.has_changed().unwrap());
        let sender = runtime::spawn(async move {
            for i in 1..=100 {
                tx.send(i).unwrap();
                runtime::task::yield_now().await;
            }
        });
        let mut last = 0;
        while rx.changed().await.is_ok() {
            let v = *rx.borrow_and_update();
            assert!(v > last, "only newer values: {v} after {last}");
            last = v;
        }
        sender.await.unwrap();
        assert_eq!(last, 100, "the last value is always seen");
        assert!(rx.has_changed().is_err());
        assert!(rx.is_closed());
    });
}

#[test]
fn send_variants() {
    let (tx, rx) = watch::channel(1);
    assert_eq!(tx.receiver_count(), 1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).unwrap_err().0, 2);
    assert_eq!(*tx.borrow(), 1, "a failed send stores nothing");
    tx.send_modify(|v| *v += 10);
    assert_eq!(tx.send_replace(5), 11);
    let mut rx = tx.subscribe();
    assert!(
        !rx.has_changed().unwrap(),
        "subscribed at the current value"
    );
    assert!(!tx.send_if_modified(|v| {
        *v += 1;
        false
    }));
    assert!(!rx.has_changed().unwrap(), "not notified");
    assert_eq!(*rx.borrow(), 6, "but modified");
    assert!(tx.send_if_modified(|_| true));
    assert!(rx.has_changed().unwrap());
    assert!(rx.borrow().has_changed(), "borrow reports it...");
    assert!(rx.has_changed().unwrap(), "...without marking it seen");
    assert!(rx.borrow_and_update().has_changed());
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    let clone = rx.clone();
    assert!(clone.has_changed().unwrap(), "a clone has seen what rx has");
    rx.mark_unchanged();
    assert!(!rx.has_changed().unwrap());
    assert_eq!(tx.sender_count(), 1);
    assert!(tx.same_channel(&tx.clone()));
    assert_eq!(watch::error::SendError(1).to_string(), "channel closed");
}

fn wait_for_checks_first_then_waits(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = watch::channel(3u32);
        assert_eq!(*rx.wait_for(|v| *v == 3).await.unwrap(), 3);
        let waiter = {
            let mut rx = rx.clone();
            runtime::spawn(async move { *rx.wait_for(|v| *v >= 10).await.unwrap() })
        };
        for i in 4..=12 {
            tx.send(i).unwrap();
            runtime::task::yield_now().await;
        }
        assert!(waiter.await.unwrap() >= 10);
        drop(tx);
        assert!(rx.wait_for(|v| *v == 100).await.is_err());
        assert_eq!(*rx.wait_for(|v| *v == 12).await.unwrap(), 12);
    });
}

fn sender_closed_completes_when_receivers_go(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = watch::channel(());
        let rx2 = rx.clone();
        runtime::spawn(async move {
            runtime::task::yield_now().await;
            drop((rx, rx2));
        });
        tx.closed().await;
        assert_eq!(tx.receiver_count(), 0);
    });
}

#[test]
fn a_dropped_changed_loses_nothing() {
    let (tx, mut rx) = watch::channel(0);
    {
        let mut wait = pin!(rx.changed());
        assert!(wait
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
    }
    tx.send(1).unwrap();
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), 1);
}

fn an_always_changed_receiver_yields(flavor: Flavor) {
    block_on(flavor, async {
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let spinner = runtime::spawn(async move {
            let (tx, mut rx) = watch::channel(0u64);
            let mut spins = 0u64;
            while !flag.load(Ordering::SeqCst) {
                tx.send(spins).unwrap();
                rx.changed().await.unwrap();
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

/// Connection tasks wait until a watched state reads "open", then write it
/// to their client.
fn gates_tcp_connections(flavor: Flavor) {
    const CLIENTS: usize = 4;
    block_on(flavor, async {
        let (tx, rx) = watch::channel("closed");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted_tx, mut accepted_rx) = runtime::sync::mpsc::unbounded_channel();
        runtime::spawn(async move {
            for _ in 0..CLIENTS {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut rx = rx.clone();
                accepted_tx.send(()).unwrap();
                runtime::spawn(async move {
                    let state = *rx.wait_for(|s| *s == "open").await.unwrap();
                    s.write_all(state.as_bytes()).await.unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    let mut got = String::new();
                    s.read_to_string(&mut got).await.unwrap();
                    got
                })
            })
            .collect();
        for _ in 0..CLIENTS {
            accepted_rx.recv().await.unwrap();
        }
        tx.send("open").unwrap();
        for c in clients {
            assert_eq!(c.await.unwrap(), "open");
        }
    });
}

flavor_tests!(
    changed_marks_seen_and_ends,
    wait_for_checks_first_then_waits,
    sender_closed_completes_when_receivers_go,
    an_always_changed_receiver_yields,
    gates_tcp_connections,
);
