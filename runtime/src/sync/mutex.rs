//! [`Mutex`]: an asynchronous, fair mutual-exclusion lock, and its guards.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::batch_semaphore::RawSemaphore;

/// An asynchronous mutual-exclusion lock: [`lock`](Mutex::lock) waits (as a
/// task, not a thread) until the lock is free, and the guard may be held
/// across `.await`.
///
/// Fair: the lock is handed to the waiting tasks in the order they asked.
/// Unlocking with no waiter and locking an unlocked mutex are one atomic
/// compare-and-swap each. Built on the same semaphore as [`Semaphore`]
/// (with one permit).
///
/// [`Semaphore`]: super::Semaphore
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Mutex;
///
/// #[runtime::main]
/// async fn main() {
///     let count = Arc::new(Mutex::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..4 {
///         let count = count.clone();
///         tasks.push(runtime::spawn(async move {
///             *count.lock().await += 1;
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 4);
/// }
/// ```
pub struct Mutex<T: ?Sized> {
    /// One permit: whoever holds it may touch `data`.
    s: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands `T` between threads but never shares it: only the
// holder of the one permit reaches `data`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex` gives at most one `&mut T` at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The error of [`Mutex::try_lock`] (and of [`RwLock`]'s `try_*`): the lock
/// is held.
///
/// [`RwLock`]: super::RwLock
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `t`.
    pub fn new(t: T) -> Mutex<T> {
        Mutex {
            s: RawSemaphore::new(1),
            data: UnsafeCell::new(t),
        }
    }

    /// An unlocked mutex holding `t`, usable in a `static`.
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// static COUNT: Mutex<u32> = Mutex::const_new(0);
    /// # let _ = &COUNT;
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn const_new(t: T) -> Mutex<T> {
        Mutex {
            s: RawSemaphore::const_new(1),
            data: UnsafeCell::new(t),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting in turn.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: dropping the future gives up its place in the
    /// queue (and passes the lock on if it had just been handed to it).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let m = Mutex::new(1);
    ///     let mut g = m.lock().await;
    ///     *g = 2;
    ///     drop(g);
    ///     assert_eq!(*m.lock().await, 2);
    /// }
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard { lock: self }
    }

    async fn acquire(&self) {
        // The semaphore of a mutex is never closed.
        if self.s.acquire(1).await.is_err() {
            unreachable!("a mutex's semaphore is never closed");
        }
    }

    /// Locks the mutex from a thread outside the runtime, blocking it.
    ///
    /// # Panics
    ///
    /// If called from a thread that drives a runtime (inside a task or a
    /// `block_on`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Mutex;
    ///
    /// let m = Arc::new(Mutex::new(1));
    /// let m2 = m.clone();
    /// std::thread::spawn(move || *m2.blocking_lock() += 1).join().unwrap();
    /// assert_eq!(*m.blocking_lock(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block::block_on("Mutex::blocking_lock", self.lock())
    }

    /// [`lock_owned`](Mutex::lock_owned) from a thread outside the runtime,
    /// blocking it.
    ///
    /// # Panics
    ///
    /// As [`blocking_lock`](Mutex::blocking_lock).
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::block::block_on("Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// Locks an `Arc<Mutex>`, waiting in turn; the guard owns the `Arc`.
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Mutex::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Mutex;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let mut g = m.clone().lock_owned().await;
    ///     runtime::spawn(async move { *g += 1 }).await.unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// }
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard { lock: self }
    }

    /// Locks the mutex if it is free now (and no task waits for it).
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let m = Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_lock`](Mutex::try_lock) on an `Arc<Mutex>`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Holds a [`Mutex`] locked; unlocks it when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

// SAFETY: sharing the guard shares only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// A guard of a part of the locked value; the lock stays held.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, MutexGuard};
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let m = Mutex::new((1, 2));
    ///     let mut second = MutexGuard::map(m.lock().await, |p| &mut p.1);
    ///     *second = 5;
    ///     drop(second);
    ///     assert_eq!(*m.lock().await, (1, 5));
    /// }
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let s = &this.lock.s;
        mem::forget(this);
        MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        }
    }

    /// As [`map`](MutexGuard::map), unless `f` returns `None`: then the
    /// original guard comes back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        let s = &this.lock.s;
        mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        })
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's one permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's one permit, uniquely borrowed.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] narrowed to a part of the value by
/// [`MutexGuard::map`]; unlocks the mutex when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    s: &'a RawSemaphore,
    /// Points into the locked value, valid while the permit is held.
    data: NonNull<T>,
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T` plus a permit to give back.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard shares only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let s = this.s;
        mem::forget(this);
        MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        }
    }

    /// Narrows the guard further, unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        let s = this.s;
        mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the locked value and the permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Holds an `Arc<Mutex>` locked; unlocks it when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

// SAFETY: sharing the guard shares `&T` (and the `Arc`, shareable when `T`
// is `Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The same lock as a guard of the whole value, for the narrowing
    /// methods (which all live on [`OwnedMappedMutexGuard`]).
    fn into_mapped(this: Self) -> OwnedMappedMutexGuard<T, T> {
        // SAFETY: `UnsafeCell::get` is never null.
        let data = unsafe { NonNull::new_unchecked(this.lock.data.get()) };
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again; its permit goes
        // with the `Arc` to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedMappedMutexGuard { lock, data }
    }

    /// A guard of a part of the locked value; the lock stays held.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        OwnedMappedMutexGuard::map(Self::into_mapped(this), f)
    }

    /// As [`map`](OwnedMutexGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        OwnedMappedMutexGuard::try_map(Self::into_mapped(this), f).map_err(|whole| {
            let whole = ManuallyDrop::new(whole);
            // SAFETY: `whole` is never used or dropped again; its permit
            // goes back to an `OwnedMutexGuard`.
            let lock = unsafe { std::ptr::read(&whole.lock) };
            OwnedMutexGuard { lock }
        })
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's one permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's one permit, uniquely borrowed.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An [`OwnedMutexGuard`] narrowed to a part of the value.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    /// Points into the locked value, valid while the permit is held.
    data: NonNull<U>,
}

// SAFETY: the guard owns the lock (an `Arc<Mutex<T>>`, sendable when `T`
// is) and is a `&mut U`.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: sharing the guard shares only `&U` (and the `Arc`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Narrows the guard further; the lock stays held.
    pub fn map<S: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("the closure always returns `Some`"),
        }
    }

    /// As [`map`](OwnedMappedMutexGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<S: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again.
        let lock = unsafe { std::ptr::read(&this.lock) };
        Ok(OwnedMappedMutexGuard { lock, data })
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the locked value and the permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
