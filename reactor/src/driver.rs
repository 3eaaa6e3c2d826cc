//! The reactor's mechanism: the kernel queue, the registration slab, the
//! timers, and the one way to turn them, [`Reactor::lock`] (or
//! [`Reactor::try_lock`]) then [`ReactorLock::turn`].
//!
//! Nothing here decides who turns the reactor or when: that policy (the
//! reactor thread, idle scheduler threads parking in the reactor, the
//! stall guard, the watchers) is [`drive`](crate::drive).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::drive::Policy;
use crate::scheduled_io::ScheduledIo;
use std::sync::Arc;

#[cfg(runtime_loom)]
use crate::drive::model::{Events, Poller};
use crate::sync::{AtomicU32, AtomicU64, Mutex, MutexGuard, Ordering};
#[cfg(not(runtime_loom))]
use crate::sys::{Events, Poller};
use crate::time::Timers;
use crate::Registration;

/// How many kernel events one turn fetches at most.
const EVENTS_CAPACITY: usize = 1024;

/// The process-wide reactor.
///
/// One reactor serves every runtime and every thread: it is started on first
/// use ([`Reactor::get`]) and lives until the process exits. Whoever holds
/// its lock ([`lock`](Reactor::lock), [`try_lock`](Reactor::try_lock)) may
/// turn it: wait for events, wake the tasks waiting for them and fire due
/// timers. Which thread does that, and when, is decided in
/// [`drive`](crate::drive).
#[derive(Debug)]
pub struct Reactor {
    /// The kernel queue (epoll or kqueue).
    poller: Poller,
    /// Live registrations. The slot index and the registration's generation
    /// form the token the kernel reports back.
    registrations: Mutex<Slab<Arc<ScheduledIo>>>,
    /// Registrations made and removed so far (written while holding
    /// `registrations`, so a load and a store each; read by anyone).
    registered: AtomicU64,
    deregistered: AtomicU64,
    /// Source of registration generations; starts at 1 so that no real token
    /// equals the backends' wake-up token (index and generation all ones).
    next_generation: AtomicU32,
    /// The reactor lock: held by whichever thread turns the reactor. Holds
    /// the event buffer and the scratch list of wakers to call once the
    /// slab lock is released.
    driver: Mutex<DriverState>,
    /// When a turn last ended, in microseconds since `epoch`.
    last_turn_us: AtomicU64,
    /// The reference point of `last_turn_us`.
    epoch: Instant,
    /// Turns so far, the readiness events they delivered, and the most one
    /// turn delivered: written only by the holder of `driver` (one turn at
    /// a time), with a `Relaxed` load and store each per turn (no
    /// read-modify-write); read by anyone ([`Reactor::turn_count`] and
    /// the others).
    turns: AtomicU64,
    ready: AtomicU64,
    max_ready: AtomicU64,
    /// The timing wheel: a turn waits no longer than its next deadline and
    /// fires what is due (see `time/mod.rs`).
    pub(crate) timers: Timers,
    /// The driving policy's shared state (see [`drive`](crate::drive)).
    pub(crate) drive: Policy,
}

#[derive(Debug)]
struct DriverState {
    events: Events,
    wakers: Vec<Waker>,
}

