//! The paused test clock: [`pause`], [`resume`], [`advance`] and
//! auto-advance, as in tokio's `test-util`.
//!
//! # How it works
//!
//! Every current-thread runtime owns a [`Clock`]. Until the clock is paused
//! for the first time it is not used at all: [`Instant::now`] reads the
//! real clock and timers go to the process's reactor, as on any runtime.
//! The first [`pause`] (or [`Builder::start_paused`](crate::Builder::start_paused))
//! makes the clock *virtual* for the rest of the runtime's life:
//!
//! - **Reading.** In that runtime's context (its `block_on` thread, its
//!   tasks, its blocking-pool threads, inside [`Runtime::enter`](crate::Runtime::enter))
//!   `Instant::now()` is `base` while paused, and `base` plus the real time
//!   since [`resume`] while running. Everywhere else it stays the real
//!   clock.
//! - **Timers.** A [`Sleep`](super::Sleep) created in that context (and so
//!   every `timeout` and `Interval` made there) is not put into the
//!   reactor's wheel: it registers in the clock's own timer store, an
//!   ordered map from `(deadline, id)` to the waker of the task that polled
//!   it. It completes when that clock's `now()` reaches its deadline,
//!   exactly (no millisecond rounding: a virtual instant is exact).
//! - **Firing.** The runtime's scheduler fires the store itself: when it
//!   has run out of tasks and would park, between batches, and [`advance`]
//!   fires what it stepped over before it yields. While the clock runs
//!   (after `resume`) the scheduler parks no longer than the next virtual
//!   deadline.
//! - **Auto-advance.** When the clock is paused and the scheduler has
//!   nothing to run, it first polls I/O without waiting; if that made no
//!   task runnable, it moves `base` to the earliest deadline in the store
//!   and fires it instead of parking. So a test's hour-long `sleep`
//!   completes at once, at exactly one virtual hour. With no timer
//!   registered the runtime parks as usual, until a wake-up.
//! - **Blocking jobs hold the clock.** From [`spawn_blocking`](crate::spawn_blocking)
//!   on the runtime until the job's task completes (ran, panicked, or was
//!   cancelled before it ran) auto-advance is held: the blocking job runs
//!   in real time and a virtual jump meanwhile would fire timeouts that, on
//!   a real clock, it would have beaten. The hold is released after the
//!   job's `JoinHandle` was woken, and the release unparks the runtime.
//!
//! # Why a clock per runtime
//!
//! The process has one reactor, shared by every runtime ([`crate::time`]
//! timers work anywhere). Virtual deadlines cannot go into its real-time
//! wheel: they would be hours ahead of or behind the real clock, would fire
//! at the wrong real times for the other runtimes' turns, and a jump of one
//! runtime's clock would mean nothing to the wheel. Tests run on parallel
//! threads in one process, so a paused runtime must be invisible to the
//! others. Keeping the virtual time and its timers in the runtime, fired by
//! the runtime's own scheduler, gives exactly that: other threads and
//! runtimes keep the real clock and the reactor's timers, and I/O still
//! goes through the shared reactor.
//!
//! A multi-thread runtime has no clock: [`pause`] there panics, as tokio's
//! does, and so does building one with `start_paused(true)`.

use std::collections::BTreeMap;
use std::fmt;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use runtime_reactor::drive::Unparker;

use super::Instant;
use crate::context;
use crate::scheduler::{self, Flavor};
use crate::shim::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

/// Set once any clock in the process was paused: until then
/// [`Instant::now`] reads the real clock without looking at the thread's
/// runtime. A plain `std` static: loom has no static atomics, and this flag
/// only ever goes from `false` to `true`.
static ANY_PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

const OUTSIDE: &str = "time cannot be frozen from outside the runtime";
const MULTI_THREAD: &str = "`time::pause()` requires the `current_thread` runtime. This is the \
                            default runtime used by `#[runtime::test]`.";
const NOT_FROZEN: &str = "time is not frozen";
const ALREADY_FROZEN: &str = "time is already frozen";

/// A current-thread runtime's clock and its virtual timers (see the module
/// docs).
pub(crate) struct Clock {
    /// Whether the clock was ever paused: from then on it is the time of its
    /// runtime's context and its timers live in `state`. Never cleared.
    is_virtual: AtomicBool,
    /// `spawn_blocking` jobs of the runtime whose task has not completed:
    /// auto-advance waits while it is not zero.
    inhibit: AtomicUsize,
    /// The time and the timer store.
    state: Mutex<State>,
    /// Wakes the runtime's thread: a new earliest timer, or the last hold
    /// released.
    unparker: Unparker,
}

