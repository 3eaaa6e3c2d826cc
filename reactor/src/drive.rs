//! Who turns the reactor, and when: the driving policy over the mechanism
//! of [`Reactor::lock`] and [`ReactorLock::turn`](crate::ReactorLock::turn).
//!
//! Everything that decides which thread waits in the kernel queue lives in
//! this module: the reactor thread's loop, the stall guard, the scheduler
//! threads that drive the reactor themselves ([`Driver`]), the parker that
//! lets an idle one wait inside the reactor ([`Parker`]), the hand-off
//! between it and the reactor thread, and the watchers.
//!
//! # Why scheduler threads drive
//!
//! An idle scheduler thread that waits inside the reactor, rather than on a
//! condition variable, gets the events first: the tasks they wake land in
//! its own queue with no cross-thread wake-up. That is about 1.5x faster on
//! echo than a reactor thread that wakes workers, so it is the default
//! (`benches/results/reactor_modes.md`). The reactor thread still exists,
//! so that a scheduler whose threads are all busy in user code never holds
//! up I/O and timers for everybody.
//!
//! # Modes
//!
//! - **Thread-driven** (no [`Driver`] alive): the reactor thread waits in
//!   the reactor without timeout (or [`STALL_GUARD`] while watchers are
//!   installed, to run them) and dispatches every event.
//! - **Worker-driven** (one or more [`Driver`]s alive): scheduler threads
//!   poll the reactor between batches of tasks ([`Driver::poll`]) and, when
//!   idle, park inside it ([`Parker::park_driving`]). The reactor thread
//!   only naps and watches: every [`STALL_GUARD`] it runs the watchers and,
//!   if no turn ended for that long, turns the reactor itself (it
//!   "covers"). It also has timer duty while no thread waits in the
//!   reactor (see `time/mod.rs`, "The watcher").
//!
//! # Protocol
//!
//! State: `pollers` (live [`Driver`]s), `thread_driving` (the reactor
//! thread holds the reactor lock), `want_driver` (parkers waiting for it to
//! hand the lock over), and each [`Parker`]'s state word: `EMPTY`,
//! `PARKED` (on its condition variable), `NOTIFIED`, or `PARKED_DRIVING`
//! (inside the reactor).
//!
//! 1. **Parking driving.** An idle thread moves its parker `EMPTY` →
//!    `PARKED_DRIVING` (a pending `NOTIFIED` is consumed instead and it
//!    returns), takes the reactor lock and turns once, passing "my parker
//!    is `NOTIFIED`" as the turn's `skip_wait`. The turn clears old
//!    wake-ups before it asks, so an unpark is seen by the check or
//!    interrupts the wait (rule 2). Then it consumes the notification, if
//!    any, and returns.
//! 2. **Unpark.** `unpark` swaps in `NOTIFIED`; if the state was
//!    `PARKED_DRIVING` it wakes the reactor ([`Reactor::wake`]), if
//!    `PARKED` it signals the condition variable under its lock.
//! 3. **Not driving.** If the lock is held by another scheduler thread
//!    (which may hold it for as long as it is idle), the parker does not
//!    wait behind it: it moves `PARKED_DRIVING` → `EMPTY` (a `NOTIFIED`
//!    there is consumed and it returns) and parks on its condition
//!    variable, where rule 2 reaches it.
//! 4. **Hand-off.** If the reactor thread holds the lock (it covered, or
//!    it is thread-driven and a [`Driver`] just appeared), the parker must
//!    not sleep elsewhere while I/O waits for the reactor thread's next
//!    nap: it bumps `want_driver`, wakes the reactor, and retries the lock
//!    every 200 µs while `thread_driving` holds. The reactor thread's turns
//!    pass `want_driver > 0` (and, thread-driven, `pollers > 0`) as their
//!    `skip_wait`, so a bump before the check shortens its wait to zero and
//!    a bump after it is followed by the wake that ends the wait. It drops
//!    the lock before it clears `thread_driving`, so the parker that spins
//!    finds the lock free. If the reactor thread let go and another thread
//!    took the lock first, rule 3 applies.
//! 5. **Stall guard.** Worker-driven, the reactor thread turns the reactor
//!    itself when no turn ended for [`STALL_GUARD`] (every scheduler
//!    thread busy, or parked off the reactor), with a `STALL_GUARD`
//!    timeout, and goes back to napping.
//! 6. **Watchers** ([`add_watcher`]) run on the reactor thread every
//!    `STALL_GUARD` in either mode, with panics contained; the
//!    multi-thread scheduler installs one that moves a stuck worker's LIFO
//!    task to the injector.
//!
//! The loom models at the bottom check rules 1-4 for every interleaving,
//! over a model poller (`model`) whose untimed wait ends only when woken:
//! `loom_park_driving_vs_unpark_vs_cover` and
//! `loom_thread_driven_hands_over_to_a_parker`.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc as StdArc, Weak};
use std::time::Duration;

