//! Timers: a hierarchical timing wheel owned by the reactor.
//!
//! A turn of the reactor ([`ReactorLock::turn`](crate::ReactorLock::turn))
//! drives the timers too: before it waits it asks [`Timers::begin_wait`] for the effective
//! timeout (the requested one, shortened to the next deadline), and after it
//! has dispatched I/O it calls [`Timers::process`] to fire every timer that
//! is due. There is no timer thread.
//!
//! # Implementation
//!
//! - **Wheel** ([`wheel`]): six levels of 64 slots, 1 ms per tick, after
//!   Varghese and Lauck's hierarchical timing wheels (SOSP 1987). O(1)
//!   insert and cancel; deadlines beyond the top level (~2.2 years) ride
//!   the top level round by round.
//! - **Entries** ([`entry`]): intrusive and allocation-free. The node lives
//!   inside the pinned future that waits for it; the wheel's slots are
//!   doubly linked lists through those nodes, so cancelling (dropping an
//!   unfired `Sleep`) is an O(1) unlink under the wheel lock and frees
//!   nothing because nothing was allocated.
//! - **Rounding**: a deadline becomes the first tick at or after it
//!   ([`Timers::deadline_tick`], rounded up), and the current time the last
//!   tick that has fully begun (rounded down), so a timer never fires before
//!   its deadline. Wait timeouts are rounded up to whole milliseconds: a
//!   500 µs sleep waits about 1 ms, it never turns into a zero-timeout
//!   busy loop.
//! - **Locks**: one mutex guards the wheel and every linked node. Wakers
//!   are cloned before it is taken, and taken out (never called or dropped)
//!   while it is held: `process` collects up to [`FIRE_BATCH`] of them,
//!   releases the lock and only then does the reactor wake them, so a waker
//!   (user code) may create, reset or drop timers without deadlocking.
//! - **Interrupting the wait**: the thread blocked in `turn` records, under
//!   the wheel lock, the tick it will wake at by itself (`driver_until`).
//!   Registering a timer due *before* that tick asks the caller to
//!   [`wake`](Reactor::wake) the reactor; a later one does not (the waiter
//!   recomputes its timeout when it next waits anyway). Because both sides
//!   read and write that tick under the same lock, either the waiter sees
//!   the new timer when it computes its timeout, or the registering thread
//!   sees the waiter's tick and wakes it.
//! - **The watcher**: while schedulers drive the reactor themselves, the
//!   reactor thread only naps between stall checks
//!   (every 10 ms, [`drive`](crate::drive)), holding no lock. If no thread is
//!   blocked in `turn` when it starts a nap (every worker busy, or parked
//!   off the reactor), it has timer duty: it naps no longer than the next
//!   deadline ([`Timers::begin_watch`]) and a timer due before the end of its
//!   nap unparks it (`watcher_until`, same rule as above). So timers fire on
//!   time whether a worker waits in the reactor or nobody does.

pub(crate) mod entry;
pub(crate) mod wheel;

use std::fmt;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::task::{Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use self::entry::{Node, FIRED, IDLE, REGISTERED};
use self::wheel::{data, Wheel};
use crate::sync::{Mutex, Ordering};
use crate::Reactor;

/// Wakers collected per lock hold while firing: bounds how long the wheel
/// lock is held when many timers expire at once.
pub(crate) const FIRE_BATCH: usize = 128;

const NANOS_PER_TICK: u128 = 1_000_000;

/// The wheel and what the sleeping threads told it.
struct Locked {
    wheel: Wheel,
    /// The tick at which the thread blocked in `turn` returns by itself:
    /// `u64::MAX` if it waits without timeout, 0 if no thread is blocked.
    /// A timer due before it must interrupt the wait.
    driver_until: u64,
    /// The tick at which the napping reactor thread (the watcher) wakes by
    /// itself if it has timer duty; 0 when it is not napping or has no
    /// timer duty. A timer due before it must unpark the watcher (when no
    /// thread is blocked in `turn`).
    watcher_until: u64,
}

/// Whom a caller must wake after registering or moving a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Nobody: whoever fires timers next will see it in time.
    Nobody,
    /// The thread blocked in `turn`: [`Reactor::wake`].
    Driver,
    /// The napping reactor thread: [`Timers::wake_watcher`].
    Watcher,
}

