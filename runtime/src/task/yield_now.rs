use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: every other task that is runnable gets a turn
/// first, and the reactor is polled before the task runs again, so a task
/// that loops on `yield_now` lets I/O events and timers in (as in tokio,
/// whose workers defer yielded tasks until they poll their driver).
///
/// Outside a runtime's threads (in the `block_on` of a multi-thread
/// runtime, for instance), the task is woken at once instead: the reactor
/// is driven by other threads there.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// for _ in 0..3 {
///     runtime::task::yield_now().await;
/// }
/// # });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Woken while running, the task is rescheduled through
        // `Schedule::yield_now`, behind the other runnable tasks; on a
        // scheduler thread, told first that it yields, that waits for the
        // next poll of the reactor.
        crate::scheduler::note_yield();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