use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use crate::Reactor;

/// How long the reactor thread lets I/O go unpolled, while scheduler
/// threads drive, before it turns the reactor itself; also how often it
/// runs the watchers.
#[doc(hidden)]
pub const STALL_GUARD: Duration = Duration::from_millis(10);

/// How long a parker waits for the reactor thread to let go of the lock
/// before it looks again whether it still holds it (rule 4).
const HAND_OFF_RETRY: Duration = Duration::from_micros(200);

/// A check run by the reactor thread every [`STALL_GUARD`].
type Watcher = dyn Fn() + Send + Sync;

/// The policy's shared state, a field of the [`Reactor`].
#[derive(Debug)]
pub(crate) struct Policy {
    /// Whether the reactor thread is running.
    thread_started: AtomicBool,
    /// Live [`Driver`]s.
    pollers: AtomicUsize,
    /// Whether the reactor thread holds the reactor lock.
    thread_driving: AtomicBool,
    /// Parkers waiting for the reactor thread to hand the lock over.
    want_driver: AtomicUsize,
    /// Installed checks; dead ones are pruned.
    watchers: Mutex<Vec<Weak<Watcher>>>,
    /// Failed waits of the reactor thread, reported or not.
    poller_errors: AtomicUsize,
}

impl Policy {
    pub(crate) fn new() -> Policy {
        Policy {
            thread_started: AtomicBool::new(false),
            pollers: AtomicUsize::new(0),
            thread_driving: AtomicBool::new(false),
            want_driver: AtomicUsize::new(0),
            watchers: Mutex::new(Vec::new()),
            poller_errors: AtomicUsize::new(0),
        }
    }

    pub(crate) fn thread_started(&self) -> bool {
        self.thread_started.load(Ordering::Acquire)
    }
}

/// Starts the reactor thread unless it runs already. Called by
/// [`Reactor::get`] under its start lock.
pub(crate) fn start_thread(reactor: &'static Reactor) -> io::Result<()> {
    if !reactor.drive.thread_started() {
        std::thread::Builder::new()
            .name("runtime-reactor".into())
            .spawn(move || reactor_thread(reactor))?;
        reactor.drive.thread_started.store(true, Ordering::Release);
    }
    Ok(())
}

/// What the reactor thread does with an error of its wait.
type ErrorHook = dyn Fn(&io::Error) + Send + Sync;
static POLLER_ERROR_HOOK: std::sync::OnceLock<Box<ErrorHook>> = std::sync::OnceLock::new();

/// Installs `hook`, called on the reactor thread with every error its wait
/// fails with (`EBADF`, `EINVAL`: a bug or a corrupted process; `EINTR` is
/// retried and never reported). The reactor thread keeps going after each,
/// 100 ms later. Returns `false` if a hook was installed already.
///
/// Without a hook such errors are only counted ([`poller_errors`]).
pub fn set_poller_error_hook(hook: impl Fn(&io::Error) + Send + Sync + 'static) -> bool {
    POLLER_ERROR_HOOK.set(Box::new(hook)).is_ok()
}

/// How many waits of the reactor thread have failed (see
/// [`set_poller_error_hook`]).
pub fn poller_errors(reactor: &Reactor) -> usize {
    reactor.drive.poller_errors.load(Ordering::Relaxed)
}

