//! The shared state of one registration: readiness bits and a tick per
//! direction, one fast waker slot per direction, and a list of any number
//! of waiting futures.
//!
//! # Protocol
//!
//! The reactor calls [`ScheduledIo::set_readiness`] (an atomic OR that also
//! bumps the tick of every direction it touches) and *then* takes, under the
//! waiter lock, the waker slots of those directions and every listed waiter
//! whose interest includes one of them. A task calls
//! [`ScheduledIo::poll_ready`] (or polls a [`Readiness`] future): it checks
//! the readiness word, and if nothing is ready it stores its waker (in the
//! slot, or by linking its waiter) under the same lock and checks the word
//! *again* before returning `Pending`. Either the reactor's update is
//! visible to that second check, or the reactor takes the lock after the
//! waker was stored and wakes it: a wake-up cannot be lost. (The loom models
//! `loom_readiness_vs_waker` and `loom_waiters_wake_all_and_cancel` below
//! check this.)
//!
//! Readiness is cleared only by an operation that proved the kernel queue
//! drained, through [`ScheduledIo::clear_readiness`], and only if the tick of
//! its direction is still the one it observed: an event that arrived in
//! between is kept.
//!
//! # Many waiters
//!
//! The fast slot holds one waker per direction: it serves the `poll_*`
//! methods, where (as with tokio's `poll_read_ready`) only the most recent
//! task to poll a direction is woken. The `async` waits ([`Readiness`]) link
//! a waiter node that lives inside the waiting future into an intrusive list
//! instead (no allocation per wait), so any number of tasks can wait on one
//! direction of one socket: readiness wakes *all* of those whose interest it
//! touches, and each re-checks for itself. A woken waiter is unlinked by the
//! reactor, so a future dropped after its wake-up (before it could act on
//! it) has nothing to hand over: everybody else was woken by the same event,
//! and the readiness it saw is still set for the next poll. A future dropped
//! while linked unlinks itself under the lock.
//!
//! # Identity of a snapshot
//!
//! A [`ReadyEvent`] carries the generation of its registration and the
//! 55-bit tick of its direction. A snapshot handed to another registration
//! (even one in the same slab slot) is ignored by its `clear_readiness`,
//! and a tick cannot come round again: at ten million events a second on
//! one direction of one socket, 2^55 events take over a century. Both are
//! needed: the generation guards identity, the width guards time; the tick
//! alone (24 bits, per direction, shared with the ready bits in one word)
//! once wrapped after 16 million events.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll, Waker};

use crate::linked_list::{Link, List, Pointers};
use crate::sync::{AtomicU64, Mutex, Ordering, UnsafeCell};
use crate::{coop, Direction, Interest, Ready};

/// Bits 0..8 of a direction's word: the [`Ready`] bits of that direction.
const READY_MASK: u64 = 0xff;
/// Bit 8: the registration was removed; every poll returns at once.
const SHUTDOWN: u64 = 1 << 8;
/// The direction's tick lives in bits 9..64 (55 bits) and wraps on overflow.
const TICK_SHIFT: u32 = 9;
/// One tick.
const TICK_ONE: u64 = 1 << TICK_SHIFT;

/// What a task saw when its direction was ready: the bits, the tick of that
/// direction and the registration's identity, to be handed back to
/// `clear_readiness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The ready bits relevant to the direction that was polled.
    pub ready: Ready,
    /// The direction polled.
    pub direction: Direction,
    /// The direction's tick when `ready` was observed.
    tick: u64,
    /// The generation of the registration it was observed on.
    generation: u32,
    /// Whether the registration is gone (the reactor dropped it).
    pub(crate) shutdown: bool,
}

/// What one wait on an [`Interest`] saw: the readiness event of each
/// direction that was ready, kept so that the bits can be cleared later
/// (only if no newer event arrived in between, see
/// [`Registration::clear_readiness`](crate::Registration::clear_readiness)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadyEvents {
    read: Option<ReadyEvent>,
    write: Option<ReadyEvent>,
}

impl ReadyEvents {
    /// The union of the ready bits seen.
    pub fn ready(&self) -> Ready {
        self.iter().fold(Ready::EMPTY, |r, e| r | e.ready)
    }

    /// The event of `direction`, if that direction was ready.
    pub fn get(&self, direction: Direction) -> Option<ReadyEvent> {
        match direction {
            Direction::Read => self.read,
            Direction::Write => self.write,
        }
    }

