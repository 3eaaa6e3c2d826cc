//! The one place the shared-state primitives of the reactor and of the
//! `runtime` crate's scheduler and tasks come from.
//!
//! Under `cfg(runtime_loom)` every atomic, lock, cell and `Arc` used by the
//! lock-free parts (readiness vs waker registration, timer firing vs cancel
//! and reset, the task state word, the local run queue and LIFO slot, the
//! parker) is loom's, so the models beside that code explore their
//! interleavings; otherwise they are `std`'s atomics and cells and
//! `parking_lot`'s locks. `UnsafeCell` is wrapped behind `with`/`with_mut`
//! so both builds share one access pattern (and loom checks each access).
//!
//! Public only so that the `runtime` crate uses this same shim; not part of
//! the API.

#[cfg(not(runtime_loom))]
pub use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(runtime_loom))]
pub use std::sync::Arc;

#[cfg(runtime_loom)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(runtime_loom)]
pub use loom::sync::Arc;

/// An `UnsafeCell` that is loom's under `cfg(runtime_loom)`.
#[derive(Debug)]
pub struct UnsafeCell<T>(
    #[cfg(not(runtime_loom))] std::cell::UnsafeCell<T>,
    #[cfg(runtime_loom)] loom::cell::UnsafeCell<T>,
);

impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> UnsafeCell<T> {
        #[cfg(not(runtime_loom))]
        return UnsafeCell(std::cell::UnsafeCell::new(value));
        #[cfg(runtime_loom)]
        return UnsafeCell(loom::cell::UnsafeCell::new(value));
    }

    /// Runs `f` with a shared pointer to the value.
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(runtime_loom))]
        return f(self.0.get());
        #[cfg(runtime_loom)]
        return self.0.with(f);
    }

    /// Runs `f` with a unique pointer to the value.
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(runtime_loom))]
        return f(self.0.get());
        #[cfg(runtime_loom)]
        return self.0.with_mut(f);
    }
}

/// A mutex whose `lock` cannot fail: `parking_lot`'s, or loom's.
#[derive(Debug, Default)]
pub struct Mutex<T>(
    #[cfg(not(runtime_loom))] parking_lot::Mutex<T>,
    #[cfg(runtime_loom)] loom::sync::Mutex<T>,
);

/// The guard of a [`Mutex`].
#[cfg(not(runtime_loom))]
pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
/// The guard of a [`Mutex`].
#[cfg(runtime_loom)]
pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        #[cfg(not(runtime_loom))]
        return Mutex(parking_lot::Mutex::new(value));
        #[cfg(runtime_loom)]
        return Mutex(loom::sync::Mutex::new(value));
    }

    /// A mutex holding `value`, usable in a `const` or `static` (not under
    /// loom, whose locks cannot be built in `const`).
    #[cfg(not(runtime_loom))]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex(parking_lot::const_mutex(value))
    }

    /// Locks it, waiting as long as it takes.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(runtime_loom))]
        return self.0.lock();
        #[cfg(runtime_loom)]
        return self.0.lock().unwrap();
    }

    /// Locks it if nobody holds it.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(runtime_loom))]
        return self.0.try_lock();
        #[cfg(runtime_loom)]
        return self.0.try_lock().ok();
    }

    /// Locks it if it becomes free within `timeout`. Under loom, which has
    /// no clock, one `try_lock` after letting the other threads run.
    pub fn try_lock_for(&self, timeout: std::time::Duration) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(runtime_loom))]
        return self.0.try_lock_for(timeout);
        #[cfg(runtime_loom)]
        {
            let _ = timeout;
            loom::thread::yield_now();
            return self.0.try_lock().ok();
        }
    }
}

/// A condition variable paired with [`Mutex`]: `parking_lot`'s, or loom's.
#[derive(Debug, Default)]
pub struct Condvar(
    #[cfg(not(runtime_loom))] parking_lot::Condvar,
    #[cfg(runtime_loom)] loom::sync::Condvar,
);

impl Condvar {
    /// A condition variable nobody waits on.
    pub fn new() -> Condvar {
        #[cfg(not(runtime_loom))]
        return Condvar(parking_lot::Condvar::new());
        #[cfg(runtime_loom)]
        return Condvar(loom::sync::Condvar::new());
    }

    /// Releases `guard`'s lock, waits for a notification (or a spurious
    /// wake-up) and locks again.
    #[cfg(not(runtime_loom))]
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(&mut guard);
        guard
    }

    /// Releases `guard`'s lock, waits for a notification (or a spurious
    /// wake-up) and locks again.
    #[cfg(runtime_loom)]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap()
    }

    /// Waits until notified or `deadline`; returns whether it timed out.
    /// (Not under loom, which has no clock.)
    #[cfg(not(runtime_loom))]
    pub fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: std::time::Instant,
    ) -> bool {
        self.0.wait_until(guard, deadline).timed_out()
    }

    /// Wakes one waiter, if any.
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}