/// The reactor thread's loop.
fn reactor_thread(reactor: &'static Reactor) {
    loop {
        if let Err(e) = reactor_thread_pass(reactor) {
            // Keep going rather than strand every task, but do not spin on
            // a persistent error.
            reactor.drive.poller_errors.fetch_add(1, Ordering::Relaxed);
            if let Some(hook) = POLLER_ERROR_HOOK.get() {
                let _ = catch_unwind(AssertUnwindSafe(|| hook(&e)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One pass of the reactor thread (see `# Modes`).
fn reactor_thread_pass(reactor: &'static Reactor) -> io::Result<usize> {
    let policy = &reactor.drive;
    if policy.pollers.load(Ordering::SeqCst) == 0 {
        // With watchers, come back every STALL_GUARD to run them.
        let timeout = (!policy.watchers.lock().is_empty()).then_some(STALL_GUARD);
        let res = thread_turn(reactor, timeout);
        run_watchers(reactor);
        res
    } else {
        // Nap until the stall check; with timer duty no longer than the
        // next deadline (an earlier new timer unparks us; `time/mod.rs`).
        std::thread::park_timeout(reactor.timers.begin_watch(STALL_GUARD));
        let timer_due = reactor.timers.end_watch();
        run_watchers(reactor);
        cover(reactor, reactor.since_last_turn() >= STALL_GUARD, timer_due)
    }
}

/// Thread-driven: the reactor thread waits in the reactor until an event,
/// a deadline, `timeout`, a new [`Driver`] or a parker that wants the lock
/// (rule 4).
fn thread_turn(reactor: &Reactor, timeout: Option<Duration>) -> io::Result<usize> {
    let policy = &reactor.drive;
    let mut lock = reactor.lock();
    policy.thread_driving.store(true, Ordering::SeqCst);
    let res = lock.turn(timeout, || {
        policy.pollers.load(Ordering::SeqCst) > 0 || policy.want_driver.load(Ordering::SeqCst) > 0
    });
    drop(lock);
    policy.thread_driving.store(false, Ordering::SeqCst);
    res
}

/// Worker-driven, after a nap: turns the reactor if nobody did for
/// [`STALL_GUARD`] (`stalled`, rule 5), or fires due timers without
/// waiting (`timer_due`), unless another thread holds the lock.
fn cover(reactor: &Reactor, stalled: bool, timer_due: bool) -> io::Result<usize> {
    let policy = &reactor.drive;
    match reactor.try_lock() {
        Some(mut lock) if stalled => {
            policy.thread_driving.store(true, Ordering::SeqCst);
            let res = lock.turn(Some(STALL_GUARD), || {
                policy.want_driver.load(Ordering::SeqCst) > 0
            });
            drop(lock);
            policy.thread_driving.store(false, Ordering::SeqCst);
            res
        }
        Some(mut lock) if timer_due => lock.turn(Some(Duration::ZERO), || true),
        _ => Ok(0),
    }
}

/// Asks the reactor thread to call `check` every [`STALL_GUARD`] for as
/// long as it is alive (the reactor holds it weakly). Schedulers use it to
/// notice a thread stuck in one task; the reactor knows nothing of what
/// the check does. A panic in `check` is contained.
pub fn add_watcher(reactor: &Reactor, check: Weak<Watcher>) {
    reactor.drive.watchers.lock().push(check);
    reactor.wake();
}

fn run_watchers(reactor: &Reactor) {
    let live: Vec<StdArc<Watcher>> = {
        let mut ws = reactor.drive.watchers.lock();
        ws.retain(|w| w.strong_count() > 0);
        ws.iter().filter_map(Weak::upgrade).collect()
    };
    for check in live {
        let _ = catch_unwind(AssertUnwindSafe(|| check()));
    }
}

/// A scheduler thread that drives the reactor itself: while any `Driver`
/// is alive the reactor is worker-driven (see `# Modes`). Dropping it
/// gives the reactor thread its duty back.
#[derive(Debug)]
pub struct Driver {
    reactor: &'static Reactor,
}

impl Driver {
    /// Counts the calling scheduler thread as a driver of `reactor`. It
    /// promises to call [`poll`](Driver::poll) between batches of tasks
    /// and to park with [`Parker::park_driving`] when idle.
    pub fn new(reactor: &'static Reactor) -> Driver {
        reactor.drive.pollers.fetch_add(1, Ordering::SeqCst);
        // A thread-driven reactor thread waiting without timeout re-reads
        // `pollers` (rule 4).
        reactor.wake();
        Driver { reactor }
    }

    /// Turns the reactor without waiting, unless another thread holds it.
    pub fn poll(&self) {
        if let Some(mut lock) = self.reactor.try_lock() {
            let _ = lock.turn(Some(Duration::ZERO), || true);
        }
    }

    /// How long ago a turn last ended, by any thread: one clock read, far
    /// less than a non-blocking turn, so a busy thread can skip
    /// [`poll`](Driver::poll) when somebody just polled.
    pub fn since_last_turn(&self) -> Duration {
        self.reactor.since_last_turn()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.reactor.drive.pollers.fetch_sub(1, Ordering::SeqCst);
        self.reactor.wake();
    }
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;
/// Parked inside the reactor: woken through it.
const PARKED_DRIVING: usize = 3;

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
    /// The reactor this parker may park in ([`Parker::park_driving`]),
    /// kept so that `unpark` wakes it without looking it up.
    reactor: Option<&'static Reactor>,
}

/// Parks a scheduler thread until it is woken: on a condition variable, or
/// inside the reactor (see `# Protocol`). The parking side, owned by one
/// thread.
#[derive(Debug)]
pub struct Parker {
    inner: Arc<Inner>,
}

/// The waking side of a [`Parker`]; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    /// A parker that parks on its condition variable only.
    pub fn new() -> Parker {
        Parker::with_reactor(None)
    }

    /// A parker that may park in `reactor` (with
    /// [`park_driving`](Parker::park_driving)); without one it parks on
    /// its condition variable only.
    pub fn with_reactor(reactor: Option<&'static Reactor>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
                reactor,
            }),
        }
    }

    /// The waking side.
    pub fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Another handle on the same parker, for parking while the owner's
    /// state is lent out. Only one thread may park at a time.
    pub fn clone_for_driving(&self) -> Parker {
        Parker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until [`Unparker::unpark`] is called (returns at once if it
    /// already was since the last park).
    pub fn park(&self) {
        self.park_timeout(None);
    }

    /// [`park`](Parker::park), returning after `timeout` at the latest. A
    /// timeout too long for the clock waits without one.
    pub fn park_timeout(&self, timeout: Option<Duration>) {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = inner.lock.lock();
        match inner
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                inner.state.store(EMPTY, Ordering::SeqCst);
                return;
            }
            Err(actual) => unreachable!("parked twice (state {actual})"),
        }
        loop {
            match deadline {
                None => guard = inner.cvar.wait(guard),
                #[cfg(not(runtime_loom))]
                Some(d) => {
                    if inner.cvar.wait_until(&mut guard, d) {
                        // Timed out: leave, unless a notification raced in.
                        if inner
                            .state
                            .compare_exchange(PARKED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                            .is_err()
                        {
                            inner.state.store(EMPTY, Ordering::SeqCst);
                        }
                        return;
                    }
                }
                #[cfg(runtime_loom)]
                Some(_) => guard = inner.cvar.wait(guard),
            }
            if inner
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wake-up: wait again.
        }
    }

    /// Parks inside the reactor (rules 1, 3 and 4 of `# Protocol`), for at
    /// most `timeout`: the thread turns the reactor instead of sleeping, and
    /// `unpark` interrupts the turn. Returns at once if a notification is
    /// pending. A parker made without a reactor parks on its condition
    /// variable.
    pub fn park_driving(&self, timeout: Option<Duration>) {
        let inner = &*self.inner;
        let Some(reactor) = inner.reactor else {
            return self.park_timeout(timeout);
        };
        if inner
            .state
            .compare_exchange(EMPTY, PARKED_DRIVING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // NOTIFIED: consume it and return.
            inner.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        if turn_parked(reactor, timeout, || {
            inner.state.load(Ordering::SeqCst) == NOTIFIED
        }) {
            // Consume a notification that arrived while driving, if any.
            inner.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        // Rule 3: become an ordinary parker, unless notified meanwhile.
        if inner
            .state
            .compare_exchange(PARKED_DRIVING, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            inner.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        self.park_timeout(timeout);
    }
}

impl Default for Parker {
    fn default() -> Parker {
        Parker::new()
    }
}

impl Unparker {
    /// Ends the current park of its [`Parker`], or makes the next one
    /// return at once (rule 2).
    pub fn unpark(&self) {
        let inner = &*self.inner;
        match inner.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_DRIVING => {
                // Only a parker with a reactor parks driving.
                if let Some(reactor) = inner.reactor {
                    reactor.wake();
                }
            }
            _ => {
                drop(inner.lock.lock());
                inner.cvar.notify_one();
            }
        }
    }
}

/// Takes the reactor lock for a parker (rules 3 and 4) and turns once with
/// `notified` as `skip_wait`. Returns `false` if another scheduler thread
/// holds the lock.
fn turn_parked(
    reactor: &Reactor,
    timeout: Option<Duration>,
    notified: impl FnOnce() -> bool,
) -> bool {
    let policy = &reactor.drive;
    let mut lock = match reactor.try_lock() {
        Some(lock) => lock,
        None if policy.thread_driving.load(Ordering::SeqCst) => {
            policy.want_driver.fetch_add(1, Ordering::SeqCst);
            reactor.wake();
            let lock = loop {
                if let Some(lock) = reactor.try_lock_for(HAND_OFF_RETRY) {
                    break Some(lock);
                }
                if !policy.thread_driving.load(Ordering::SeqCst) {
                    break None;
                }
            };
            policy.want_driver.fetch_sub(1, Ordering::SeqCst);
            match lock {
                Some(lock) => lock,
                None => return false,
            }
        }
        None => return false,
    };
    // An error of the wait ends the park like a wake-up: the caller looks
    // for work and parks again.
    let _ = lock.turn(timeout, notified);
    true
}

/// A stand-in for the kernel queue under loom: no file descriptors, and a
/// wait that ends only when woken (or at once if it has a timeout: loom
/// has no clock, and a timed wait may always time out).
#[cfg(runtime_loom)]
pub(crate) mod model {
    use std::io;
    use std::os::fd::RawFd;
    use std::time::Duration;

    use crate::sync::{Condvar, Mutex};
    use crate::sys::Event;

    #[derive(Debug)]
    pub(crate) struct Events(Vec<Event>);

    impl Events {
        pub(crate) fn with_capacity(_: usize) -> Events {
            Events(Vec::new())
        }

        pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
            self.0.iter().copied()
        }
    }

    #[derive(Debug)]
    pub(crate) struct Poller {
        woken: Mutex<bool>,
        cvar: Condvar,
    }

    impl Poller {
        pub(crate) fn new() -> io::Result<Poller> {
            Ok(Poller {
                woken: Mutex::new(false),
                cvar: Condvar::new(),
            })
        }

        pub(crate) fn register(&self, _: RawFd, _: u64) -> io::Result<()> {
            Ok(())
        }

        pub(crate) fn deregister(&self, _: RawFd, _: u64) -> io::Result<()> {
            Ok(())
        }

        pub(crate) fn notify(&self) -> io::Result<()> {
            *self.woken.lock() = true;
            self.cvar.notify_all();
            Ok(())
        }

        pub(crate) fn clear_wakeups(&self) {
            *self.woken.lock() = false;
        }

        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            events.0.clear();
            if timeout.is_some() {
                return Ok(());
            }
            let mut woken = self.woken.lock();
            while !*woken {
                woken = self.cvar.wait(woken);
            }
            Ok(())
        }
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;

    fn reactor() -> &'static Reactor {
        Box::leak(Box::new(Reactor::new().unwrap()))
    }

    /// A worker parks driving while another thread unparks it and the
    /// reactor thread covers (it may hold the lock when the worker comes):
    /// the park always ends (rules 1, 2 and 4; a lost wake-up is a loom
    /// deadlock).
    #[test]
    fn loom_park_driving_vs_unpark_vs_cover() {
        loom::model(|| {
            let reactor = reactor();
            let driver = Driver::new(reactor);
            let parker = Parker::with_reactor(Some(reactor));
            let unparker = parker.unparker();
            let u = loom::thread::spawn(move || unparker.unpark());
            let r = loom::thread::spawn(move || {
                let _ = cover(reactor, true, false);
            });
            parker.park_driving(None);
            u.join().unwrap();
            r.join().unwrap();
            drop(driver);
        });
    }

    /// The reactor thread waits thread-driven, without timeout, when a
    /// driver appears and parks: the reactor thread lets go (a new
    /// `Driver` or `want_driver` ends its wait), and the parker's park
    /// ends with the unpark (rules 1, 2 and 4).
    #[test]
    fn loom_thread_driven_hands_over_to_a_parker() {
        loom::model(|| {
            let reactor = reactor();
            let r = loom::thread::spawn(move || {
                let _ = thread_turn(reactor, None);
            });
            let driver = Driver::new(reactor);
            let parker = Parker::with_reactor(Some(reactor));
            let unparker = parker.unparker();
            let u = loom::thread::spawn(move || unparker.unpark());
            parker.park_driving(None);
            u.join().unwrap();
            r.join().unwrap();
            drop(driver);
        });
    }

    /// An unpark racing a plain park always ends the park.
    #[test]
    fn loom_park_unpark() {
        loom::model(|| {
            let parker = Parker::new();
            let unparker = parker.unparker();
            let t = loom::thread::spawn(move || unparker.unpark());
            parker.park();
            t.join().unwrap();
        });
    }

    /// Two unparks and two parks: the second park returns too (a
    /// notification after the first park is kept).
    #[test]
    fn loom_park_twice() {
        loom::model(|| {
            let parker = Parker::new();
            let u1 = parker.unparker();
            let t = loom::thread::spawn(move || {
                u1.unpark();
            });
            parker.park();
            t.join().unwrap();
            parker.unparker().unpark();
            parker.park();
        });
    }
}