    /// Whether the registration was gone.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.iter().any(|e| e.shutdown)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ReadyEvent> {
        self.read.iter().chain(self.write.iter())
    }

    /// Clears the bits of `mask` from the registration's readiness (unless
    /// newer events arrived) and from these events.
    pub fn clear(&mut self, registration: &crate::Registration, mask: Ready) {
        for ev in [&mut self.read, &mut self.write].into_iter().flatten() {
            let mut cleared = *ev;
            cleared.ready = ev.ready & mask;
            if !cleared.ready.is_empty() {
                registration.clear_readiness(cleared);
            }
            ev.ready = ev.ready - mask;
        }
    }

    fn set(&mut self, ev: ReadyEvent) {
        match ev.direction {
            Direction::Read => self.read = Some(ev),
            Direction::Write => self.write = Some(ev),
        }
    }

    fn is_empty(&self) -> bool {
        self.read.is_none() && self.write.is_none()
    }
}

/// Per-registration state shared by the reactor and the I/O object.
#[derive(Debug)]
pub(crate) struct ScheduledIo {
    /// Per direction (read, write): its ready bits, the shutdown bit and its
    /// tick (see the constants above). Written by the reactor (OR and tick
    /// bump) and by I/O operations (clear, if the tick is unchanged). One
    /// word per direction, so a clear of one direction never competes with
    /// events of the other.
    readiness: [AtomicU64; 2],
    /// The tasks waiting: taken by the reactor after it sets readiness,
    /// stored by tasks before they re-check readiness.
    waiters: Mutex<Waiters>,
    /// The generation this slot was registered with; events carrying another
    /// generation belong to a previous owner of the slot and are dropped,
    /// and so are snapshots taken on another registration.
    pub(crate) generation: u32,
}

#[derive(Debug, Default)]
struct Waiters {
    /// The fast slot of the read direction (the `poll_*` methods).
    reader: Option<Waker>,
    /// The fast slot of the write direction.
    writer: Option<Waker>,
    /// Every linked [`Readiness`] future's waiter. Invariant: each node in
    /// it is live and pinned (its future unlinks it, under this lock, before
    /// it is dropped) and has `notified == false`.
    list: List<Waiter>,
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::Read => 0,
        Direction::Write => 1,
    }
}

fn tick_of(word: u64) -> u64 {
    word >> TICK_SHIFT
}