/// The lock-guarded part of a [`Clock`].
struct State {
    /// The virtual time at `unfrozen`, or the virtual time now while paused.
    base: std::time::Instant,
    /// `None` while paused; while running, the real instant at which `base`
    /// was the time.
    unfrozen: Option<std::time::Instant>,
    /// Registered virtual timers: the waker of the task that last polled
    /// each, ordered by deadline, then by registration.
    timers: BTreeMap<(Instant, u64), Waker>,
    /// The id of the next registration.
    next_id: u64,
}

impl State {
    fn now(&self) -> Instant {
        let now = match self.unfrozen {
            Some(at) => self.base + at.elapsed(),
            None => self.base,
        };
        Instant::from_std(now)
    }

    /// Takes the wakers of every timer due at `now()`.
    fn take_due(&mut self) -> Vec<Waker> {
        let now = self.now();
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Clock")
            .field("virtual", &self.is_virtual.load(Ordering::Relaxed))
            .field("paused", &st.unfrozen.is_none())
            .field("timers", &st.timers.len())
            .finish()
    }
}

/// What the scheduler does when it has nothing to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Timers fired (the clock may have jumped): look at the queues again.
    Again,
    /// Park, for at most this long (`None`: until woken).
    Park(Option<Duration>),
}

impl Clock {
    /// A clock reading real time; paused at once with `start_paused`.
    pub(crate) fn new(unparker: Unparker, start_paused: bool) -> Clock {
        let now = std::time::Instant::now();
        let clock = Clock {
            is_virtual: AtomicBool::new(false),
            inhibit: AtomicUsize::new(0),
            state: Mutex::new(State {
                base: now,
                unfrozen: Some(now),
                timers: BTreeMap::new(),
                next_id: 0,
            }),
            unparker,
        };
        if start_paused {
            clock.pause().expect("a new clock runs");
        }
        clock
    }

    /// How many virtual timers are registered (for the metrics).
    pub(crate) fn timer_count(&self) -> usize {
        if !self.is_virtual() {
            return 0;
        }
        self.state.lock().timers.len()
    }

    /// Whether this clock is its runtime's time (it was paused once).
    pub(crate) fn is_virtual(&self) -> bool {
        self.is_virtual.load(Ordering::Acquire)
    }

    /// The clock's time (the real time if it was never paused).
    pub(crate) fn now(&self) -> Instant {
        if !self.is_virtual() {
            return Instant::from_std(std::time::Instant::now());
        }
        self.state.lock().now()
    }

    fn pause(&self) -> Result<(), &'static str> {
        let mut st = self.state.lock();
        let Some(at) = st.unfrozen.take() else {
            return Err(ALREADY_FROZEN);
        };
        st.base += at.elapsed();
        self.is_virtual.store(true, Ordering::Release);
        ANY_PAUSED.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    fn resume(&self) -> Result<(), &'static str> {
        let mut st = self.state.lock();
        if st.unfrozen.is_some() {
            return Err(NOT_FROZEN);
        }
        st.unfrozen = Some(std::time::Instant::now());
        drop(st);
        // The thread may be parked without timeout (paused, nothing ready):
        // from now on it must wait for the next deadline in real time.
        self.unparker.unpark();
        Ok(())
    }

    /// Moves the paused time forward by `duration` and fires the timers it
    /// reached.
    fn advance(&self, duration: Duration) -> Result<(), &'static str> {
        let due = {
            let mut st = self.state.lock();
            if st.unfrozen.is_some() {
                return Err(NOT_FROZEN);
            }
            st.base = st
                .base
                .checked_add(duration)
                .ok_or("`advance` moved the paused clock past what `Instant` can represent")?;
            st.take_due()
        };
        due.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Fires every virtual timer that is due; returns whether any was.
    pub(crate) fn fire_due(&self) -> bool {
        if !self.is_virtual() {
            return false;
        }
        let due = self.state.lock().take_due();
        let fired = !due.is_empty();
        // Woken outside the lock: a waker is user code.
        due.into_iter().for_each(Waker::wake);
        fired
    }

    /// Called by the scheduler when it has nothing to run and would park.
    /// `runnable` polls I/O without waiting and says whether any task (or
    /// the `block_on` future) is runnable now. See the module docs,
    /// "Auto-advance".
    pub(crate) fn idle(&self, runnable: impl FnOnce() -> bool) -> Idle {
        if !self.is_virtual() {
            return Idle::Park(None);
        }
        if self.fire_due() {
            return Idle::Again;
        }
        let (next, paused) = {
            let st = self.state.lock();
            let next = st.timers.first_key_value().map(|(k, _)| k.0);
            match (next, st.unfrozen.is_none()) {
                (None, _) => return Idle::Park(None),
                (Some(next), false) => return Idle::Park(Some(next - st.now())),
                (Some(next), true) => (next, true),
            }
        };
        debug_assert!(paused);
        if self.inhibit.load(Ordering::Acquire) > 0 {
            // A blocking job runs: the release of its hold unparks us.
            return Idle::Park(None);
        }
        if runnable() {
            return Idle::Again;
        }
        let due = {
            let mut st = self.state.lock();
            if st.unfrozen.is_some() || self.inhibit.load(Ordering::Acquire) > 0 {
                // Resumed or held meanwhile (from another thread).
                return Idle::Again;
            }
            if Instant::from_std(st.base) < next {
                st.base = next.into_std();
            }
            st.take_due()
        };
        due.into_iter().for_each(Waker::wake);
        Idle::Again
    }

    /// Holds auto-advance for a blocking job (see the module docs); paired
    /// with one [`allow_auto_advance`](Clock::allow_auto_advance).
    pub(crate) fn inhibit_auto_advance(&self) {
        self.inhibit.fetch_add(1, Ordering::AcqRel);
    }

    /// Releases a hold taken by [`inhibit_auto_advance`](Clock::inhibit_auto_advance);
    /// the last one unparks the runtime so that it looks at its timers again.
    pub(crate) fn allow_auto_advance(&self) {
        if self.inhibit.fetch_sub(1, Ordering::AcqRel) == 1 && self.is_virtual() {
            self.unparker.unpark();
        }
    }
}

