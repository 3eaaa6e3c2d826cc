//! Unit tests of the timers, over a private reactor and real time.

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
        reactor.lock().turn(None, || false).unwrap();
        // Then waits for the timer and fires it.
        while reactor.timer_count() > 0 {
            reactor.lock().turn(None, || false).unwrap();
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
