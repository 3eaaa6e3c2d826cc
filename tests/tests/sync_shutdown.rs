//! Graceful shutdown's two parts: `runtime::sync::CancellationToken`
//! (clones and children see a cancel, a child's cancel stays below it,
//! dropped children leave no trace, waits from many tasks and threads) and
//! `runtime::task::TaskTracker` (counts tasks, `wait` completes once closed
//! and empty), together in a TCP server that stops accepting, lets the
//! requests in flight finish, and waits for its connection tasks, on both
//! schedulers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::{mpsc, CancellationToken};
use runtime::task::TaskTracker;
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor};

/// A cancel reaches every clone and every descendant, and waiting tasks
/// on both schedulers; a child's cancel does not reach up.
fn cancel_reaches_clones_and_descendants(flavor: Flavor) {
    block_on(flavor, async {
        let root = CancellationToken::new();
        let left = root.child_token();
        let left_leaf = left.child_token();
        let right = root.child_token();
        let mut waiters = Vec::new();
        for t in [&root, &left, &left_leaf, &right] {
            for _ in 0..5 {
                let t = t.clone();
                waiters.push(runtime::spawn(t.cancelled_owned()));
            }
        }
        left.cancel();
        assert!(left.is_cancelled() && left_leaf.is_cancelled());
        assert!(!root.is_cancelled() && !right.is_cancelled());
        left_leaf.cancelled().await;
        root.clone().cancel();
        for w in waiters {
            w.await.unwrap();
        }
        assert!(right.is_cancelled());
        // A child of a cancelled token is born cancelled.
        assert!(right.child_token().is_cancelled());
        right.child_token().cancelled().await;
    });
}

/// `run_until_cancelled` drops the future it runs when the token is
/// cancelled: a read pending on a TCP stream ends, and the stream it owned
/// is closed (the peer reads EOF).
fn run_until_cancelled_drops_a_pending_read(flavor: Flavor) {
    block_on(flavor, async {
        let (mut ours, theirs) = connected_pair().await.unwrap();
        let token = CancellationToken::new();
        let t2 = token.clone();
        let reader = runtime::spawn(async move {
            let mut stream = theirs;
            t2.run_until_cancelled(async move {
                let mut buf = [0u8; 1];
                stream.read(&mut buf).await
            })
            .await
        });
        // The reader is parked in its read: nothing was sent.
        runtime::time::sleep(Duration::from_millis(20)).await;
        token.cancel();
        assert!(reader.await.unwrap().is_none());
        let mut buf = [0u8; 1];
        assert_eq!(ours.read(&mut buf).await.unwrap(), 0);
        // Finished before cancel: `Some`.
        let fresh = CancellationToken::new();
        assert_eq!(fresh.run_until_cancelled(async { 7 }).await, Some(7));
    });
}

/// A drop guard cancels when dropped, not once disarmed.
fn drop_guards(flavor: Flavor) {
    block_on(flavor, async {
        let token = CancellationToken::new();
        let guard = token.clone().drop_guard();
        let back = guard.disarm();
        assert!(!back.is_cancelled());
        {
            let _guard = token.drop_guard_ref();
        }
        assert!(token.is_cancelled() && back.is_cancelled());
        let other = CancellationToken::new();
        drop(other.clone().drop_guard());
        other.cancelled().await;
    });
}

/// Plain threads cancel while tasks wait, many rounds, racing with child
/// creation: no wait is missed, no child is left uncancelled.
fn cancel_from_threads_is_never_missed(flavor: Flavor) {
    block_on(flavor, async {
        for _ in 0..200 {
            let token = CancellationToken::new();
            let t2 = token.clone();
            let thread = std::thread::spawn(move || t2.cancel());
            let child = token.child_token();
            child.cancelled().await;
            token.cancelled().await;
            thread.join().unwrap();
        }
    });
}

