//! The shared-state primitives of the scheduler and the tasks: the reactor
//! crate's loom shim (`runtime_reactor::sync`, one shim for both crates), and
//! the condition variable only this crate needs.
//!
//! Under `cfg(runtime_loom)` they are loom's, so the models beside the lock-free
//! code (the task state word, the local run queue and LIFO slot, the
//! parker) explore its interleavings; otherwise `std`'s and `parking_lot`'s.

pub(crate) use runtime_reactor::sync::{
    fence, Arc, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Mutex, MutexGuard,
    Ordering, UnsafeCell,
};

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar(
    #[cfg(not(runtime_loom))] parking_lot::Condvar,
    #[cfg(runtime_loom)] loom::sync::Condvar,
);

impl Condvar {
    pub(crate) fn new() -> Condvar {
        #[cfg(not(runtime_loom))]
        return Condvar(parking_lot::Condvar::new());
        #[cfg(runtime_loom)]
        return Condvar(loom::sync::Condvar::new());
    }

    #[cfg(not(runtime_loom))]
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(&mut guard);
        guard
    }

    #[cfg(runtime_loom)]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap()
    }

    /// Waits until notified or `deadline`; returns whether it timed out.
    #[cfg(not(runtime_loom))]
    pub(crate) fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: std::time::Instant,
    ) -> bool {
        self.0.wait_until(guard, deadline).timed_out()
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }
}
