//! [`interval`], [`interval_at`] and [`Interval`], with tokio's
//! [`MissedTickBehavior`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::{sleep_until, Instant, Sleep};

/// A stream of ticks every `period`, the first one at once.
///
/// Equivalent to `interval_at(Instant::now(), period)`. Ticks that could not
/// be delivered on time (the task was busy) are handled as the
/// [`MissedTickBehavior`] says; the default is [`Burst`](MissedTickBehavior::Burst).
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{interval, Instant};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let start = Instant::now();
/// let mut every = interval(Duration::from_millis(2));
/// every.tick().await; // at once
/// every.tick().await;
/// every.tick().await;
/// assert!(start.elapsed() >= Duration::from_millis(4));
/// # });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// A stream of ticks every `period`, the first one at `start`.
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: Box::pin(sleep_until(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does with ticks it could not deliver on time
/// (because its task was not polled, or ran late). Same semantics as
/// tokio's.
///
/// A tick counts as missed when `tick` is called more than 5 ms after it was
/// due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Deliver the missed ticks at once, one per `tick` call, until caught
    /// up; then keep the original schedule (`start + n * period`).
    #[default]
    Burst,
    /// Deliver one tick now and schedule the next `period` from now: the
    /// schedule shifts by the delay.
    Delay,
    /// Deliver one tick now and skip the missed ones: the next tick is the
    /// next one of the original schedule that is still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick due at `timeout` that was taken at `now`,
    /// too late.
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let behind = (now - timeout).as_nanos() % period.as_nanos();
                let behind = u64::try_from(behind)
                    .expect("too much time has elapsed since the interval was supposed to tick");
                now.saturating_add(period - Duration::from_nanos(behind))
            }
        }
    }
}

/// The ticks of [`interval`] and [`interval_at`].
///
/// # Implementation
///
/// One [`Sleep`], boxed once when the interval is created (so that
/// `Interval` is `Unpin` and `tick` takes `&mut self`) and reset for every
/// tick: no allocation per tick.
pub struct Interval {
    /// Due at the next tick.
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due at.
    ///
    /// # Cancellation
    ///
    /// Cancel safe: if the returned future is dropped before it completes,
    /// no tick is lost.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready(instant it was due at)`, or
    /// `Pending` with the task of `cx` woken when it is due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(self.delay.as_mut().poll(cx));
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now > timeout.saturating_add(Duration::from_millis(5)) {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout.saturating_add(self.period)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is one `period` from now.
    pub fn reset(&mut self) {
        self.delay
            .as_mut()
            .reset(Instant::now().saturating_add(self.period));
    }

    /// Restarts the schedule: the next tick is now.
    pub fn reset_immediately(&mut self) {
        self.delay.as_mut().reset(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.delay
            .as_mut()
            .reset(Instant::now().saturating_add(after));
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// How missed ticks are handled.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets how missed ticks are handled.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.delay.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed_tick_behavior)
            .finish()
    }
}
