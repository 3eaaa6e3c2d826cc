//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use runtime_reactor::{coop, TimerEntry};

use super::clock::{self, VirtualTimer};
use super::Instant;

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; a duration that
/// overflows the clock sleeps for about 30 years. The sleep never ends
/// early; it ends at the first millisecond tick at or after the deadline
/// that the reactor observes, typically within a millisecond.
///
/// Timers work on any thread and under any executor: they are driven by
/// the process-wide reactor, not by a runtime. In the context of a runtime
/// whose time is paused ([`pause`](super::pause)) the sleep follows that
/// runtime's virtual clock instead, and may complete at once through
/// auto-advance.
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
    let timer = match clock::current_virtual() {
        Some(clock) => Timer::Virtual(VirtualTimer::new(clock, deadline)),
        None => Timer::Real(TimerEntry::new(deadline.into_std())),
    };
    Sleep { timer }
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
/// A `Sleep` created in the context of a runtime whose time was paused
/// ([`pause`](super::pause)) follows that runtime's virtual clock instead:
/// it is kept by the runtime, not by the reactor, and completes when the
/// virtual time reaches its deadline.
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
    /// The timer; structurally pinned.
    timer: Timer,
}

/// Which clock a [`Sleep`] waits on, chosen when it is created.
enum Timer {
    /// The process's reactor: `!Unpin`, linked into the wheel in place once
    /// polled.
    Real(TimerEntry),
    /// The paused clock of the runtime it was created on.
    Virtual(VirtualTimer),
}

/// A pinned view of a [`Timer`].
enum TimerMut<'a> {
    Real(Pin<&'a mut TimerEntry>),
    Virtual(&'a mut VirtualTimer),
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        match &self.timer {
            Timer::Real(entry) => Instant::from_std(entry.deadline()),
            Timer::Virtual(timer) => timer.deadline(),
        }
    }

    /// Whether the deadline has been reached (the timer fired).
    pub fn is_elapsed(&self) -> bool {
        match &self.timer {
            Timer::Real(entry) => entry.is_elapsed(),
            Timer::Virtual(timer) => timer.is_elapsed(),
        }
    }

    /// Moves the deadline to `deadline`, whether or not the sleep has
    /// completed: it then completes at the new deadline.
    ///
    /// The task that last polled this sleep is woken at the new deadline
    /// (at once if it has passed), as with tokio.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        match self.timer() {
            TimerMut::Real(entry) => entry.reset(deadline.into_std()),
            TimerMut::Virtual(timer) => timer.reset(deadline),
        }
    }

    fn timer(self: Pin<&mut Self>) -> TimerMut<'_> {
        // SAFETY: structural pinning: the timer is never moved out of a
        // pinned `Sleep` (no method hands out `&mut TimerEntry` or replaces
        // the variant, `Sleep` has no `Drop` of its own that could move
        // it). `VirtualTimer` is `Unpin`, so handing it out unpinned is fine.
        unsafe {
            match &mut self.get_unchecked_mut().timer {
                Timer::Real(entry) => TimerMut::Real(Pin::new_unchecked(entry)),
                Timer::Virtual(timer) => TimerMut::Virtual(timer),
            }
        }
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
        ready!(match self.timer() {
            TimerMut::Real(entry) => entry.poll_elapsed(cx),
            TimerMut::Virtual(timer) => timer.poll_elapsed(cx),
        });
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