fn ready_of(word: u64) -> Ready {
    Ready::from_bits((word & READY_MASK) as u8)
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> ScheduledIo {
        ScheduledIo {
            readiness: [AtomicU64::new(0), AtomicU64::new(0)],
            waiters: Mutex::new(Waiters::default()),
            generation,
        }
    }

    fn word(&self, direction: Direction) -> &AtomicU64 {
        &self.readiness[index(direction)]
    }

    /// ORs `ready` into the readiness of each direction it touches, bumps
    /// their ticks, and collects the wakers to wake (the caller wakes them
    /// outside any lock): the slots of those directions and every waiter
    /// interested in one of them.
    pub(crate) fn set_readiness(&self, ready: Ready, wakers: &mut Vec<Waker>) {
        let mut touched = [false; 2];
        for direction in [Direction::Read, Direction::Write] {
            let bits = ready & direction.mask();
            if bits.is_empty() {
                continue;
            }
            touched[index(direction)] = true;
            let word = self.word(direction);
            let mut cur = word.load(Ordering::Acquire);
            loop {
                // The tick sits in the top bits: adding one there wraps it
                // without touching the flags.
                let next = (cur | u64::from(bits.bits())).wrapping_add(TICK_ONE);
                match word.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
        }
        if touched == [false; 2] {
            return;
        }
        let mut waiters = self.waiters.lock();
        if touched[0] {
            wakers.extend(waiters.reader.take());
        }
        if touched[1] {
            wakers.extend(waiters.writer.take());
        }
        // SAFETY: the waiter lock is held (`waiters`).
        unsafe {
            waiters.wake_matching(wakers, |interest| {
                (touched[0] && interest.is_readable()) || (touched[1] && interest.is_writable())
            });
        }
    }

    /// Marks the registration as gone and returns every stored waker, so that
    /// tasks parked on it run again and observe the shutdown.
    pub(crate) fn shutdown(&self, wakers: &mut Vec<Waker>) {
        for word in &self.readiness {
            word.fetch_or(SHUTDOWN, Ordering::AcqRel);
        }
        let mut waiters = self.waiters.lock();
        wakers.extend(waiters.reader.take());
        wakers.extend(waiters.writer.take());
        // SAFETY: the waiter lock is held.
        unsafe { waiters.wake_matching(wakers, |_| true) };
    }

    /// The current readiness of `direction`, if any bit of it is set (or the
    /// registration is shut down).
    pub(crate) fn ready_event(&self, direction: Direction) -> Option<ReadyEvent> {
        let word = self.word(direction).load(Ordering::Acquire);
        let ready = ready_of(word) & direction.mask();
        let shutdown = word & SHUTDOWN != 0;
        if ready.is_empty() && !shutdown {
            return None;
        }
        Some(ReadyEvent {
            ready,
            direction,
            tick: tick_of(word),
            generation: self.generation,
            shutdown,
        })
    }

    /// The current readiness of every direction of `interest` that is
    /// ready, if any is.
    pub(crate) fn ready_events(&self, interest: Interest) -> Option<ReadyEvents> {
        let mut events = ReadyEvents::default();
        for ev in interest.directions().filter_map(|d| self.ready_event(d)) {
            events.set(ev);
        }
        (!events.is_empty()).then_some(events)
    }

    /// Returns the readiness of `direction` if it is ready; otherwise stores
    /// the task's waker in the direction's slot and returns `Pending` (after
    /// re-checking, see the module docs).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<ReadyEvent> {
        if let Some(ev) = self.ready_event(direction) {
            return Poll::Ready(ev);
        }
        let mut waiters = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        // Re-check under the lock: the reactor sets readiness before it takes
        // the lock, so either we see its bits now or it sees our waker.
        match self.ready_event(direction) {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// A future that resolves once a direction of `interest` is ready (or
    /// the registration is gone), waiting in the waiter list.
    pub(crate) fn wait(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            io: self,
            interest,
            linked: false,
            waiter: Waiter {
                data: UnsafeCell::new(WaiterData {
                    pointers: Pointers::new(),
                    waker: None,
                    interest,
                    notified: false,
                }),
                _pin: PhantomPinned,
            },
        }
    }

    /// Clears the bits of `event` if it was observed on this registration
    /// and no event arrived for its direction since. Closed and error bits
    /// are cleared too: the operation that returned `WouldBlock` proved them
    /// stale, and keeping them would make every later poll return at once
    /// (a busy loop).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        if event.generation != self.generation {
            return;
        }
        let mask = u64::from((event.ready & event.direction.mask()).bits());
        let word = self.word(event.direction);
        let mut cur = word.load(Ordering::Acquire);
        loop {
            if tick_of(cur) != event.tick {
                return;
            }
            let next = cur & !mask;
            if next == cur {
                return;
            }
            match word.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The readiness bits now, both directions (for tests and diagnostics).
    pub(crate) fn readiness(&self) -> Ready {
        ready_of(self.readiness[0].load(Ordering::Acquire))
            | ready_of(self.readiness[1].load(Ordering::Acquire))
    }
}

impl Waiters {
    /// Unlinks every listed waiter whose interest `wake` accepts, marks it
    /// notified and moves its waker into `wakers`; the others stay listed,
    /// in their order.
    ///
    /// # Safety
    ///
    /// The waiter lock is held (this is the list it guards).
    unsafe fn wake_matching(&mut self, wakers: &mut Vec<Waker>, wake: impl Fn(Interest) -> bool) {
        let mut kept = List::default();
        // SAFETY: the lock is held (caller) and every listed node is live
        // (the list invariant), so taking nodes off the list and touching
        // their data is this thread's alone; each node goes onto exactly
        // one list again or is marked notified and left unlinked.
        unsafe {
            while let Some(node) = self.list.pop_back() {
                let taken = Waiter::data(node, |d| {
                    if wake(d.interest) {
                        d.notified = true;
                        Some(d.waker.take())
                    } else {
                        None
                    }
                });
                match taken {
                    Some(waker) => wakers.extend(waker),
                    None => kept.push_front(node),
                }
            }
        }
        self.list = kept;
    }
}

/// The node a [`Readiness`] future links into its registration's waiter
/// list.
struct Waiter {
    /// Guarded by the waiter lock of the registration the future waits on:
    /// touched only with that lock held, except before the node is first
    /// linked (nobody else can reach it then).
    data: UnsafeCell<WaiterData>,
    /// The list points into the node: it must not move once linked.
    _pin: PhantomPinned,
}

struct WaiterData {
    /// The node's links in the waiter list.
    pointers: Pointers<Waiter>,
    /// Woken when a direction of `interest` becomes ready.
    waker: Option<Waker>,
    /// The directions this waiter waits for.
    interest: Interest,
    /// Set, under the lock, by the reactor when it unlinked this waiter to
    /// wake it; cleared by the owner when it links the node again.
    notified: bool,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Waiter")
    }
}

