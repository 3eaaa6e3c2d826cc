//! Loom models of the timers' lock-free parts: firing against cancel,
//! new wakers and resets, and registration against a driver's wait.

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
