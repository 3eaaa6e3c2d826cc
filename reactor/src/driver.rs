//! The reactor: the poller, the registration slab and the single entry point
//! [`Reactor::turn`].

use std::io;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use slab::Slab;

use crate::scheduled_io::ScheduledIo;
use crate::sys::{Events, Poller};
use crate::time::Timers;
use crate::Registration;

/// How many kernel events one `turn` fetches at most.
const EVENTS_CAPACITY: usize = 1024;

/// The process-wide reactor.
///
/// One reactor serves every runtime and every thread: it is started on first
/// use ([`Reactor::get`]) and lives until the process exits. A dedicated
/// thread, `runtime-reactor`, calls [`Reactor::turn`] in a loop; because
/// `turn` takes the driver lock, any other thread may call [`Reactor::try_turn`]
/// to drive it while that thread is busy or parked elsewhere.
#[derive(Debug)]
pub struct Reactor {
    /// The kernel queue (epoll or kqueue).
    poller: Poller,
    /// Live registrations. The slot index and the registration's generation
    /// form the token the kernel reports back.
    registrations: Mutex<Slab<Arc<ScheduledIo>>>,
    /// Source of registration generations; starts at 1 so that no real token
    /// equals the backends' wake-up token (index and generation all ones).
    next_generation: AtomicU32,
    /// Held by whichever thread is inside `turn`: the event buffer and the
    /// scratch list of wakers to call once the slab lock is released.
    driver: Mutex<DriverState>,
    /// Whether the reactor thread is running.
    thread_started: AtomicBool,
    /// How many scheduler threads have promised to poll the reactor
    /// themselves (see [`Reactor::register_poller`]).
    pollers: AtomicUsize,
    /// Checks that schedulers ask the reactor thread to run every
    /// [`STALL_GUARD`] (see [`Reactor::add_watcher`]); dead ones are pruned.
    watchers: Mutex<Vec<std::sync::Weak<dyn Fn() + Send + Sync>>>,
    /// Whether the reactor thread holds the driver lock (in a turn).
    thread_driving: AtomicBool,
    /// Scheduler threads waiting for the reactor thread to hand the driver
    /// over (see [`Reactor::park_turn`]); its turns do not block meanwhile.
    want_driver: AtomicUsize,
    /// When a turn last ended, in microseconds since `epoch`.
    last_turn_us: AtomicU64,
    /// The reference point of `last_turn_us`.
    epoch: Instant,
    /// The timing wheel: `turn` waits no longer than its next deadline and
    /// fires what is due (see `time/mod.rs`).
    pub(crate) timers: Timers,
}

/// How long the reactor thread lets I/O go unpolled, while schedulers have
/// promised to poll, before it polls itself.
pub const STALL_GUARD: Duration = Duration::from_millis(10);

/// Keeps a scheduler thread counted as a poller of the reactor; see
/// [`Reactor::register_poller`].
#[derive(Debug)]
pub struct PollerGuard {
    reactor: &'static Reactor,
}

impl Drop for PollerGuard {
    fn drop(&mut self) {
        self.reactor.pollers.fetch_sub(1, Ordering::SeqCst);
        self.reactor.wake();
    }
}

#[derive(Debug)]
struct DriverState {
    events: Events,
    wakers: Vec<Waker>,
}

static REACTOR: OnceLock<Reactor> = OnceLock::new();
static START_LOCK: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// Packs a slab index and a generation into a kernel token.
pub(crate) fn token(index: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | index as u64
}

/// Splits a kernel token into slab index and generation.
pub(crate) fn split_token(token: u64) -> (usize, u32) {
    ((token & u64::from(u32::MAX)) as usize, (token >> 32) as u32)
}