// SAFETY: the node's data (a `Waker`, which is `Send + Sync`, the interest,
// a flag and the links) is only touched under the waiter lock of the
// registration it waits on (see `Waiter::data`), so moving the future that
// holds it to another thread, or sharing a reference to it, is sound.
unsafe impl Send for Waiter {}
// SAFETY: as for `Send`.
unsafe impl Sync for Waiter {}

impl Waiter {
    /// Runs `f` on the lock-guarded data of `node`.
    ///
    /// # Safety
    ///
    /// `node` is live, the caller holds the waiter lock that guards it (or
    /// the node is in no list and only its owner can reach it), and no other
    /// reference to its data is live.
    unsafe fn data<R>(node: NonNull<Waiter>, f: impl FnOnce(&mut WaiterData) -> R) -> R {
        // SAFETY: the caller's contract. Reaching the data through a shared
        // reference to the node is fine even while its owner holds the
        // pinned future mutably: `Waiter` is `!Unpin` (`PhantomPinned`),
        // which exempts it from `&mut` uniqueness, and the data sits in an
        // `UnsafeCell`.
        unsafe { node.as_ref().data.with_mut(|p| f(&mut *p)) }
    }
}

impl Link for Waiter {
    unsafe fn pointers<R>(node: NonNull<Waiter>, f: impl FnOnce(&mut Pointers<Waiter>) -> R) -> R {
        // SAFETY: `Link::pointers`' contract is `Waiter::data`'s.
        unsafe { Waiter::data(node, |d| f(&mut d.pointers)) }
    }
}

/// Waits until a direction of an [`Interest`] is ready, in the waiter list
/// of a registration, so that any number of tasks can wait at once (see the
/// module docs).
///
/// Resolves to the readiness seen (with the shutdown flag set if the
/// registration is gone). Cancel-safe: dropping it unlinks its waiter, and
/// never costs another waiter its wake-up.
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Readiness<'a> {
    /// The registration waited on.
    io: &'a ScheduledIo,
    /// The directions waited for.
    interest: Interest,
    /// Whether `waiter` was linked by the last poll (it may have been
    /// unlinked by the reactor since: then its `notified` is set).
    linked: bool,
    /// The node linked into `io`'s waiter list.
    waiter: Waiter,
}

impl fmt::Debug for Readiness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("interest", &self.interest)
            .field("linked", &self.linked)
            .finish_non_exhaustive()
    }
}

