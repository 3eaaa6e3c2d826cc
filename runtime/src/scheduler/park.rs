//! Parking a scheduler thread until it is woken.
//!
//! Protocol: `state` is `EMPTY`, `PARKED` or `NOTIFIED`. `unpark` swaps in
//! `NOTIFIED` and signals the condition variable only if the thread was
//! `PARKED`, taking the lock first so the signal cannot fall between the
//! parker's state change and its wait. `park` consumes a pending `NOTIFIED`
//! without blocking. No wake-up is lost (see `loom_park_unpark`).

use runtime_reactor::Reactor;

use crate::shim::{Arc, AtomicUsize, Condvar, Mutex, Ordering};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;
/// Parked inside the reactor's `turn`: woken through the reactor.
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
        Parker::with_reactor(None)
    }

    /// A parker that may park in `reactor` (with
    /// [`park_driving`](Parker::park_driving)); without one it parks on its
    /// condition variable only.
    pub(crate) fn with_reactor(reactor: Option<&'static Reactor>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
                reactor,
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
        self.park_timeout(None);
    }

    /// [`park`](Parker::park), returning after `timeout` at the latest.
    pub(crate) fn park_timeout(&self, timeout: Option<std::time::Duration>) {
        // A timeout too long for the clock waits without one.
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

    /// Another handle on the same parker, for parking while the owner's
    /// core is lent out. Only one thread may park at a time.
    pub(crate) fn clone_for_driving(&self) -> Parker {
        Parker {
            inner: self.inner.clone(),
        }
    }

    /// Parks by running `drive` (a blocking reactor turn) instead of
    /// waiting on the condition variable; `unpark` then interrupts the
    /// reactor. Returns at once if a notification is pending.
    ///
    /// `drive` gets a check to run right before it blocks (after clearing
    /// old reactor wake-ups): `true` means a notification arrived and it
    /// must not block. `drive` returns `false` if it could not drive (another
    /// thread holds the reactor); the thread then parks on the condition
    /// variable as usual, and so does a parker made without a reactor
    /// (its `unpark` could not interrupt one).
    pub(crate) fn park_driving(
        &self,
        timeout: Option<std::time::Duration>,
        drive: impl FnOnce(&dyn Fn() -> bool) -> bool,
    ) {
        let inner = &*self.inner;
        if inner.reactor.is_none() {
            return self.park_timeout(timeout);
        }
        if inner
            .state
            .compare_exchange(EMPTY, PARKED_DRIVING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // NOTIFIED: consume it and return.
            inner.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        if drive(&|| inner.state.load(Ordering::SeqCst) == NOTIFIED) {
            // Consume a notification that arrived while driving, if any.
            inner.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        // Could not drive: become an ordinary parker, unless notified
        // meanwhile.
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

impl Unparker {
    pub(crate) fn unpark(&self) {
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

#[cfg(all(test, runtime_loom))]
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
