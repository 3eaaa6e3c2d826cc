//! [`timeout`], [`timeout_at`] and the [`Timeout`] future.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use runtime_reactor::coop;

use super::error::Elapsed;
use super::{sleep_until, Instant, Sleep};

/// Runs `future` for at most `duration`: resolves to `Ok(output)` if it
/// completes in time, to `Err(Elapsed)` (dropping the future) otherwise.
///
/// The future is polled first, so a future that is ready at once returns
/// its output even with a zero duration; its timer is then never
/// registered, which makes a timeout around a fast operation nearly free.
/// A duration that overflows the clock waits about 30 years.
///
/// # Cooperative budget
///
/// If the future spends the task's budget in a poll (an always-ready
/// reader such as [`io::repeat`](crate::io::repeat) read in a loop), the
/// deadline is still checked in that poll, outside the budget, as tokio
/// does: such a future times out instead of running forever.
///
/// # Cancellation
///
/// Dropping the `Timeout` drops the future and cancels the timer in O(1).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::timeout;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// let never = std::future::pending::<()>();
/// assert!(timeout(Duration::from_millis(5), never).await.is_err());
/// # });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    timeout_at(deadline, future)
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{timeout_at, Instant};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let deadline = Instant::now() + Duration::from_millis(5);
/// let res = timeout_at(deadline, std::future::pending::<()>()).await;
/// assert!(res.is_err() && Instant::now() >= deadline);
/// # });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
    }
}

/// The future of [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<T> {
    /// The future being timed; structurally pinned.
    value: T,
    /// The deadline; structurally pinned (it is `!Unpin`).
    delay: Sleep,
}

impl<T> Timeout<T> {
    /// The inner future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The inner future, mutably.
    ///
    /// Only for an `Unpin` future, or one that was never pinned: a pinned
    /// `Timeout` does not hand out `&mut` to its future.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The inner future; its timer is cancelled.
    pub fn into_inner(self) -> T {
        self.value
    }

    fn project(self: Pin<&mut Self>) -> (Pin<&mut T>, Pin<&mut Sleep>) {
        // SAFETY: structural pinning of both fields: neither is moved out
        // of a pinned `Timeout` (`get_mut` and `into_inner` need an unpinned
        // one), and `Timeout` has no `Drop` that could move them.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.value),
                Pin::new_unchecked(&mut this.delay),
            )
        }
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (value, delay) = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let poll_delay = || match delay.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        };
        if had_budget && !coop::has_budget_remaining() {
            // The inner future spent the budget: check the deadline anyway,
            // or a future that always spends it could never time out.
            coop::unconstrained(poll_delay)
        } else {
            poll_delay()
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Timeout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("delay", &self.delay)
            .finish()
    }
}