/// Runs `f` with the clock of the current runtime: `Ok(Some)` on a
/// current-thread runtime, `Ok(None)` on a multi-thread one, `Err` outside
/// any runtime.
fn with_current<R>(f: impl FnOnce(Result<Option<&Arc<Clock>>, ()>) -> R) -> R {
    context::with_current(|handle| match handle {
        Some(h) => f(Ok(h.clock())),
        None => f(Err(())),
    })
}

/// The virtual clock of the current runtime, if it has one that was paused.
pub(crate) fn current_virtual() -> Option<Arc<Clock>> {
    if !ANY_PAUSED.load(std::sync::atomic::Ordering::Acquire) {
        return None;
    }
    with_current(|c| match c {
        Ok(Some(clock)) if clock.is_virtual() => Some(clock.clone()),
        _ => None,
    })
}

/// `Instant::now()`: the current runtime's virtual clock if it has one,
/// else the real clock.
pub(crate) fn now() -> Instant {
    if !ANY_PAUSED.load(std::sync::atomic::Ordering::Acquire) {
        return Instant::from_std(std::time::Instant::now());
    }
    with_current(|c| match c {
        Ok(Some(clock)) => clock.now(),
        _ => Instant::from_std(std::time::Instant::now()),
    })
}

#[track_caller]
fn apply(f: impl FnOnce(&Clock) -> Result<(), &'static str>, multi_thread: &'static str) {
    let res = with_current(|c| match c {
        Ok(Some(clock)) => f(clock),
        Ok(None) => Err(multi_thread),
        Err(()) => Err(OUTSIDE),
    });
    if let Err(msg) = res {
        panic!("{msg}");
    }
}

/// Pauses time on the current runtime.
///
/// [`Instant::now()`](super::Instant::now) then keeps returning the instant
/// it returned when paused, until [`advance`] moves it or the runtime
/// auto-advances it (below). Only this runtime's time stops: other threads
/// and runtimes, and `std::time::Instant`, keep the real clock.
///
/// Pausing needs the current-thread runtime, the default of
/// `#[runtime::test]`. To start a runtime paused, use
/// [`Builder::start_paused`](crate::Builder::start_paused) or
/// `#[runtime::test(start_paused = true)]`.
///
/// # Auto-advance
///
/// While time is paused and the runtime has nothing to run, it moves time
/// to the next pending timer instead of waiting for it, so a
/// [`sleep`](super::sleep) of an hour completes at once, one virtual hour
/// later. Auto-advance waits while a [`spawn_blocking`](crate::spawn_blocking)
/// job of the runtime runs.
///
/// Timers created on the runtime before its first pause keep the real
/// clock.
///
/// # Panics
///
/// If time is already paused, outside a runtime, or on a multi-thread
/// runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{self, Instant};
///
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// time::pause();
/// let start = Instant::now();
/// time::sleep(Duration::from_secs(3600)).await; // completes at once
/// assert_eq!(Instant::now() - start, Duration::from_secs(3600));
/// # });
/// ```
#[track_caller]
pub fn pause() {
    apply(Clock::pause, MULTI_THREAD);
}

/// Resumes time on the current runtime: from now on it runs at the real
/// clock's pace again, from the paused instant (time does not jump back to
/// the real clock).
///
/// # Panics
///
/// If time is not paused, or outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{self, Instant};
///
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// time::pause();
/// let paused = Instant::now();
/// time::advance(Duration::from_secs(10)).await;
/// time::resume();
/// // Ten seconds ahead of the real clock, and moving.
/// assert!(Instant::now() >= paused + Duration::from_secs(10));
/// # });
/// ```
#[track_caller]
pub fn resume() {
    apply(Clock::resume, NOT_FROZEN);
}

