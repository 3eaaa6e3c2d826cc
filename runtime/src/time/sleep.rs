//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use runtime_reactor::{coop, TimerEntry};

use super::Instant;

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; a duration that
/// overflows the clock sleeps for about 30 years. The sleep never ends
/// early; it ends at the first millisecond tick at or after the deadline
/// that the reactor observes, typically within a millisecond.
///
/// Timers work on any thread and under any executor: they are driven by
/// the process-wide reactor, not by a runtime.
///
/// # Cancellation
///
/// Dropping the returned [`Sleep`] cancels the timer in O(1).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, Instant};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let start = Instant::now();
/// sleep(Duration::from_millis(10)).await;
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`.
///
/// Returns at once (on first poll) if the deadline has passed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep_until, Instant};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let deadline = Instant::now() + Duration::from_millis(5);
/// sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        entry: TimerEntry::new(deadline.into_std()),
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// # Implementation
///
/// The timer entry lives inside this future: the reactor's timing wheel
/// links it in place, so a `Sleep` costs no allocation of its own, and
/// dropping one that has not fired unlinks it in O(1). That is why `Sleep`
/// is `!Unpin`: to poll it by hand or to call [`reset`](Sleep::reset), pin it
/// first (`std::pin::pin!` or `Box::pin`).
///
/// # Examples
///
/// Resetting a pinned sleep, as a keep-alive timer does:
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, Instant};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut idle = std::pin::pin!(sleep(Duration::from_secs(3600)));
/// idle.as_mut().reset(Instant::now() + Duration::from_millis(5));
/// idle.as_mut().await;
/// assert!(idle.is_elapsed());
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// The timer: `!Unpin`, linked into the wheel in place once polled.
    entry: TimerEntry,
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.entry.deadline())
    }

    /// Whether the deadline has been reached (the timer fired).
    pub fn is_elapsed(&self) -> bool {
        self.entry.is_elapsed()
    }

    /// Moves the deadline to `deadline`, whether or not the sleep has
    /// completed: it then completes at the new deadline.
    ///
    /// The task that last polled this sleep is woken at the new deadline
    /// (at once if it has passed), as with tokio.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.entry().reset(deadline.into_std());
    }

    fn entry(self: Pin<&mut Self>) -> Pin<&mut TimerEntry> {
        // SAFETY: structural pinning: `entry` is never moved out of a pinned
        // `Sleep` (no method hands out `&mut TimerEntry`, `Sleep` has no
        // `Drop` of its own that could move it).
        unsafe { self.map_unchecked_mut(|s| &mut s.entry) }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Like tokio: a sleep whose task has spent its budget yields, and
        // completing one spends a unit, so that a loop of elapsed timers
        // cannot starve the other tasks; a sleep still pending spends
        // nothing (the guard gives its unit back).
        let coop = ready!(coop::poll_proceed(cx));
        ready!(self.entry().poll_elapsed(cx));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