/// The tracker counts tasks and tokens; `wait` completes only once it is
/// closed and every tracked task (including a blocking one) has finished.
fn tracker_waits_for_closed_and_empty(flavor: Flavor) {
    block_on(flavor, async {
        let tracker = TaskTracker::new();
        // Open and empty: `wait` does not complete.
        let mut early = Box::pin(tracker.wait());
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(std::future::Future::poll(early.as_mut(), &mut cx).is_pending());
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let tx = tx.clone();
            let f = finished.clone();
            tracker.spawn(async move {
                // Held until the test closes the receiver.
                tx.closed().await;
                f.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Two blocking jobs, each held until the test lets it go.
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let go_rx = Arc::new(std::sync::Mutex::new(go_rx));
        let f = finished.clone();
        let go = go_rx.clone();
        tracker.spawn_blocking(move || {
            go.lock().unwrap().recv().unwrap();
            f.fetch_add(1, Ordering::SeqCst);
        });
        let f = finished.clone();
        let go = go_rx.clone();
        tracker.spawn_blocking_on(
            move || {
                go.lock().unwrap().recv().unwrap();
                f.fetch_add(1, Ordering::SeqCst);
            },
            &runtime::Handle::current(),
        );
        drop(tx);
        assert_eq!(tracker.len(), 12);
        assert!(tracker.close());
        assert!(!tracker.close());
        assert!(tracker.is_closed());
        rx.close();
        go_tx.send(()).unwrap();
        go_tx.send(()).unwrap();
        tracker.wait().await;
        early.await;
        assert_eq!(finished.load(Ordering::SeqCst), 12);
        assert!(tracker.is_empty());
        // A token counts; reopening and closing again.
        assert!(tracker.reopen());
        let token = tracker.token();
        assert_eq!(token.task_tracker().len(), 1);
        let second = token.clone(); // one more tracked
        assert_eq!(tracker.len(), 2);
        drop(second);
        tracker.close();
        let mut w = Box::pin(tracker.wait());
        assert!(std::future::Future::poll(w.as_mut(), &mut cx).is_pending());
        drop(token);
        w.await;
        assert!(TaskTracker::ptr_eq(&tracker, &tracker.clone()));
    });
}

/// A server's shutdown: each connection's task is tracked and watches a
/// child token between requests. On cancel, the accept loop stops, a
/// request in flight is answered in full, idle connections close, and
/// `wait` returns once every connection task ended.
fn server_shuts_down_gracefully(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let served = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let server = {
            let (shutdown, tracker) = (shutdown.clone(), tracker.clone());
            let (served, started, accepted) = (served.clone(), started.clone(), accepted.clone());
            runtime::spawn(async move {
                loop {
                    let (mut stream, _) = shutdown
                        .run_until_cancelled(listener.accept())
                        .await?
                        .unwrap();
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let token = shutdown.child_token();
                    let (served, started) = (served.clone(), started.clone());
                    tracker.spawn(async move {
                        let mut req = [0u8; 8];
                        // Between requests: stop when cancelled.
                        while let Some(Ok(())) = token
                            .run_until_cancelled(stream.read_exact(&mut req))
                            .await
                            .map(|r| r.map(drop))
                        {
                            started.fetch_add(1, Ordering::SeqCst);
                            // A request in flight is finished whatever
                            // happens meanwhile.
                            runtime::time::sleep(Duration::from_millis(30)).await;
                            stream.write_all(&req).await.unwrap();
                            served.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
                // The listener is dropped here: nothing accepts any more.
                #[allow(unreachable_code)]
                Some(())
            })
        };
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // Half of them send a request, then shutdown starts while those
        // are being served.
        for (i, c) in clients.iter_mut().enumerate().take(4) {
            c.write_all(&(i as u64).to_be_bytes()).await.unwrap();
        }
        // Every connection accepted, and the four requests being served.
        while accepted.load(Ordering::SeqCst) < 8 || started.load(Ordering::SeqCst) < 4 {
            runtime::time::sleep(Duration::from_millis(1)).await;
        }
        shutdown.cancel();
        assert!(server.await.unwrap().is_none(), "the accept loop stopped");
        tracker.close();
        tracker.wait().await;
        assert_eq!(served.load(Ordering::SeqCst), 4);
        for (i, c) in clients.iter_mut().enumerate() {
            let mut got = Vec::new();
            c.read_to_end(&mut got).await.unwrap();
            if i < 4 {
                assert_eq!(
                    got,
                    (i as u64).to_be_bytes(),
                    "client {i}: its answer in full"
                );
            } else {
                assert!(got.is_empty(), "client {i}: closed without an answer");
            }
        }
        assert!(tracker.is_empty());
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the listener is closed"
        );
    });
}

flavor_tests!(
    cancel_reaches_clones_and_descendants,
    run_until_cancelled_drops_a_pending_read,
    drop_guards,
    cancel_from_threads_is_never_missed,
    tracker_waits_for_closed_and_empty,
    server_shuts_down_gracefully,
);