/// Moves paused time forward by `duration`, at once.
///
/// Every timer whose deadline is at or before the new time completes; later
/// ones do not. Then the calling task yields once, so that the tasks those
/// timers woke run before it continues (tokio does not promise that they
/// have run; neither does this). To wait for a timer instead, `sleep` and
/// let the runtime auto-advance (see [`pause`]).
///
/// # Panics
///
/// If time is not paused, outside a runtime, or if the new time overflows
/// [`Instant`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{self, Instant};
///
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// time::pause();
/// let start = Instant::now();
/// time::advance(Duration::from_millis(250)).await;
/// assert_eq!(Instant::now() - start, Duration::from_millis(250));
/// # });
/// ```
pub async fn advance(duration: Duration) {
    apply(|clock| clock.advance(duration), NOT_FROZEN);
    crate::task::yield_now().await;
}

/// A [`Sleep`](super::Sleep)'s timer on a virtual clock: registered in the
/// clock's store instead of the reactor's wheel.
pub(crate) struct VirtualTimer {
    clock: Arc<Clock>,
    deadline: Instant,
    /// The registration id while in the store, under `(deadline, id)`.
    id: Option<u64>,
    /// Whether this timer completed (and was not reset since).
    fired: bool,
}

impl VirtualTimer {
    pub(crate) fn new(clock: Arc<Clock>, deadline: Instant) -> VirtualTimer {
        VirtualTimer {
            clock,
            deadline,
            id: None,
            fired: false,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the timer completed, or its clock fired it and it was not
    /// polled since.
    pub(crate) fn is_elapsed(&self) -> bool {
        self.fired
            || self.id.is_some_and(|id| {
                !self
                    .clock
                    .state
                    .lock()
                    .timers
                    .contains_key(&(self.deadline, id))
            })
    }

    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        // Cloned before the lock: cloning a waker is user code.
        let waker = cx.waker().clone();
        let mut st = self.clock.state.lock();
        let now = st.now();
        if let Some(id) = self.id {
            let key = (self.deadline, id);
            let old = match st.timers.get_mut(&key) {
                // The clock fired it.
                None => None,
                Some(_) if now >= self.deadline => st.timers.remove(&key),
                Some(w) => {
                    let old = std::mem::replace(w, waker);
                    drop(st);
                    drop(old);
                    return Poll::Pending;
                }
            };
            drop(st);
            drop(old);
            self.id = None;
            self.fired = true;
            return Poll::Ready(());
        }
        if now >= self.deadline {
            drop(st);
            self.fired = true;
            return Poll::Ready(());
        }
        let id = st.next_id;
        st.next_id += 1;
        let key = (self.deadline, id);
        let earliest = st.timers.first_key_value().is_none_or(|(k, _)| key < *k);
        st.timers.insert(key, waker);
        drop(st);
        self.id = Some(id);
        if earliest {
            // The runtime may be parked (from another thread's view) until
            // a later deadline, or without timeout.
            self.clock.unparker.unpark();
        }
        Poll::Pending
    }

    /// Moves the deadline; a registered timer keeps its waker (and fires at
    /// once if the new deadline has passed), a completed one is registered
    /// again by its next poll.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        let old_deadline = std::mem::replace(&mut self.deadline, deadline);
        let Some(id) = self.id.take() else {
            self.fired = false;
            return;
        };
        let mut st = self.clock.state.lock();
        let Some(waker) = st.timers.remove(&(old_deadline, id)) else {
            // Fired meanwhile: its waker was woken, the next poll registers.
            self.fired = false;
            return;
        };
        if st.now() >= deadline {
            drop(st);
            self.fired = true;
            waker.wake();
            return;
        }
        let key = (deadline, id);
        let earliest = st.timers.first_key_value().is_none_or(|(k, _)| key < *k);
        st.timers.insert(key, waker);
        drop(st);
        self.id = Some(id);
        if earliest {
            self.clock.unparker.unpark();
        }
    }
}

impl Drop for VirtualTimer {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let waker = self.clock.state.lock().timers.remove(&(self.deadline, id));
            // Dropped outside the lock.
            drop(waker);
        }
    }
}

impl fmt::Debug for VirtualTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualTimer")
            .field("deadline", &self.deadline)
            .field("registered", &self.id.is_some())
            .finish()
    }
}

impl scheduler::Handle {
    /// The runtime's clock (current-thread runtimes only).
    pub(crate) fn clock(&self) -> Option<&Arc<Clock>> {
        match &self.flavor {
            Flavor::CurrentThread(s) => Some(s.clock()),
            Flavor::MultiThread(_) => None,
        }
    }
}