impl Future for Readiness<'_> {
    type Output = ReadyEvents;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ReadyEvents> {
        // SAFETY: nothing is moved out of the pinned future; the waiter
        // stays where it is for as long as the future lives.
        let this = unsafe { self.get_unchecked_mut() };
        // A wait that finds readiness is progress; `Pending` refunds.
        let coop = ready!(coop::poll_proceed(cx));
        if !this.linked {
            if let Some(events) = this.io.ready_events(this.interest) {
                coop.made_progress();
                return Poll::Ready(events);
            }
        }
        let node = NonNull::from(&this.waiter);
        let mut waiters = this.io.waiters.lock();
        // Re-check under the lock: the reactor sets readiness before it takes
        // the lock, so either we see its bits now or it sees our waiter.
        let ready = this.io.ready_events(this.interest);
        // SAFETY: the waiter lock is held; the node is live (it is ours).
        let notified = unsafe { Waiter::data(node, |d| d.notified) };
        if let Some(events) = ready {
            if this.linked && !notified {
                // SAFETY: the lock is held and the node is listed (linked
                // and not notified).
                unsafe { waiters.list.remove(node) };
            }
            this.linked = false;
            coop.made_progress();
            return Poll::Ready(events);
        }
        // Not ready: woken for readiness that another task has cleared since
        // (or never linked): link the node, or refresh its waker.
        // SAFETY: the lock is held; the node is ours and pinned.
        unsafe {
            Waiter::data(node, |d| match &d.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => d.waker = Some(cx.waker().clone()),
            });
            if !this.linked || notified {
                Waiter::data(node, |d| d.notified = false);
                waiters.list.push_front(node);
            }
        }
        this.linked = true;
        Poll::Pending
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        if !self.linked {
            return;
        }
        let node = NonNull::from(&self.waiter);
        let mut waiters = self.io.waiters.lock();
        // SAFETY: the lock is held; if the reactor did not unlink the node
        // (`notified` unset), it is in the list, and must leave it before
        // the memory goes.
        unsafe {
            if !Waiter::data(node, |d| d.notified) {
                waiters.list.remove(node);
            }
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    impl Count {
        fn get(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    fn wake_all(w: Vec<Waker>) {
        w.into_iter().for_each(Waker::wake);
    }

    #[test]
    fn waker_is_woken_by_its_direction_only() {
        let io = ScheduledIo::new(0);
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        let mut w = Vec::new();
        io.set_readiness(Ready::WRITABLE, &mut w);
        assert!(w.is_empty());
        io.set_readiness(Ready::READABLE, &mut w);
        assert_eq!(w.len(), 1);
        wake_all(w);
        assert_eq!(count.get(), 1);
        match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(ev) => assert!(ev.ready.is_readable()),
            Poll::Pending => panic!("readable was set"),
        }
    }

    #[test]
    fn clear_keeps_newer_events() {
        let io = ScheduledIo::new(0);
        let waker = Waker::from(Arc::new(Count::default()));
        let mut cx = Context::from_waker(&waker);
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        let Poll::Ready(seen) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!()
        };
        // A newer read event arrives before the WouldBlock is reported.
        io.set_readiness(Ready::READABLE, &mut w);
        io.clear_readiness(seen);
        assert!(io.readiness().is_readable(), "the newer event must survive");
        let Poll::Ready(seen) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!()
        };
        io.clear_readiness(seen);
        assert!(!io.readiness().is_readable());
    }

    #[test]
    fn write_events_do_not_block_read_clears() {
        let io = ScheduledIo::new(0);
        let waker = Waker::from(Arc::new(Count::default()));
        let mut cx = Context::from_waker(&waker);
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE | Ready::WRITABLE, &mut w);
        let Poll::Ready(seen) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!()
        };
        io.set_readiness(Ready::WRITABLE, &mut w);
        io.clear_readiness(seen);
        assert_eq!(io.readiness(), Ready::WRITABLE);
    }

    #[test]
    fn shutdown_wakes_both_and_stays_ready() {
        let io = ScheduledIo::new(0);
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
        let mut w = Vec::new();
        io.shutdown(&mut w);
        assert_eq!(w.len(), 2);
        match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(ev) => assert!(ev.shutdown),
            Poll::Pending => panic!("shut down registrations are always ready"),
        }
    }

    #[test]
    fn ticks_count_per_direction() {
        let io = ScheduledIo::new(0);
        let mut w = Vec::new();
        for _ in 0..5 {
            io.set_readiness(Ready::READABLE, &mut w);
        }
        io.set_readiness(Ready::ERROR, &mut w);
        let read = io.readiness[0].load(Ordering::Relaxed);
        let write = io.readiness[1].load(Ordering::Relaxed);
        assert_eq!(tick_of(read), 6);
        assert_eq!(tick_of(write), 1, "ERROR touches both directions");
        assert_eq!(ready_of(write), Ready::ERROR);
    }

    #[test]
    fn tick_wraps_without_touching_the_flags() {
        let io = ScheduledIo::new(0);
        // The last tick before the wrap, with the shutdown flag set.
        io.readiness[0].store(!READY_MASK, Ordering::Relaxed);
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        let word = io.readiness[0].load(Ordering::Relaxed);
        assert_eq!(tick_of(word), 0);
        assert_eq!(word & SHUTDOWN, SHUTDOWN);
        assert_eq!(ready_of(word), Ready::READABLE);
    }

    /// A snapshot from 2^24 events ago (the old tick width) no longer
    /// matches: the readiness it would clear is still real.
    #[test]
    fn snapshot_from_many_events_ago_does_not_clear() {
        let io = ScheduledIo::new(0);
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        let seen = io.ready_event(Direction::Read).unwrap();
        // Fast-forward the tick by exactly 2^24 events.
        io.readiness[0].fetch_add(TICK_ONE << 24, Ordering::Relaxed);
        io.clear_readiness(seen);
        assert!(io.readiness().is_readable());
    }

    /// A snapshot taken on one registration cannot clear another's
    /// readiness, even with the same tick (a slot's next owner).
    #[test]
    fn snapshot_of_another_registration_does_not_clear() {
        let old = ScheduledIo::new(7);
        let new = ScheduledIo::new(8);
        let mut w = Vec::new();
        old.set_readiness(Ready::READABLE, &mut w);
        new.set_readiness(Ready::READABLE, &mut w);
        let seen = old.ready_event(Direction::Read).unwrap();
        new.clear_readiness(seen);
        assert!(new.readiness().is_readable());
        old.clear_readiness(seen);
        assert!(!old.readiness().is_readable());
    }

    fn poll(fut: Pin<&mut Readiness<'_>>, waker: &Waker) -> Poll<ReadyEvents> {
        fut.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn every_waiter_is_woken_by_one_event() {
        let io = ScheduledIo::new(1);
        let counts: Vec<Arc<Count>> = (0..100).map(|_| Arc::default()).collect();
        let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(c.clone())).collect();
        let mut futs: Vec<_> = (0..100)
            .map(|_| Box::pin(io.wait(Interest::READABLE)))
            .collect();
        for (f, w) in futs.iter_mut().zip(&wakers) {
            assert!(poll(f.as_mut(), w).is_pending());
        }
        let mut w = Vec::new();
        io.set_readiness(Ready::WRITABLE, &mut w);
        assert!(w.is_empty(), "a write event wakes no reader");
        io.set_readiness(Ready::READABLE, &mut w);
        assert_eq!(w.len(), 100);
        wake_all(w);
        assert!(counts.iter().all(|c| c.get() == 1));
        for (f, w) in futs.iter_mut().zip(&wakers) {
            match poll(f.as_mut(), w) {
                Poll::Ready(ev) => assert!(ev.ready().is_readable()),
                Poll::Pending => panic!("woken waiter must see readiness"),
            }
        }
        assert!(io.waiters.lock().list.is_empty());
    }

    #[test]
    fn waiters_of_one_interest_are_not_woken_by_the_other() {
        let io = ScheduledIo::new(1);
        let reader = Arc::new(Count::default());
        let writer = Arc::new(Count::default());
        let both = Arc::new(Count::default());
        let (rw, ww, bw) = (
            Waker::from(reader.clone()),
            Waker::from(writer.clone()),
            Waker::from(both.clone()),
        );
        let mut r = Box::pin(io.wait(Interest::READABLE));
        let mut wr = Box::pin(io.wait(Interest::WRITABLE));
        let mut b = Box::pin(io.wait(Interest::READABLE | Interest::WRITABLE));
        assert!(poll(r.as_mut(), &rw).is_pending());
        assert!(poll(wr.as_mut(), &ww).is_pending());
        assert!(poll(b.as_mut(), &bw).is_pending());
        let mut w = Vec::new();
        io.set_readiness(Ready::WRITABLE, &mut w);
        wake_all(w);
        assert_eq!((reader.get(), writer.get(), both.get()), (0, 1, 1));
        // The reader stays listed, and is woken by the next read event.
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        wake_all(w);
        assert_eq!(reader.get(), 1);
    }

    /// A waiter woken and then dropped before it polls again (a `select!`
    /// that took another branch) costs nobody a wake-up; and one dropped
    /// while listed leaves the list intact for the others.
    #[test]
    fn dropped_waiters_do_not_swallow_wake_ups() {
        let io = ScheduledIo::new(1);
        let counts: Vec<Arc<Count>> = (0..4).map(|_| Arc::default()).collect();
        let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(c.clone())).collect();
        let mut futs: Vec<_> = (0..4)
            .map(|_| Some(Box::pin(io.wait(Interest::READABLE))))
            .collect();
        for (f, w) in futs.iter_mut().zip(&wakers) {
            assert!(poll(f.as_mut().unwrap().as_mut(), w).is_pending());
        }
        // Dropped while listed: unlinks itself.
        futs[1] = None;
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        assert_eq!(w.len(), 3);
        // Dropped after being woken, before acting on it.
        futs[0] = None;
        wake_all(w);
        for i in [2, 3] {
            assert_eq!(counts[i].get(), 1);
            assert!(poll(futs[i].as_mut().unwrap().as_mut(), &wakers[i]).is_ready());
        }
        // Nothing dangles in the list.
        assert!(io.waiters.lock().list.is_empty());
    }

    /// A waiter woken for readiness that another task cleared before it ran
    /// goes back to waiting (no spurious `Ready`), and is woken by the next
    /// event.
    #[test]
    fn woken_waiter_whose_readiness_was_taken_waits_again() {
        let io = ScheduledIo::new(1);
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut fut = Box::pin(io.wait(Interest::READABLE));
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        wake_all(w);
        // Another task consumed the data and saw WouldBlock.
        io.clear_readiness(io.ready_event(Direction::Read).unwrap());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let mut w = Vec::new();
        io.set_readiness(Ready::READABLE, &mut w);
        assert_eq!(w.len(), 1);
        wake_all(w);
        assert!(poll(fut.as_mut(), &waker).is_ready());
    }

    #[test]
    fn shutdown_wakes_every_waiter() {
        let io = ScheduledIo::new(1);
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut a = Box::pin(io.wait(Interest::READABLE));
        let mut b = Box::pin(io.wait(Interest::WRITABLE));
        assert!(poll(a.as_mut(), &waker).is_pending());
        assert!(poll(b.as_mut(), &waker).is_pending());
        let mut w = Vec::new();
        io.shutdown(&mut w);
        wake_all(w);
        assert_eq!(count.get(), 2);
        let Poll::Ready(ev) = poll(a.as_mut(), &waker) else {
            panic!("shut down registrations are always ready")
        };
        assert!(ev.is_shutdown());
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
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        (flag, waker)
    }

    /// A task that returns `Pending` is always woken by a concurrent
    /// readiness update: no lost wake-up.
    #[test]
    fn loom_readiness_vs_waker() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new(0));
            let io2 = io.clone();
            let reactor = loom::thread::spawn(move || {
                let mut w = Vec::new();
                io2.set_readiness(Ready::READABLE, &mut w);
                w.into_iter().for_each(Waker::wake);
            });
            let (flag, waker) = flag();
            let mut cx = Context::from_waker(&waker);
            let pending = io.poll_ready(&mut cx, Direction::Read).is_pending();
            reactor.join().unwrap();
            if pending {
                assert!(flag.0.load(Ordering::SeqCst), "lost wake-up");
            }
        });
    }

    /// A clear racing with a new event never loses the new event.
    #[test]
    fn loom_clear_vs_new_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new(0));
            let mut w = Vec::new();
            io.set_readiness(Ready::READABLE, &mut w);
            let (_flag, waker) = flag();
            let mut cx = Context::from_waker(&waker);
            let Poll::Ready(seen) = io.poll_ready(&mut cx, Direction::Read) else {
                panic!()
            };
            let io2 = io.clone();
            let reactor = loom::thread::spawn(move || {
                let mut w = Vec::new();
                io2.set_readiness(Ready::READABLE, &mut w);
            });
            io.clear_readiness(seen);
            reactor.join().unwrap();
            assert!(
                io.readiness().is_readable(),
                "the event after the observation was lost"
            );
        });
    }

    /// Two futures wait in the list while the reactor sets readiness and one
    /// of them is dropped (cancelled) concurrently: the survivor is always
    /// woken or sees the readiness itself, and the list is left empty (the
    /// dropped node never stays linked).
    #[test]
    fn loom_waiters_wake_all_and_cancel() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new(0));
            let io2 = io.clone();
            let reactor = loom::thread::spawn(move || {
                let mut w = Vec::new();
                io2.set_readiness(Ready::READABLE, &mut w);
                w.into_iter().for_each(Waker::wake);
            });
            let io3 = io.clone();
            let canceller = loom::thread::spawn(move || {
                let (_flag, waker) = flag();
                let mut fut = Box::pin(io3.wait(Interest::READABLE));
                let _ = fut.as_mut().poll(&mut Context::from_waker(&waker));
                drop(fut);
            });
            let (flag, waker) = flag();
            let mut fut = Box::pin(io.wait(Interest::READABLE));
            let pending = fut
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending();
            reactor.join().unwrap();
            canceller.join().unwrap();
            if pending {
                assert!(flag.0.load(Ordering::SeqCst), "lost wake-up");
                assert!(fut
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready());
            }
            drop(fut);
            assert!(io.waiters.lock().list.is_empty());
        });
    }
}
