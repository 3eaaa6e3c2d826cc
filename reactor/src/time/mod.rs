//! Timers: a hierarchical timing wheel owned by the reactor.
//!
//! The reactor's single entry point, [`Reactor::turn`], drives the timers
//! too: before it waits it asks [`Timers::begin_wait`] for the effective
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
//!   ([`STALL_GUARD`](crate::STALL_GUARD)), holding no lock. If no thread is
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
    /// How many timers are registered and not yet fired (for leak checks in
    /// tests).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::{Context, Wake};

    use crate::TimerEntry;

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count::default());
        (c.clone(), Waker::from(c))
    }

    fn count(c: &Count) -> usize {
        c.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn ticks_round_deadlines_up_and_now_down() {
        let t = Timers::new();
        let e = t.epoch;
        assert_eq!(t.deadline_tick(e), 0);
        assert_eq!(t.deadline_tick(e + Duration::from_nanos(1)), 1);
        assert_eq!(t.deadline_tick(e + Duration::from_micros(500)), 1);
        assert_eq!(t.deadline_tick(e + Duration::from_millis(1)), 1);
        assert_eq!(t.deadline_tick(e + Duration::from_micros(1001)), 2);
        assert_eq!(t.now_tick(e + Duration::from_micros(1999)), 1);
        assert_eq!(t.now_tick(e + Duration::from_millis(2)), 2);
        assert_eq!(t.deadline_tick(e + Duration::from_secs(2)), 2000);
        assert_eq!(t.deadline_tick(e + Duration::new(2, 1)), 2001);
        assert_eq!(t.deadline_tick(e + Duration::new(2, 999_000_001)), 3000);
        assert_eq!(t.now_tick(e + Duration::new(2, 999_999_999)), 2999);
        // Before the epoch: already due.
        if let Some(before) = e.checked_sub(Duration::from_secs(1)) {
            assert_eq!(t.deadline_tick(before), 0);
        }
        assert_eq!(
            round_up_to_millis(Duration::from_micros(1)),
            Duration::from_millis(1)
        );
        assert_eq!(round_up_to_millis(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn register_fire_and_cancel() {
        let t = Timers::new();
        let (c, waker) = counter();
        let a = pin!(Node::new());
        let b = pin!(Node::new());
        // SAFETY: both nodes are cancelled before they go out of scope and
        // only used with `t`.
        unsafe {
            assert_eq!(t.poll_node(a.as_ref(), 5, &waker).0, Poll::Pending);
            assert_eq!(t.poll_node(b.as_ref(), 9, &waker).0, Poll::Pending);
            assert_eq!(t.len(), 2);
            let mut w = Vec::new();
            assert!(!t.process_tick(4, &mut w));
            assert!(w.is_empty());
            assert!(!t.process_tick(5, &mut w));
            assert_eq!(w.len(), 1);
            w.drain(..).for_each(Waker::wake);
            assert_eq!(count(&c), 1);
            assert!(a.is_fired());
            assert_eq!(t.poll_node(a.as_ref(), 5, &waker).0, Poll::Ready(()));
            // Cancel the other before it fires.
            t.cancel_node(b.as_ref());
            assert_eq!(t.len(), 0);
            assert!(!t.process_tick(100, &mut w));
            assert!(w.is_empty());
            // A deadline that has passed is ready at once, never linked.
            let c2 = pin!(Node::new());
            assert_eq!(t.poll_node(c2.as_ref(), 50, &waker).0, Poll::Ready(()));
            assert_eq!(t.len(), 0);
            t.cancel_node(a.as_ref());
            t.cancel_node(c2.as_ref());
        }
    }

    #[test]
    fn a_new_waker_replaces_the_old_one() {
        let t = Timers::new();
        let (c1, w1) = counter();
        let (c2, w2) = counter();
        let a = pin!(Node::new());
        // SAFETY: cancelled before it goes out of scope; only used with `t`.
        unsafe {
            assert!(t.poll_node(a.as_ref(), 3, &w1).0.is_pending());
            assert!(t.poll_node(a.as_ref(), 3, &w2).0.is_pending());
            let mut w = Vec::new();
            t.process_tick(3, &mut w);
            w.drain(..).for_each(Waker::wake);
            t.cancel_node(a.as_ref());
        }
        assert_eq!((count(&c1), count(&c2)), (0, 1));
    }

    #[test]
    fn reset_moves_refires_and_fires_past_deadlines() {
        let t = Timers::new();
        let (c, waker) = counter();
        let a = pin!(Node::new());
        let mut w = Vec::new();
        // SAFETY: cancelled before it goes out of scope; only used with `t`.
        unsafe {
            assert!(t.poll_node(a.as_ref(), 10, &waker).0.is_pending());
            // Later: keeps the registration (and waker).
            t.reset_node(a.as_ref(), 20);
            t.process_tick(15, &mut w);
            assert!(w.is_empty());
            // Earlier.
            t.reset_node(a.as_ref(), 16);
            t.process_tick(16, &mut w);
            assert_eq!(w.len(), 1);
            w.drain(..).for_each(Waker::wake);
            assert!(a.is_fired());
            // Reset after firing: idle until polled again.
            t.reset_node(a.as_ref(), 30);
            assert!(!a.is_fired());
            assert_eq!(t.len(), 0);
            assert!(t.poll_node(a.as_ref(), 30, &waker).0.is_pending());
            // Into the past: fired and woken at once.
            t.reset_node(a.as_ref(), 1);
            assert!(a.is_fired());
            assert_eq!(count(&c), 2);
            assert_eq!(t.len(), 0);
            t.cancel_node(a.as_ref());
        }
    }

    #[test]
    fn only_an_earlier_deadline_asks_to_interrupt_the_wait() {
        let t = Timers::new();
        let waker = Waker::noop();
        let (a, b, c) = (pin!(Node::new()), pin!(Node::new()), pin!(Node::new()));
        // SAFETY: cancelled before they go out of scope; only used with `t`.
        unsafe {
            // Nobody waits or naps: nobody to wake.
            assert_eq!(t.poll_node(a.as_ref(), 1000, waker).1, Notify::Nobody);
            // A waiter blocks until the wheel's next slot: tick 1000 sits in
            // the level-1 slot that starts at tick 960 (where it cascades).
            let timeout = t.begin_wait(None).unwrap();
            assert!(timeout > Duration::from_millis(900));
            assert_eq!(t.locked.lock().driver_until, 960);
            // The watcher naps without timer duty while a driver waits.
            assert_eq!(
                t.begin_watch(Duration::from_millis(10)),
                Duration::from_millis(10)
            );
            assert_eq!(t.locked.lock().watcher_until, 0);
            let later = t.poll_node(b.as_ref(), 2000, waker).1;
            assert_eq!(later, Notify::Nobody, "later than the wait: no wake");
            let earlier = t.poll_node(c.as_ref(), 500, waker).1;
            assert_eq!(earlier, Notify::Driver, "earlier than the wait: wake");
            // After the turn, nobody waits.
            t.process(Instant::now(), &mut Vec::new());
            assert_eq!(t.reset_node(c.as_ref(), 400), Notify::Nobody);
            // A zero timeout is a poll, not a wait.
            assert_eq!(t.begin_wait(Some(Duration::ZERO)), Some(Duration::ZERO));
            assert_eq!(t.locked.lock().driver_until, 0);
            // A short requested timeout ends the wait before any timer.
            let d = t.begin_wait(Some(Duration::from_millis(5))).unwrap();
            assert_eq!(d, Duration::from_millis(5));
            assert!(t.locked.lock().driver_until < 300);
            for n in [&a, &b, &c] {
                t.cancel_node(n.as_ref());
            }
        }
    }

    #[test]
    fn the_watcher_naps_until_the_next_deadline_when_nobody_waits() {
        let t = Timers::new();
        let waker = Waker::noop();
        let (a, b) = (pin!(Node::new()), pin!(Node::new()));
        let stall = Duration::from_millis(10);
        // SAFETY: cancelled before they go out of scope; only used with `t`.
        unsafe {
            // No timers: nap for the stall check, with timer duty.
            assert_eq!(t.begin_watch(stall), stall);
            let until = t.locked.lock().watcher_until;
            assert!(until >= 10, "{until}");
            // A timer due before the nap ends unparks the watcher...
            assert_eq!(t.poll_node(a.as_ref(), 3, waker).1, Notify::Watcher);
            // ...a later one does not.
            assert_eq!(t.poll_node(b.as_ref(), 5000, waker).1, Notify::Nobody);
            assert!(!t.end_watch());
            assert_eq!(t.locked.lock().watcher_until, 0);
            // The next nap ends at the first deadline (tick 3).
            let nap = t.begin_watch(stall);
            assert!(nap <= Duration::from_millis(3), "{nap:?}");
            assert_eq!(t.locked.lock().watcher_until, 3);
            // Due once tick 3 has begun.
            std::thread::sleep(nap);
            while !t.end_watch() {
                std::thread::sleep(Duration::from_micros(100));
            }
            t.cancel_node(a.as_ref());
            t.cancel_node(b.as_ref());
        }
    }

    #[test]
    fn many_timers_fire_in_batches() {
        let t = Timers::new();
        let (c, waker) = counter();
        let nodes: Vec<_> = (0..1000).map(|_| Box::pin(Node::new())).collect();
        // SAFETY: all cancelled below, before they are dropped.
        unsafe {
            for (i, n) in nodes.iter().enumerate() {
                assert!(t
                    .poll_node(n.as_ref(), 1 + i as u64 % 7, &waker)
                    .0
                    .is_pending());
            }
            let mut w = Vec::new();
            let mut batches = 0;
            while t.process_tick(10, &mut w) {
                assert_eq!(w.len(), FIRE_BATCH);
                w.drain(..).for_each(Waker::wake);
                batches += 1;
            }
            w.drain(..).for_each(Waker::wake);
            assert_eq!(batches, 1000 / FIRE_BATCH);
            for n in &nodes {
                t.cancel_node(n.as_ref());
            }
        }
        assert_eq!(count(&c), 1000);
    }

    /// A timer registered by another thread while a thread is blocked in
    /// `turn(None)` (no timeout at all) interrupts that wait, and fires.
    #[test]
    fn an_earlier_timer_interrupts_a_blocked_turn() {
        let reactor: &'static Reactor = Box::leak(Box::new(Reactor::new().unwrap()));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Returns only when interrupted (no I/O, no timers yet).
            reactor.turn(None).unwrap();
            // Then waits for the timer and fires it.
            while reactor.timer_count() > 0 {
                reactor.turn(None).unwrap();
            }
            done_tx.send(()).unwrap();
        });
        // Let the waiter block first (not needed for correctness).
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        let deadline = start + Duration::from_millis(30);
        let mut timer = pin!(TimerEntry::new_in(reactor, deadline));
        let (c, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        assert!(timer.as_mut().poll_elapsed(&mut cx).is_pending());
        // A hang guard, not a timing bound.
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the blocked turn was never interrupted");
        assert!(Instant::now() >= deadline);
        assert!(timer.is_elapsed());
        assert_eq!(count(&c), 1);
        assert!(timer.as_mut().poll_elapsed(&mut cx).is_ready());
    }

    /// Dropping a registered entry unlinks it.
    #[test]
    fn dropping_an_entry_cancels_it() {
        let reactor: &'static Reactor = Box::leak(Box::new(Reactor::new().unwrap()));
        let mut cx = Context::from_waker(Waker::noop());
        {
            let deadline = Instant::now() + Duration::from_secs(3600);
            let mut timer = pin!(TimerEntry::new_in(reactor, deadline));
            assert!(timer.as_mut().poll_elapsed(&mut cx).is_pending());
            assert_eq!(reactor.timer_count(), 1);
            let later = deadline + Duration::from_secs(1);
            timer.as_mut().reset(later);
            assert_eq!(timer.deadline(), later);
            assert_eq!(reactor.timer_count(), 1);
        }
        assert_eq!(reactor.timer_count(), 0);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn flag() -> (std::sync::Arc<Flag>, Waker) {
        let f = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        (f.clone(), Waker::from(f))
    }

    /// What the reactor does after a wait: fire everything due at `tick`.
    fn fire(t: &Timers, tick: u64) {
        let mut w = Vec::new();
        while t.process_tick(tick, &mut w) {
            w.drain(..).for_each(Waker::wake);
        }
        w.drain(..).for_each(Waker::wake);
    }

    /// The owner touches the node's data as its own (as freeing it would):
    /// loom reports it if the firing thread may still be accessing it.
    fn owner_reclaims(node: &Node) {
        // SAFETY: called only once the node is IDLE or FIRED, when the
        // owner may touch it without the lock (state rules); loom checks
        // exactly that claim.
        node.data
            .with_mut(|d| unsafe { assert!((*d).waker.is_none()) });
    }

    /// Firing races cancelling (dropping a `Sleep`): the node is unlinked
    /// exactly once, and once `cancel_node` returns the firing thread no
    /// longer touches it.
    #[test]
    fn loom_fire_vs_cancel() {
        loom::model(|| {
            let t = Arc::new(Timers::new());
            let node = Box::pin(Node::new());
            let (_f, waker) = flag();
            // SAFETY: cancelled below, before it is dropped; only used with `t`.
            unsafe { assert!(t.poll_node(node.as_ref(), 1, &waker).0.is_pending()) };
            let t2 = t.clone();
            let reactor = loom::thread::spawn(move || fire(&t2, 5));
            // SAFETY: as above.
            unsafe { t.cancel_node(node.as_ref()) };
            owner_reclaims(&node);
            drop(node);
            reactor.join().unwrap();
            assert_eq!(t.len(), 0);
        });
    }

    /// Firing races a poll with a new waker: if that poll returns `Pending`,
    /// the new waker is the one woken (no lost wake-up).
    #[test]
    fn loom_fire_vs_new_waker() {
        loom::model(|| {
            let t = Arc::new(Timers::new());
            let node = Box::pin(Node::new());
            let (_f1, w1) = flag();
            let (f2, w2) = flag();
            // SAFETY: cancelled below; only used with `t`.
            unsafe { assert!(t.poll_node(node.as_ref(), 1, &w1).0.is_pending()) };
            let t2 = t.clone();
            let reactor = loom::thread::spawn(move || fire(&t2, 5));
            // SAFETY: as above.
            let pending = unsafe { t.poll_node(node.as_ref(), 1, &w2).0.is_pending() };
            reactor.join().unwrap();
            if pending {
                assert!(f2.0.load(Ordering::SeqCst), "lost wake-up");
            }
            assert!(node.is_fired());
            owner_reclaims(&node);
            // SAFETY: as above.
            unsafe { t.cancel_node(node.as_ref()) };
        });
    }

    /// Firing races a reset to a later deadline: either it fired first (the
    /// reset makes it idle, the next poll registers it again) or the reset
    /// moved it first (it does not fire); either way it ends up registered
    /// once, for the new deadline.
    #[test]
    fn loom_fire_vs_reset() {
        loom::model(|| {
            let t = Arc::new(Timers::new());
            let node = Box::pin(Node::new());
            let (_f, waker) = flag();
            // SAFETY: cancelled below; only used with `t`.
            unsafe { assert!(t.poll_node(node.as_ref(), 1, &waker).0.is_pending()) };
            let t2 = t.clone();
            let reactor = loom::thread::spawn(move || fire(&t2, 5));
            // SAFETY: as above.
            unsafe { t.reset_node(node.as_ref(), 10) };
            reactor.join().unwrap();
            // SAFETY: as above.
            let poll = unsafe { t.poll_node(node.as_ref(), 10, &waker).0 };
            assert!(poll.is_pending(), "tick 10 has not come");
            assert_eq!(t.len(), 1);
            // SAFETY: as above.
            unsafe { t.cancel_node(node.as_ref()) };
            assert_eq!(t.len(), 0);
            owner_reclaims(&node);
        });
    }

    /// A thread about to block computes its timeout while another registers
    /// a timer: either the waiter's timeout accounts for the timer, or the
    /// registering thread is told to interrupt the wait.
    #[test]
    fn loom_register_vs_begin_wait() {
        loom::model(|| {
            let t = Arc::new(Timers::new());
            let t2 = t.clone();
            let waiter = loom::thread::spawn(move || t2.begin_wait(None));
            let node = Box::pin(Node::new());
            // SAFETY: cancelled below; only used with `t`.
            let wake = unsafe { t.poll_node(node.as_ref(), 100_000, Waker::noop()).1 };
            let timeout = waiter.join().unwrap();
            assert!(
                wake == Notify::Driver || timeout.is_some(),
                "the waiter would sleep forever"
            );
            // SAFETY: as above.
            unsafe { t.cancel_node(node.as_ref()) };
        });
    }
}
