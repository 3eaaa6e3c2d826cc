//! The shared state of one registration: readiness bits, per-direction ticks
//! and one waker per direction.
//!
//! # Protocol
//!
//! The reactor calls [`ScheduledIo::set_readiness`] (an atomic OR that also
//! bumps the tick of every direction it touches) and *then* takes the wakers
//! of those directions under the waiter lock. A task calls
//! [`ScheduledIo::poll_ready`]: it checks the readiness word, and if nothing is
//! ready it stores its waker under the same lock and checks the word *again*
//! before returning `Pending`. Either the reactor's update is visible to that
//! second check, or the reactor takes the lock after the waker was stored and
//! wakes it: a wake-up cannot be lost. (`loom_readiness_vs_waker` below checks
//! this.)
//!
//! Readiness is cleared only by an operation that saw `WouldBlock`, through
//! [`ScheduledIo::clear_readiness`], and only if the tick of its direction is
//! still the one it observed: an event that arrived in between is kept.

use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicU64, Mutex, Ordering};
use crate::{Direction, Ready};

/// Bits 0..8 of the readiness word: the [`Ready`] bits.
const READY_MASK: u64 = 0xff;
/// Bit 8: the registration was removed; every poll returns at once.
const SHUTDOWN: u64 = 1 << 8;
/// The read tick lives in bits 16..40, the write tick in bits 40..64.
const READ_TICK_SHIFT: u32 = 16;
const WRITE_TICK_SHIFT: u32 = 40;
const TICK_MASK: u64 = (1 << 24) - 1;

/// What a task saw when its direction was ready: the bits and the tick of
/// that direction, to be handed back to `clear_readiness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The ready bits relevant to the direction that was polled.
    pub ready: Ready,
    /// The direction polled.
    pub direction: Direction,
    /// The direction's tick when `ready` was observed.
    tick: u32,
    /// Whether the registration is gone (the reactor dropped it).
    pub(crate) shutdown: bool,
}

/// Per-registration state shared by the reactor and the I/O object.
#[derive(Debug)]
pub(crate) struct ScheduledIo {
    /// Ready bits, the shutdown bit and the two direction ticks (see the
    /// constants above). Written by the reactor (OR) and by I/O operations
    /// (clear on `WouldBlock`).
    readiness: AtomicU64,
    /// The tasks waiting for each direction; taken by the reactor after it
    /// sets readiness, stored by tasks before they re-check readiness.
    waiters: Mutex<Waiters>,
    /// The generation this slot was registered with; events carrying another
    /// generation belong to a previous owner of the slot and are dropped.
    pub(crate) generation: u32,
}

#[derive(Debug, Default)]
struct Waiters {
    /// Woken when a read-side bit is set.
    reader: Option<Waker>,
    /// Woken when a write-side bit is set.
    writer: Option<Waker>,
}

fn tick_shift(direction: Direction) -> u32 {
    match direction {
        Direction::Read => READ_TICK_SHIFT,
        Direction::Write => WRITE_TICK_SHIFT,
    }
}

fn tick_of(word: u64, direction: Direction) -> u32 {
    ((word >> tick_shift(direction)) & TICK_MASK) as u32
}

fn ready_of(word: u64) -> Ready {
    Ready::from_bits((word & READY_MASK) as u8)
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicU64::new(0),
            waiters: Mutex::new(Waiters::default()),
            generation,
        }
    }

    /// ORs `ready` into the readiness word, bumps the ticks of the directions
    /// it touches, and returns the wakers to wake (the caller wakes them
    /// outside any lock).
    pub(crate) fn set_readiness(&self, ready: Ready, wakers: &mut Vec<Waker>) {
        let touches_read = ready.intersects(Direction::Read.mask());
        let touches_write = ready.intersects(Direction::Write.mask());
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            let mut next = cur | u64::from(ready.bits());
            for (touched, dir) in [
                (touches_read, Direction::Read),
                (touches_write, Direction::Write),
            ] {
                if touched {
                    let shift = tick_shift(dir);
                    let tick = (u64::from(tick_of(cur, dir)) + 1) & TICK_MASK;
                    next = (next & !(TICK_MASK << shift)) | (tick << shift);
                }
            }
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut waiters = self.waiters.lock();
        if touches_read {
            wakers.extend(waiters.reader.take());
        }
        if touches_write {
            wakers.extend(waiters.writer.take());
        }
    }

    /// Marks the registration as gone and returns every stored waker, so that
    /// tasks parked on it run again and observe the shutdown.
    pub(crate) fn shutdown(&self, wakers: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let mut waiters = self.waiters.lock();
        wakers.extend(waiters.reader.take());
        wakers.extend(waiters.writer.take());
    }

    /// The current readiness of `direction`, if any bit of it is set (or the
    /// registration is shut down).
    pub(crate) fn ready_event(&self, direction: Direction) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        let ready = ready_of(word) & direction.mask();
        let shutdown = word & SHUTDOWN != 0;
        if ready.is_empty() && !shutdown {
            return None;
        }
        Some(ReadyEvent {
            ready,
            direction,
            tick: tick_of(word, direction),
            shutdown,
        })
    }

    /// Returns the readiness of `direction` if it is ready; otherwise stores
    /// the task's waker and returns `Pending` (after re-checking, see the
    /// module docs).
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

    /// Clears the bits of `event` if no event arrived for its direction since
    /// it was observed. Closed and error bits are cleared too: the operation
    /// that returned `WouldBlock` proved them stale, and keeping them would
    /// make every later poll return at once (a busy loop).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let mask = u64::from(event.ready.bits());
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            if tick_of(cur, event.direction) != event.tick {
                return;
            }
            let next = cur & !mask;
            if next == cur {
                return;
            }
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The readiness bits now (for tests and diagnostics).
    pub(crate) fn readiness(&self) -> Ready {
        ready_of(self.readiness.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(loom)))]
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
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
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
    fn ticks_wrap() {
        let io = ScheduledIo::new(0);
        let mut w = Vec::new();
        for _ in 0..(TICK_MASK + 3) {
            io.set_readiness(Ready::READABLE, &mut w);
        }
        assert_eq!(
            tick_of(io.readiness.load(Ordering::Relaxed), Direction::Read),
            2
        );
        assert_eq!(
            tick_of(io.readiness.load(Ordering::Relaxed), Direction::Write),
            0
        );
    }
}

#[cfg(all(test, loom))]
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
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
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
            let waker = Waker::from(std::sync::Arc::new(Flag(AtomicBool::new(false))));
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
}
