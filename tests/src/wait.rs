//! Waiting inside a test task without the runtime's timers (yielding,
//! sleeping on the blocking pool), and noticing that a task has parked.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Yields to the scheduler until `done()` is true: lets other tasks run (on
/// either flavor) while waiting for a condition they establish. Hangs are
/// caught by the test's [`Watchdog`](crate::Watchdog).
pub async fn yield_until(mut done: impl FnMut() -> bool) {
    while !done() {
        runtime::task::yield_now().await;
    }
}

/// Waits for `d` without a timer: sleeps on the blocking pool, so the
/// calling task parks and the scheduler stays free.
///
/// # Panics
///
/// If the blocking task panics (it does not).
pub async fn sleep_blocking(d: Duration) {
    runtime::spawn_blocking(move || thread::sleep(d))
        .await
        .expect("a blocking sleep panicked");
}

/// Runs `fut`, setting `parked` each time it returns `Pending`: lets a test
/// wait until a task is really parked (its waker stored) before it provokes
/// the event that must wake it.
pub async fn note_pending<F: Future>(
    parked: Arc<std::sync::atomic::AtomicBool>,
    fut: F,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let res = fut.as_mut().poll(cx);
        if res.is_pending() {
            parked.store(true, Ordering::SeqCst);
        }
        res
    })
    .await
}