impl Locked {
    /// The wake-up rule for a timer newly due at tick `when` (see the
    /// module docs).
    fn wake_for(&self, when: u64) -> Notify {
        if when < self.driver_until {
            Notify::Driver
        } else if self.driver_until == 0 && when < self.watcher_until {
            Notify::Watcher
        } else {
            Notify::Nobody
        }
    }
}

/// The reactor's timers (see the module docs).
pub(crate) struct Timers {
    /// The wheel; its lock also guards the data of every linked node.
    locked: Mutex<Locked>,
    /// Tick 0: ticks are milliseconds since this instant.
    epoch: Instant,
    /// The reactor thread, recorded by its first nap, to unpark it.
    watcher: OnceLock<Thread>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            locked: Mutex::new(Locked {
                wheel: Wheel::new(),
                driver_until: 0,
                watcher_until: 0,
            }),
            epoch: Instant::now(),
            watcher: OnceLock::new(),
        }
    }

    /// The first tick at or after `deadline` (rounded up, so that firing at
    /// that tick is never early). Deadlines before the epoch are tick 0,
    /// which has always passed.
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.epoch);
        // Whole seconds are whole ticks: only the sub-second part rounds
        // (and this avoids a 128-bit division on every insert).
        let sub = d.subsec_nanos().div_ceil(NANOS_PER_TICK as u32);
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(sub))
    }

    /// The last tick that has fully begun at `now` (rounded down).
    fn now_tick(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.epoch);
        let sub = d.subsec_nanos() / NANOS_PER_TICK as u32;
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(sub))
    }

    /// When tick `tick` begins, or `None` if that is not representable.
    fn tick_instant(&self, tick: u64) -> Option<Instant> {
        self.epoch.checked_add(Duration::from_millis(tick))
    }

    /// How many timers are registered (linked into the wheel).
    pub(crate) fn len(&self) -> usize {
        self.locked.lock().wheel.len()
    }

    /// Called by the thread about to block in `turn` with `requested` as
    /// timeout (`None`: forever): returns the timeout to wait with, which is
    /// `requested` shortened to the next timer deadline (rounded up to whole
    /// milliseconds), and records when the wait will end, so that an
    /// earlier new timer interrupts it.
    ///
    /// A zero `requested` timeout (a non-blocking poll) is returned as is,
    /// without touching the lock.
    pub(crate) fn begin_wait(&self, requested: Option<Duration>) -> Option<Duration> {
        if requested == Some(Duration::ZERO) {
            return requested;
        }
        let mut locked = self.locked.lock();
        let now = Instant::now();
        let mut timeout = requested;
        let mut until = match requested {
            None => u64::MAX,
            Some(d) => now
                .checked_add(d)
                .map_or(u64::MAX, |end| self.deadline_tick(end)),
        };
        if let Some(tick) = locked.wheel.next_expiration_tick() {
            if tick < until {
                until = tick;
                timeout = Some(match self.tick_instant(tick) {
                    Some(at) => round_up_to_millis(at.saturating_duration_since(now)),
                    None => Duration::MAX,
                });
            }
        }
        locked.driver_until = if timeout == Some(Duration::ZERO) {
            0
        } else {
            until
        };
        timeout
    }

    /// Fires the timers due at `now`: takes their wakers into `wakers` (at
    /// most [`FIRE_BATCH`] of them) and marks them fired. Returns `true` if
    /// it stopped at the batch limit: the caller wakes `wakers`, outside
    /// any lock, and calls again with the same `now`.
    ///
    /// Also records that no thread is blocked in `turn` any more.
    pub(crate) fn process(&self, now: Instant, wakers: &mut Vec<Waker>) -> bool {
        self.process_tick(self.now_tick(now), wakers)
    }

    /// [`process`](Timers::process) at tick `now`.
    pub(crate) fn process_tick(&self, now: u64, wakers: &mut Vec<Waker>) -> bool {
        let mut locked = self.locked.lock();
        locked.driver_until = 0;
        let mut fired = 0;
        while fired < FIRE_BATCH {
            // SAFETY: the lock is held; the wheel's invariants hold.
            let Some(node) = (unsafe { locked.wheel.poll(now) }) else {
                return false;
            };
            fired += 1;
            // SAFETY: `poll` just unlinked `node`. It is live: its owner
            // unlinks it under this lock before dropping it, and sees
            // `REGISTERED` until the store below. The lock is held, which
            // guards its data.
            unsafe {
                let node = node.as_ref();
                if let Some(w) = node.data.with_mut(|d| (*d).waker.take()) {
                    wakers.push(w);
                }
                // The last access to the node: an owner that sees FIRED may
                // free it at once (entry.rs, state rules).
                node.state.store(FIRED, Ordering::Release);
            }
        }
        true
    }

    /// Called by the reactor thread before it naps between stall checks
    /// (for at most `stall`): returns how long to nap. If no thread is
    /// blocked in `turn`, the watcher takes timer duty: the nap ends at the
    /// next deadline (rounded up), and registering an earlier timer unparks
    /// it ([`Notify::Watcher`]).
    pub(crate) fn begin_watch(&self, stall: Duration) -> Duration {
        let _ = self.watcher.get_or_init(std::thread::current);
        let mut locked = self.locked.lock();
        if locked.driver_until != 0 {
            // A thread waits in `turn`: it fires timers (and is interrupted
            // for earlier ones).
            locked.watcher_until = 0;
            return stall;
        }
        let now = Instant::now();
        let mut nap = stall;
        let mut until = now
            .checked_add(stall)
            .map_or(u64::MAX, |end| self.deadline_tick(end));
        if let Some(tick) = locked.wheel.next_expiration_tick() {
            if tick < until {
                until = tick;
                nap = self.tick_instant(tick).map_or(stall, |at| {
                    round_up_to_millis(at.saturating_duration_since(now))
                });
            }
        }
        // Never 0: a zero `until` means "no timer duty".
        locked.watcher_until = until.max(1);
        nap
    }

    /// Ends a nap begun with [`begin_watch`](Timers::begin_watch); returns
    /// whether a timer is due now (the watcher then fires it, if no other
    /// thread is driving).
    pub(crate) fn end_watch(&self) -> bool {
        let mut locked = self.locked.lock();
        locked.watcher_until = 0;
        let now = self.now_tick(Instant::now());
        locked
            .wheel
            .next_expiration_tick()
            .is_some_and(|tick| tick <= now)
    }

    /// Unparks the napping reactor thread (see [`Notify::Watcher`]).
    pub(crate) fn wake_watcher(&self) {
        if let Some(t) = self.watcher.get() {
            t.unpark();
        }
    }

    /// The owner's poll: `Ready` if the node fired (or its tick `when` has
    /// passed already), otherwise registers it (or updates its waker) and
    /// returns `Pending`, with whom the caller must wake (a new deadline
    /// earlier than the end of the current wait, see [`Notify`]).
    ///
    /// # Safety
    ///
    /// `node` is only ever used with this `Timers`, only by one owner at a
    /// time (no concurrent `poll_node`/`reset_node`/`cancel_node` on it),
    /// and [`cancel_node`](Timers::cancel_node) is called on it before it
    /// is dropped.
    pub(crate) unsafe fn poll_node(
        &self,
        node: Pin<&Node>,
        when: u64,
        waker: &Waker,
    ) -> (Poll<()>, Notify) {
        let node = node.get_ref();
        match node.state.load(Ordering::Acquire) {
            FIRED => return (Poll::Ready(()), Notify::Nobody),
            IDLE => return self.register(node, when, waker.clone()),
            _ => {}
        }
        let ptr = NonNull::from(node);
        {
            let locked = self.locked.lock();
            if node.state.load(Ordering::Relaxed) == FIRED {
                return (Poll::Ready(()), Notify::Nobody);
            }
            // SAFETY: REGISTERED under the lock: linked, live, guarded.
            let same = unsafe {
                data(ptr, |d| {
                    d.waker.as_ref().is_some_and(|w| w.will_wake(waker))
                })
            };
            drop(locked);
            if same {
                return (Poll::Pending, Notify::Nobody);
            }
        }
        // A new waker: clone it outside the lock (user code), then swap.
        let new = waker.clone();
        let old = {
            let _locked = self.locked.lock();
            if node.state.load(Ordering::Relaxed) == FIRED {
                return (Poll::Ready(()), Notify::Nobody);
            }
            // SAFETY: as above.
            unsafe { data(ptr, |d| d.waker.replace(new)) }
        };
        drop(old);
        (Poll::Pending, Notify::Nobody)
    }

    /// Registers an `IDLE` node for tick `when` with `waker`.
    fn register(&self, node: &Node, when: u64, waker: Waker) -> (Poll<()>, Notify) {
        let ptr = NonNull::from(node);
        let mut locked = self.locked.lock();
        if when <= locked.wheel.elapsed() {
            // Already due: never linked.
            node.state.store(FIRED, Ordering::Relaxed);
            drop(locked);
            return (Poll::Ready(()), Notify::Nobody);
        }
        // SAFETY: IDLE: the node is in no list and only its owner (our
        // caller) reaches it; the lock is held. The caller's contract keeps
        // it live and pinned until `cancel_node` unlinks it under this lock.
        unsafe {
            data(ptr, |d| d.waker = Some(waker));
            let linked = locked.wheel.insert(ptr, when);
            debug_assert!(linked);
        }
        node.state.store(REGISTERED, Ordering::Relaxed);
        (Poll::Pending, locked.wake_for(when))
    }

    /// Moves the node's deadline to tick `when`, keeping its registration
    /// and waker if it is registered; a fired node becomes `IDLE` (the next
    /// poll registers it). Returns whom the caller must wake.
    ///
    /// # Safety
    ///
    /// As for [`poll_node`](Timers::poll_node).
    pub(crate) unsafe fn reset_node(&self, node: Pin<&Node>, when: u64) -> Notify {
        let node = node.get_ref();
        match node.state.load(Ordering::Acquire) {
            IDLE => return Notify::Nobody,
            FIRED => {
                // Nobody else reaches a fired node (state rules).
                node.state.store(IDLE, Ordering::Relaxed);
                return Notify::Nobody;
            }
            _ => {}
        }
        let ptr = NonNull::from(node);
        let mut locked = self.locked.lock();
        if node.state.load(Ordering::Relaxed) == FIRED {
            node.state.store(IDLE, Ordering::Relaxed);
            return Notify::Nobody;
        }
        // SAFETY: REGISTERED under the lock: linked in this wheel (caller's
        // contract: only used with this `Timers`), live, guarded.
        unsafe {
            if data(ptr, |d| d.when) == when {
                return Notify::Nobody;
            }
            locked.wheel.remove(ptr);
            if locked.wheel.insert(ptr, when) {
                return locked.wake_for(when);
            }
        }
        // Moved into the past: fire it now.
        node.state.store(FIRED, Ordering::Relaxed);
        // SAFETY: unlinked, still ours; the lock is held.
        let waker = unsafe { data(ptr, |d| d.waker.take()) };
        drop(locked);
        if let Some(w) = waker {
            w.wake();
        }
        Notify::Nobody
    }

    /// Unlinks the node if it is registered (a no-op otherwise).
    ///
    /// # Safety
    ///
    /// As for [`poll_node`](Timers::poll_node).
    pub(crate) unsafe fn cancel_node(&self, node: Pin<&Node>) {
        let node = node.get_ref();
        // IDLE and FIRED are stable without the lock (only the owner, our
        // caller, leaves them), and the wheel holds no pointer to the node.
        if node.state.load(Ordering::Acquire) != REGISTERED {
            return;
        }
        let ptr = NonNull::from(node);
        let waker = {
            let mut locked = self.locked.lock();
            if node.state.load(Ordering::Relaxed) != REGISTERED {
                return;
            }
            // SAFETY: REGISTERED under the lock: linked in this wheel,
            // live, guarded.
            unsafe {
                locked.wheel.remove(ptr);
                node.state.store(IDLE, Ordering::Relaxed);
                data(ptr, |d| d.waker.take())
            }
        };
        // Dropped outside the lock: a waker's drop is user code.
        drop(waker);
    }
}

/// Rounds `d` up to whole milliseconds (the wheel's resolution).
fn round_up_to_millis(d: Duration) -> Duration {
    let millis = d.as_nanos().div_ceil(NANOS_PER_TICK);
    Duration::from_millis(millis.min(u128::from(u64::MAX)) as u64)
}

impl Reactor {
    /// How many timers are registered and not yet fired (or cancelled):
    /// every pending `sleep` of the process that was polled at least once.
    /// Takes the wheel's lock for a moment.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests;

#[cfg(all(test, runtime_loom))]
mod loom_tests;