/// The right to turn the reactor: held by one thread at a time.
///
/// Obtained with [`Reactor::lock`] or [`Reactor::try_lock`]; released when
/// dropped.
#[derive(Debug)]
pub struct ReactorLock<'a> {
    reactor: &'a Reactor,
    state: MutexGuard<'a, DriverState>,
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
            if r.drive.thread_started() {
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
        crate::drive::start_thread(reactor)?;
        Ok(reactor)
    }

    pub(crate) fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poller: Poller::new()?,
            registrations: Mutex::new(Slab::new()),
            registered: AtomicU64::new(0),
            deregistered: AtomicU64::new(0),
            next_generation: AtomicU32::new(1),
            driver: Mutex::new(DriverState {
                events: Events::with_capacity(EVENTS_CAPACITY),
                wakers: Vec::with_capacity(64),
            }),
            last_turn_us: AtomicU64::new(0),
            epoch: Instant::now(),
            turns: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            max_ready: AtomicU64::new(0),
            timers: Timers::new(),
            drive: Policy::new(),
        })
    }

    /// Takes the reactor lock, waiting for the thread that holds it.
    pub fn lock(&self) -> ReactorLock<'_> {
        ReactorLock {
            reactor: self,
            state: self.driver.lock(),
        }
    }

    /// Takes the reactor lock if no other thread holds it.
    pub fn try_lock(&self) -> Option<ReactorLock<'_>> {
        Some(ReactorLock {
            reactor: self,
            state: self.driver.try_lock()?,
        })
    }

    /// Takes the reactor lock if it comes free within `timeout`.
    pub(crate) fn try_lock_for(&self, timeout: Duration) -> Option<ReactorLock<'_>> {
        Some(ReactorLock {
            reactor: self,
            state: self.driver.try_lock_for(timeout)?,
        })
    }

    /// Interrupts the thread waiting in [`ReactorLock::turn`], or makes the
    /// next turn's wait return at once.
    pub fn wake(&self) {
        // Failure would mean the eventfd/kqueue is gone; nothing to do.
        let _ = self.poller.notify();
    }

    /// How long ago a turn last ended (by any thread); one clock read.
    pub(crate) fn since_last_turn(&self) -> Duration {
        let now = self.epoch.elapsed().as_micros() as u64;
        Duration::from_micros(now.saturating_sub(self.last_turn_us.load(Ordering::Relaxed)))
    }

    /// Registers `fd` for edge-triggered readiness in both directions.
    ///
    /// The returned [`Registration`] deregisters the fd when it is dropped.
    ///
    /// # Safety
    ///
    /// The file descriptor must stay open until the returned
    /// [`Registration`] has been dropped. The registration deregisters by
    /// descriptor number: if the owner closed it first, the number may
    /// already belong to another file (opened by any thread), and the
    /// deregistration would remove that file from the reactor's kernel
    /// queue instead.
    ///
    /// # Errors
    ///
    /// Whatever the kernel reports (`EBADF`, `ENOMEM`, `EPERM` for regular
    /// files on epoll, `EEXIST` if the fd is registered already), or an
    /// error if 2^32 registrations are live.
    pub unsafe fn register(&'static self, fd: BorrowedFd<'_>) -> io::Result<Registration> {
        let fd = fd.as_raw_fd();
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
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(Registration::new(self, io, index, fd))
    }

    /// Removes a registration: deregisters the fd from the kernel, frees the
    /// slot and wakes every task parked on it.
    pub(crate) fn deregister(&self, io: &Arc<ScheduledIo>, index: usize, fd: std::os::fd::RawFd) {
        // The fd is still open here (`register`'s contract). An error means
        // the owner broke it; there is nothing to undo.
        let _ = self.poller.deregister(fd, token(index, io.generation));
        {
            let mut regs = self.registrations.lock();
            if regs.get(index).is_some_and(|r| Arc::ptr_eq(r, io)) {
                regs.remove(index);
                // Under the lock: no other writer.
                let n = self.deregistered.load(Ordering::Relaxed);
                self.deregistered.store(n + 1, Ordering::Relaxed);
            }
        }
        let mut wakers = Vec::new();
        io.shutdown(&mut wakers);
        wake_all(wakers.drain(..));
    }

    /// Turns of the reactor so far ([`ReactorLock::turn`] calls that
    /// waited, blocking or not, by any thread).
    pub fn turn_count(&self) -> u64 {
        self.turns.load(Ordering::Relaxed)
    }

    /// Readiness events delivered to live registrations so far (the sum of
    /// what [`ReactorLock::turn`] returned); stale events and wake-ups are
    /// not counted.
    pub fn ready_count(&self) -> u64 {
        self.ready.load(Ordering::Relaxed)
    }

    /// The most readiness events one turn has delivered.
    pub fn max_ready_per_turn(&self) -> u64 {
        self.max_ready.load(Ordering::Relaxed)
    }

    /// File descriptors registered so far (successful [`register`]
    /// calls).
    ///
    /// [`register`]: Reactor::register
    pub fn registered_count(&self) -> u64 {
        self.registered.load(Ordering::Relaxed)
    }

    /// Registrations removed so far (dropped [`Registration`]s).
    pub fn deregistered_count(&self) -> u64 {
        self.deregistered.load(Ordering::Relaxed)
    }

    /// How many registrations are live (for leak checks in tests).
    #[doc(hidden)]
    pub fn registration_count(&self) -> usize {
        self.registrations.lock().len()
    }
}

