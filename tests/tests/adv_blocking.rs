//! A task that blocks its worker thread (a blocking call in user code) must
//! not hold up runnable work that another, idle, worker could run.
//!
//! `rt_scheduler::a_blocked_worker_does_not_stall_io_on_the_other_worker`
//! covers I/O arriving while a worker is blocked. This file covers the
//! awkward order: the task wakes another task (as sending on a channel
//! does) and *then* blocks. The woken task lands in the blocking worker's
//! LIFO slot; it must still run, on the other worker, while the first one
//! is blocked.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{yield_until, Watchdog, HANG_LIMIT};

/// How long the blocked task waits for the woken one before it gives up: a
/// hang guard (a healthy run needs milliseconds), not a pass criterion.
const BLOCK_GUARD: Duration = Duration::from_secs(10);

/// Task Y is parked; task X, on a worker, wakes Y directly and then blocks
/// its worker thread until Y has done an echo round trip over a socket and
/// said so. The other worker is idle, so Y must run there. If Y is stuck
/// in the blocked worker's LIFO slot (not stealable, and no idle worker
/// told), X gives up after [`BLOCK_GUARD`] and the test fails.
#[test]
fn a_task_woken_just_before_its_worker_blocks_runs_on_another_worker() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (ran_while_blocked, echoed) = rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();

        let (release_tx, release_rx) = mpsc::channel::<()>();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let go = Arc::new(AtomicBool::new(false));
        let (s, g) = (slot.clone(), go.clone());
        let woken = runtime::spawn(async move {
            std::future::poll_fn(|cx| {
                if g.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *s.lock() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            stream.write_all(b"ping").await.unwrap();
            let mut back = [0u8; 4];
            stream.read_exact(&mut back).await.unwrap();
            let _ = release_tx.send(());
            back
        });
        yield_until(|| slot.lock().is_some()).await;

        let (s, g) = (slot.clone(), go.clone());
        let blocker = runtime::spawn(async move {
            g.store(true, Ordering::SeqCst);
            let waker = s.lock().take().expect("the woken task's waker");
            waker.wake();
            // Blocking user code on this worker thread.
            release_rx.recv_timeout(BLOCK_GUARD).is_ok()
        });
        let ran_while_blocked = blocker.await.unwrap();
        let echoed = woken.await.unwrap();
        peer.join().unwrap();
        (ran_while_blocked, echoed)
    });
    assert_eq!(&echoed, b"ping");
    assert!(
        ran_while_blocked,
        "a task woken by a task that then blocked its worker did not run until the block \
         ended ({BLOCK_GUARD:?}), although another worker was idle: it was stuck in the \
         blocked worker's LIFO slot"
    );
}

/// Two tasks sleep until the same instant, so one reactor turn on a worker
/// parked in the reactor wakes both: one into the worker's LIFO slot, the
/// other into its queue, and a second runnable task alone does not wake a
/// peer. The first to run then blocks its worker thread until the other
/// has run. The other worker is parked, so the task left in the blocked
/// worker's queue must be stolen by it once the reactor thread sees the
/// worker stuck; if nobody tells the parked worker, the blocked task gives
/// up after [`BLOCK_GUARD`] and the test fails. No `block_on` thread takes
/// part (it could drive the reactor itself and wake the tasks through the
/// injector instead).
#[test]
fn a_task_queued_behind_one_that_blocks_its_worker_runs_on_another_worker() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for round in 0..3 {
        let deadline = runtime::time::Instant::now() + Duration::from_millis(50);
        let (ran_tx, ran_rx) = mpsc::channel::<()>();
        let ran_rx = Arc::new(Mutex::new(Some(ran_rx)));
        let first = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = mpsc::channel::<bool>();
        for _ in 0..2 {
            let (ran_tx, ran_rx, first, done_tx) = (
                ran_tx.clone(),
                ran_rx.clone(),
                first.clone(),
                done_tx.clone(),
            );
            rt.spawn(async move {
                runtime::time::sleep_until(deadline).await;
                if !first.swap(true, Ordering::SeqCst) {
                    let rx = ran_rx.lock().take().expect("taken once");
                    // Blocking user code on this worker thread.
                    let _ = done_tx.send(rx.recv_timeout(BLOCK_GUARD).is_ok());
                } else {
                    let _ = ran_tx.send(());
                }
            });
        }
        drop(done_tx);
        let ran_while_blocked = done_rx.recv().expect("the blocking task reports");
        assert!(
            ran_while_blocked,
            "round {round}: a task queued on a worker that then blocked did not run until \
             the block ended ({BLOCK_GUARD:?}), although the other worker was parked"
        );
    }
}