impl Reactor {
    /// The process-wide reactor, created (and its thread started) on first use.
    ///
    /// # Errors
    ///
    /// Creating the kernel queue or spawning the reactor thread can fail, for
    /// example with `EMFILE` when the process is out of file descriptors. A
    /// later call tries again.
    pub fn get() -> io::Result<&'static Reactor> {
        if let Some(r) = REACTOR.get() {
            if r.thread_started.load(Ordering::Acquire) {
                return Ok(r);
            }
        }
        let _guard = START_LOCK.lock();
        let reactor = match REACTOR.get() {
            Some(r) => r,
            None => {
                let r = Reactor::new()?;
                REACTOR.get_or_init(|| r)
            }
        };
        if !reactor.thread_started.load(Ordering::Acquire) {
            std::thread::Builder::new()
                .name("runtime-reactor".into())
                .spawn(move || reactor.run())?;
            reactor.thread_started.store(true, Ordering::Release);
        }
        Ok(reactor)
    }

    pub(crate) fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poller: Poller::new()?,
            registrations: Mutex::new(Slab::new()),
            next_generation: AtomicU32::new(1),
            driver: Mutex::new(DriverState {
                events: Events::with_capacity(EVENTS_CAPACITY),
                wakers: Vec::with_capacity(64),
            }),
            thread_started: AtomicBool::new(false),
            pollers: AtomicUsize::new(0),
            thread_driving: AtomicBool::new(false),
            watchers: Mutex::new(Vec::new()),
            want_driver: AtomicUsize::new(0),
            last_turn_us: AtomicU64::new(0),
            epoch: Instant::now(),
            timers: Timers::new(),
        })
    }

    /// The reactor thread's loop.
    ///
    /// While no scheduler polls the reactor itself, this thread waits for
    /// events and dispatches them. While some do (worker-driven mode), it
    /// only watches: every [`STALL_GUARD`] it checks that somebody polled
    /// recently, and polls itself if not, so a scheduler whose threads are
    /// all busy (or blocked in user code) never holds up I/O for anybody.
    fn run(&'static self) {
        loop {
            let res = if self.pollers.load(Ordering::SeqCst) == 0 {
                // `register_poller` bumps the count, then wakes us. With
                // watchers, come back every STALL_GUARD to run them.
                let timeout = (!self.watchers.lock().is_empty()).then_some(STALL_GUARD);
                let res = self.thread_turn(timeout, || self.pollers.load(Ordering::SeqCst) > 0);
                self.run_watchers();
                res
            } else {
                // Nap until the stall check; if no thread waits in `turn` to
                // fire timers, no longer than the next timer deadline (and
                // an earlier new timer unparks us; see `time/mod.rs`).
                std::thread::park_timeout(self.timers.begin_watch(STALL_GUARD));
                let timer_due = self.timers.end_watch();
                self.run_watchers();
                match self.driver.try_lock() {
                    Some(mut state) if self.since_last_turn() >= STALL_GUARD => {
                        self.thread_driving.store(true, Ordering::SeqCst);
                        self.poller.clear_wakeups();
                        // A scheduler thread that wants to wait in the
                        // reactor sets `want_driver`, then wakes us.
                        let timeout = if self.want_driver.load(Ordering::SeqCst) > 0 {
                            Duration::ZERO
                        } else {
                            STALL_GUARD
                        };
                        let res = self.turn_locked(&mut state, Some(timeout));
                        self.thread_driving.store(false, Ordering::SeqCst);
                        res
                    }
                    // Fire the due timers (and pick up I/O) without waiting,
                    // leaving the waiting to the schedulers.
                    Some(mut state) if timer_due => {
                        self.turn_locked(&mut state, Some(Duration::ZERO))
                    }
                    // Somebody is driving now, or did recently.
                    _ => Ok(0),
                }
            };
            if let Err(e) = res {
                // The poller itself failed (EBADF, EINVAL: a bug or a
                // corrupted process). Keep going rather than strand every
                // task, but do not spin on a persistent error.
                eprintln!("runtime-reactor: poller error: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Asks the reactor thread to call `check` about every [`STALL_GUARD`]
    /// for as long as it is alive (the reactor holds it weakly). Schedulers
    /// use it to notice a worker stuck in one task; the reactor knows
    /// nothing of what the check does. A panic in `check` is contained.
    pub fn add_watcher(&self, check: std::sync::Weak<dyn Fn() + Send + Sync>) {
        self.watchers.lock().push(check);
        self.wake();
    }

    fn run_watchers(&self) {
        let live: Vec<Arc<dyn Fn() + Send + Sync>> = {
            let mut ws = self.watchers.lock();
            ws.retain(|w| w.strong_count() > 0);
            ws.iter().filter_map(std::sync::Weak::upgrade).collect()
        };
        for check in live {
            let _ = catch_unwind(AssertUnwindSafe(|| check()));
        }
    }

    /// A turn by the reactor thread, flagged so that scheduler threads know
    /// to ask it to step aside (see [`park_turn`](Reactor::park_turn)).
    fn thread_turn(
        &self,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let mut state = self.driver.lock();
        self.thread_driving.store(true, Ordering::SeqCst);
        let res = self.turn_unless_locked(&mut state, timeout, || {
            skip_wait() || self.want_driver.load(Ordering::SeqCst) > 0
        });
        self.thread_driving.store(false, Ordering::SeqCst);
        res
    }

    /// For a scheduler thread with nothing to do: waits inside the reactor
    /// (up to `timeout`, see [`turn_unless`](Reactor::turn_unless) for
    /// `skip_wait`) instead of sleeping, unless another scheduler thread is
    /// already waiting there, in which case it returns `None` at once.
    ///
    /// If the reactor thread holds the reactor (it stepped in because nobody
    /// polled for a while), it is asked to step aside and the caller takes
    /// over: an idle scheduler thread must not be left sleeping elsewhere
    /// while I/O waits for the reactor thread's next check.
    pub fn park_turn(
        &self,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> Option<io::Result<usize>> {
        let mut state = match self.driver.try_lock() {
            Some(state) => state,
            None if self.thread_driving.load(Ordering::SeqCst) => {
                self.want_driver.fetch_add(1, Ordering::SeqCst);
                self.wake();
                // Wait for the reactor thread to step aside, but never
                // behind another scheduler thread: one blocked in the
                // reactor may hold it indefinitely, and our own wake-ups
                // (its reactor wake) could be swallowed by its turn. Then
                // give up, so the caller sleeps where `unpark` reaches it.
                let state = loop {
                    if let Some(state) = self.driver.try_lock_for(Duration::from_micros(200)) {
                        break Some(state);
                    }
                    if !self.thread_driving.load(Ordering::SeqCst) {
                        break None;
                    }
                };
                self.want_driver.fetch_sub(1, Ordering::SeqCst);
                state?
            }
            None => return None,
        };
        Some(self.turn_unless_locked(&mut state, timeout, skip_wait))
    }

    /// How long ago a turn last ended (by any thread). Costs one clock
    /// read, far less than a non-blocking turn: schedulers use it to skip
    /// polling the reactor when somebody just did.
    pub fn since_last_turn(&self) -> Duration {
        let now = self.epoch.elapsed().as_micros() as u64;
        Duration::from_micros(now.saturating_sub(self.last_turn_us.load(Ordering::Relaxed)))
    }

    /// Counts the caller as a scheduler thread that polls the reactor
    /// itself: at regular intervals while busy (with
    /// [`try_turn`](Reactor::try_turn) and a zero timeout) and, when idle,
    /// by blocking in it instead of sleeping. While any such thread is
    /// registered, the reactor thread stops waiting for events and only
    /// steps in when nobody polled for [`STALL_GUARD`].
    pub fn register_poller(&'static self) -> PollerGuard {
        self.pollers.fetch_add(1, Ordering::SeqCst);
        self.wake();
        PollerGuard { reactor: self }
    }

    /// Registers `fd` for edge-triggered readiness in both directions.
    ///
    /// The returned [`Registration`] deregisters `fd` when dropped, so it must
    /// be dropped *before* `fd` is closed.
    ///
    /// # Errors
    ///
    /// Whatever the kernel reports (`EBADF`, `ENOMEM`, `EPERM` for regular
    /// files on epoll, `EEXIST` if `fd` is registered already).
    pub fn register(&'static self, fd: RawFd) -> io::Result<Registration> {
        let generation = loop {
            let g = self.next_generation.fetch_add(1, Ordering::Relaxed);
            if g != 0 && g != u32::MAX {
                break g;
            }
        };
        let io = Arc::new(ScheduledIo::new(generation));
        let index = {
            let mut regs = self.registrations.lock();
            let entry = regs.vacant_entry();
            let index = entry.key();
            if index >= u32::MAX as usize {
                return Err(io::Error::other("too many reactor registrations"));
            }
            entry.insert(io.clone());
            index
        };
        if let Err(e) = self.poller.register(fd, token(index, generation)) {
            self.registrations.lock().remove(index);
            return Err(e);
        }
        Ok(Registration::new(self, io, index, fd))
    }

    /// Removes a registration: deregisters the fd from the kernel, frees the
    /// slot and wakes every task parked on it.
    pub(crate) fn deregister(&self, io: &Arc<ScheduledIo>, index: usize, fd: RawFd) {
        // The fd is still open here (the owner closes it afterwards). An
        // error means the owner broke that rule; there is nothing to undo.
        let _ = self.poller.deregister(fd, token(index, io.generation));
        {
            let mut regs = self.registrations.lock();
            if regs.get(index).is_some_and(|r| Arc::ptr_eq(r, io)) {
                regs.remove(index);
            }
        }
        let mut wakers = Vec::new();
        io.shutdown(&mut wakers);
        wake_all(wakers.drain(..));
    }

    /// Waits for events (at most `timeout`, and no longer than until the
    /// next timer deadline; `None` waits until an event, a deadline or a
    /// [`wake`](Reactor::wake)), sets readiness and wakes the tasks waiting
    /// for it, then fires the timers that are due. Returns how many I/O
    /// events were dispatched (fired timers are not counted).
    ///
    /// If another thread is inside `turn`, this waits for it to finish first.
    ///
    /// # Errors
    ///
    /// Only errors of the wait system call itself (`EINTR` is retried).
    pub fn turn(&self, timeout: Option<Duration>) -> io::Result<usize> {
        self.turn_unless(timeout, || false)
    }

    /// Like [`turn`](Reactor::turn), but first evaluates `skip_wait` — after
    /// wake-ups sent so far have been cleared, and before blocking — and only
    /// polls without blocking if it returns `true`.
    ///
    /// This closes the gap between "nothing to do, let me wait" and the
    /// wait: a [`wake`](Reactor::wake) issued before `skip_wait` runs is seen
    /// by it (the waker set a flag first), one issued after it interrupts the
    /// wait.
    pub fn turn_unless(
        &self,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let mut state = self.driver.lock();
        self.turn_unless_locked(&mut state, timeout, skip_wait)
    }

    /// Like [`turn`](Reactor::turn), but returns `None` at once if another
    /// thread is driving the reactor.
    pub fn try_turn(&self, timeout: Option<Duration>) -> Option<io::Result<usize>> {
        self.try_turn_unless(timeout, || false)
    }

    /// [`try_turn`](Reactor::try_turn) with the `skip_wait` check of
    /// [`turn_unless`](Reactor::turn_unless).
    pub fn try_turn_unless(
        &self,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> Option<io::Result<usize>> {
        let mut state = self.driver.try_lock()?;
        Some(self.turn_unless_locked(&mut state, timeout, skip_wait))
    }

    /// A turn by the thread holding the driver lock: clears the wake-ups
    /// sent so far, then asks `skip_wait` whether to poll without blocking
    /// (see [`turn_unless`](Reactor::turn_unless) for why in that order).
    fn turn_unless_locked(
        &self,
        state: &mut DriverState,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        self.poller.clear_wakeups();
        let timeout = if skip_wait() {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        self.turn_locked(state, timeout)
    }

    fn turn_locked(&self, state: &mut DriverState, timeout: Option<Duration>) -> io::Result<usize> {
        let DriverState { events, wakers } = state;
        // Timers: wait no longer than the next deadline (rounded up to whole
        // milliseconds), and record when this wait ends so that a timer
        // registered meanwhile for an earlier tick interrupts it (`wake`).
        let timeout = self.timers.begin_wait(timeout);
        self.poller.wait(events, timeout)?;
        let mut dispatched = 0;
        {
            let regs = self.registrations.lock();
            for event in events.iter() {
                let (index, generation) = split_token(event.token);
                match regs.get(index) {
                    Some(io) if io.generation == generation => {
                        io.set_readiness(event.ready, wakers);
                        dispatched += 1;
                    }
                    // A stale event: the slot was freed (and maybe reused)
                    // after the kernel queued it.
                    _ => {}
                }
            }
        }
        wake_all(wakers.drain(..));
        // Timers: fire every one that is due, in batches, waking each batch
        // after the wheel lock is released (a waker may touch timers).
        let now = Instant::now();
        while self.timers.process(now, wakers) {
            wake_all(wakers.drain(..));
        }
        wake_all(wakers.drain(..));
        self.last_turn_us
            .store(self.epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(dispatched)
    }

    /// Interrupts a thread blocked in [`turn`](Reactor::turn) (or makes the
    /// next one return at once).
    pub fn wake(&self) {
        // Failure would mean the eventfd/kqueue is gone; nothing to do.
        let _ = self.poller.notify();
    }

    /// How many registrations are live (for leak checks in tests).
    pub fn registration_count(&self) -> usize {
        self.registrations.lock().len()
    }
}

/// Wakes every waker, isolating panics in user-supplied `wake` functions so
/// that one bad waker cannot stop the others (or the reactor thread).
fn wake_all(wakers: impl Iterator<Item = Waker>) {
    for waker in wakers {
        let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(split_token(token(7, 9)), (7, 9));
        assert_eq!(
            split_token(token(u32::MAX as usize - 1, u32::MAX - 1)),
            (u32::MAX as usize - 1, u32::MAX - 1)
        );
    }

    #[test]
    fn stale_generation_is_dropped() {
        use std::os::fd::AsRawFd;
        let reactor = Reactor::new().unwrap();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let io = Arc::new(ScheduledIo::new(5));
        let index = reactor.registrations.lock().insert(io.clone());
        // Register with an old generation (4): every event for it is stale.
        reactor
            .poller
            .register(a.as_raw_fd(), token(index, 4))
            .unwrap();
        let n = reactor.turn(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(n, 0, "an event for an old generation must be dropped");
        assert!(io.readiness().is_empty());
        reactor
            .poller
            .deregister(a.as_raw_fd(), token(index, 4))
            .unwrap();
        // With the right generation the same event is delivered.
        reactor
            .poller
            .register(a.as_raw_fd(), token(index, 5))
            .unwrap();
        let n = reactor.turn(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(n, 1);
        assert!(io.readiness().is_writable());
        reactor
            .poller
            .deregister(a.as_raw_fd(), token(index, 5))
            .unwrap();
    }
}
