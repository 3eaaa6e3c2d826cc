//! Parking a scheduler thread until it is woken.
//!
//! Protocol: `state` is `EMPTY`, `PARKED` or `NOTIFIED`. `unpark` swaps in
//! `NOTIFIED` and signals the condition variable only if the thread was
//! `PARKED`, taking the lock first so the signal cannot fall between the
//! parker's state change and its wait. `park` consumes a pending `NOTIFIED`
//! without blocking. No wake-up is lost (see `loom_park_unpark`).

use std::time::Duration;

use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

/// The parking side, owned by one thread.
#[derive(Debug)]
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// The waking side; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until `unpark` is called (returns at once if it already was
    /// since the last `park`).
    pub(crate) fn park(&self) {
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
            guard = inner.cvar.wait(guard);
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

    /// Consumes a pending notification without blocking; returns whether
    /// there was one.
    #[allow(dead_code)]
    pub(crate) fn try_consume(&self) -> bool {
        self.inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Marks the thread as parked *without* blocking on the condition
    /// variable (the thread blocks elsewhere, e.g. in the reactor). Returns
    /// `false` if a notification was pending (consumed).
    #[allow(dead_code)]
    pub(crate) fn prepare_park_elsewhere(&self) -> bool {
        self.inner
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            || {
                self.inner.state.store(EMPTY, Ordering::SeqCst);
                false
            }
    }

    /// Ends a park begun with `prepare_park_elsewhere`.
    #[allow(dead_code)]
    pub(crate) fn finish_park_elsewhere(&self) {
        self.inner.state.store(EMPTY, Ordering::SeqCst);
    }

    #[allow(dead_code)]
    pub(crate) fn park_timeout_unused(&self, _d: Duration) {}
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        let inner = &*self.inner;
        match inner.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            _ => {
                drop(inner.lock.lock());
                inner.cvar.notify_one();
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// An unpark racing a park always ends the park.
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