impl ReactorLock<'_> {
    /// Turns the reactor once: waits for events (at most `timeout`, and no
    /// longer than until the next timer deadline; `None` waits until an
    /// event, a deadline or a [`wake`](Reactor::wake)), sets readiness and
    /// wakes the tasks waiting for it, then fires the timers that are due.
    /// Returns how many I/O events were dispatched (fired timers are not
    /// counted).
    ///
    /// `skip_wait` is asked, after the wake-ups sent so far have been
    /// cleared and before blocking, whether to poll without blocking
    /// instead. That closes the gap between "nothing to do, let me wait"
    /// and the wait: a [`wake`](Reactor::wake) sent before `skip_wait` runs
    /// is seen by it (the waker set a flag of its own first), one sent after
    /// it interrupts the wait. Pass `|| false` to wait as asked.
    ///
    /// # Errors
    ///
    /// Only errors of the wait system call itself (`EINTR` is retried with
    /// the time that remains).
    pub fn turn(
        &mut self,
        timeout: Option<Duration>,
        skip_wait: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let reactor = self.reactor;
        reactor.poller.clear_wakeups();
        let timeout = if skip_wait() {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let DriverState { events, wakers } = &mut *self.state;
        // Timers: wait no longer than the next deadline (rounded up to whole
        // milliseconds), and record when this wait ends so that a timer
        // registered meanwhile for an earlier tick interrupts it (`wake`).
        let timeout = reactor.timers.begin_wait(timeout);
        reactor.poller.wait(events, timeout)?;
        let mut dispatched = 0;
        {
            let regs = reactor.registrations.lock();
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
        // The counters: only the lock holder writes them (see the fields).
        let n = dispatched as u64;
        reactor.turns.store(
            reactor.turns.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        if n > 0 {
            reactor.ready.store(
                reactor.ready.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
            if n > reactor.max_ready.load(Ordering::Relaxed) {
                reactor.max_ready.store(n, Ordering::Relaxed);
            }
        }
        // Timers: fire every one that is due, in batches, waking each batch
        // after the wheel lock is released (a waker may touch timers).
        let now = Instant::now();
        while reactor.timers.process(now, wakers) {
            wake_all(wakers.drain(..));
        }
        wake_all(wakers.drain(..));
        reactor.last_turn_us.store(
            reactor.epoch.elapsed().as_micros() as u64,
            Ordering::Relaxed,
        );
        Ok(dispatched)
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
        let n = reactor
            .lock()
            .turn(Some(Duration::from_secs(5)), || false)
            .unwrap();
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
        let n = reactor
            .lock()
            .turn(Some(Duration::from_secs(5)), || false)
            .unwrap();
        assert_eq!(n, 1);
        assert!(io.readiness().is_writable());
        // Two turns, one event delivered (the stale one is not counted).
        assert_eq!(reactor.turn_count(), 2);
        assert_eq!(reactor.ready_count(), 1);
        assert_eq!(reactor.max_ready_per_turn(), 1);
        reactor
            .poller
            .deregister(a.as_raw_fd(), token(index, 5))
            .unwrap();
    }
}
