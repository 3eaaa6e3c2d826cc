//! [`HyperTimer`] and [`HyperSleep`]: hyper's `Timer` over `runtime::time`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time::{Instant, Sleep};

/// hyper's timer on this runtime's timing wheel, for the builders'
/// `timer(...)`: header-read timeouts, keep-alive pings and timeouts, and
/// the client's pool timers.
///
/// [`sleep`](::hyper::rt::Timer::sleep) and
/// [`sleep_until`](::hyper::rt::Timer::sleep_until) return a boxed
/// [`HyperSleep`]; [`reset`](::hyper::rt::Timer::reset) moves the
/// deadline of that same sleep in place (no new allocation), as
/// [`Sleep::reset`] does. Timers run on the process's reactor, so this works
/// on any thread, inside a runtime or not.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use runtime::hyper::HyperTimer;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let timer = HyperTimer::new();
/// let mut sleep = timer.sleep(Duration::from_secs(3600));
/// // hyper moves its deadlines like this; the same sleep is reused.
/// timer.reset(&mut sleep, std::time::Instant::now() + Duration::from_millis(1));
/// sleep.await;
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer {
    _private: (),
}

impl HyperTimer {
    /// A timer; all of them share the process's timing wheel.
    pub fn new() -> HyperTimer {
        HyperTimer { _private: () }
    }
}

impl ::hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: crate::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: crate::time::sleep_until(Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn reset(
        &self,
        sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>,
        new_deadline: std::time::Instant,
    ) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.reset(Instant::from_std(new_deadline)),
            // Another timer's sleep: replace it, as hyper's default does.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep a [`HyperTimer`] hands to hyper: a [`Sleep`] that implements
/// `hyper::rt::Sleep`.
///
/// Like [`Sleep`] it holds its timer entry inline, so it is `!Unpin`; hyper
/// keeps it pinned in a `Box`. Dropping it cancels the timer.
///
/// # Examples
///
/// Finding our sleep behind hyper's `dyn Sleep`, to read its deadline:
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use runtime::hyper::{HyperSleep, HyperTimer};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut sleep = HyperTimer::new().sleep(Duration::from_millis(1));
/// let ours = sleep.as_mut().downcast_mut_pin::<HyperSleep>().unwrap();
/// assert!(!ours.is_elapsed());
/// sleep.await;
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct HyperSleep {
    /// The sleep: `!Unpin`, pinned structurally (see `inner`).
    inner: Sleep,
}

impl HyperSleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }

    /// Whether the deadline has been reached.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline to `deadline`, in place; see [`Sleep::reset`].
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.inner().reset(deadline);
    }

    fn inner(self: Pin<&mut Self>) -> Pin<&mut Sleep> {
        // SAFETY: structural pinning: `inner` is never moved out of a pinned
        // `HyperSleep` (no method hands out `&mut Sleep` or takes it by
        // value, and `HyperSleep` has no `Drop` that could move it).
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner().poll(cx)
    }
}

impl ::hyper::rt::Sleep for HyperSleep {}

impl fmt::Debug for HyperSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperSleep")
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
