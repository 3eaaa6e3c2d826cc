//! The last handle to a multi-thread runtime dropped inside one of its own
//! tasks (an `Arc<Runtime>` whose last clone a task owned). A worker
//! cannot wait for itself, so the drop must wait for the *other* workers,
//! cancel every other task, and return; it must not deadlock.
//!
//! The other worker is kept busy (blocked in user code until the drop has
//! begun, and 300 ms more), so the dropping worker always finds it still
//! running and has to wait for it to stop: the order that matters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use runtime_tests::{yield_until, DropCounter, Watchdog, HANG_LIMIT};

/// How long the test waits for the in-task drop to return: a hang guard (a
/// healthy run needs about the 300 ms the other worker is blocked), not a
/// pass criterion.
const DROP_GUARD: Duration = Duration::from_secs(10);

#[test]
fn dropping_the_last_runtime_handle_inside_its_own_task_returns() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = Arc::new(
        runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    );
    let drops = DropCounter::new();
    let parked_started = Arc::new(AtomicBool::new(false));
    let (guard, started) = (drops.guard(), parked_started.clone());
    rt.spawn(async move {
        let _guard = guard;
        started.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await
    });
    rt.block_on(yield_until(|| parked_started.load(Ordering::SeqCst)));

    // One task occupies a worker until the drop has begun (and 300 ms
    // more), so that worker cannot stop before the dropping one checks.
    let blocking = Arc::new(AtomicBool::new(false));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let b = blocking.clone();
    rt.spawn(async move {
        b.store(true, Ordering::SeqCst);
        let _ = go_rx.recv_timeout(DROP_GUARD);
        std::thread::sleep(Duration::from_millis(300));
    });
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let last = rt.clone();
    let outer_dropped = Arc::new(AtomicBool::new(false));
    let od = outer_dropped.clone();
    rt.spawn(async move {
        // Runs on the other worker, the first one being blocked, once the
        // test has dropped its own handle.
        yield_until(|| blocking.load(Ordering::SeqCst) && od.load(Ordering::SeqCst)).await;
        let _ = go_tx.send(());
        drop(last);
        let _ = done_tx.send(());
    });
    // The task now owns the last handle.
    drop(rt);
    outer_dropped.store(true, Ordering::SeqCst);
    assert!(
        done_rx.recv_timeout(DROP_GUARD).is_ok(),
        "dropping the last runtime handle inside one of its tasks did not return within \
         {DROP_GUARD:?}: the dropping worker waits for the other worker to stop and is never \
         woken"
    );
    assert_eq!(
        drops.count(),
        1,
        "the runtime dropped inside its task did not cancel the other parked task"
    );
}
