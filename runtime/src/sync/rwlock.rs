//! [`RwLock`]: an asynchronous, fair reader-writer lock, and its guards.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::batch_semaphore::RawSemaphore;
use super::TryLockError;

/// The most readers an `RwLock` admits at once (as tokio's).
const MAX_READS: u32 = u32::MAX >> 3;

/// An asynchronous reader-writer lock: any number of readers, or one writer.
///
/// Fair (first come, first served): a writer waiting behind readers is not
/// starved by readers arriving after it, which queue behind it. Built on the
/// fair semaphore of [`Semaphore`](super::Semaphore): a reader takes one
/// permit, a writer all of them (`max_readers`).
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// #[runtime::main]
/// async fn main() {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// }
/// ```
pub struct RwLock<T: ?Sized> {
    /// Permits a writer takes: every one there is.
    mr: u32,
    s: RawSemaphore,
    c: UnsafeCell<T>,
}

// SAFETY: moving the lock moves `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers share `&T` across threads (`Sync`); a writer gets `&mut T`
// on any thread (`Send`); the semaphore keeps them apart.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked `RwLock` holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked `RwLock` admitting at most `max_reads` readers at once.
    ///
    /// # Panics
    ///
    /// If `max_reads` is zero or above `u32::MAX >> 3`.
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads <= MAX_READS && max_reads > 0,
            "a lock must admit between 1 and {MAX_READS} readers"
        );
        RwLock {
            mr: max_reads,
            s: RawSemaphore::new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// An unlocked `RwLock`, usable in a `static`.
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// static CONFIG: RwLock<u32> = RwLock::const_new(1);
    /// assert_eq!(*CONFIG.try_read().unwrap(), 1);
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// [`with_max_readers`](RwLock::with_max_readers), usable in a `static`.
    #[cfg(not(runtime_loom))]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(max_reads <= MAX_READS && max_reads > 0);
        RwLock {
            mr: max_reads,
            s: RawSemaphore::const_new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.c.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    async fn acquire(&self, n: u32) {
        if self.s.acquire(n as usize).await.is_err() {
            unreachable!("an RwLock's semaphore is never closed");
        }
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            s: &self.s,
            // SAFETY: `UnsafeCell::get` is never null.
            data: unsafe { NonNull::new_unchecked(self.c.get()) },
            marker: PhantomData,
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            s: &self.s,
            permits: self.mr,
            // SAFETY: `UnsafeCell::get` is never null.
            data: unsafe { NonNull::new_unchecked(self.c.get()) },
            marker: PhantomData,
        }
    }

    /// Locks for reading, waiting in turn (behind any earlier writer).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: a dropped wait gives up its place.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let lock = RwLock::new(1);
    ///     let r = lock.read().await;
    ///     assert!(lock.try_read().is_ok());
    ///     assert!(lock.try_write().is_err());
    ///     drop(r);
    /// }
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        self.read_guard()
    }

    /// [`read`](RwLock::read) from a thread outside the runtime, blocking it.
    ///
    /// # Panics
    ///
    /// If called from a thread that drives a runtime.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block::block_on("RwLock::blocking_read", self.read())
    }

    /// Locks an `Arc<RwLock>` for reading; the guard owns the `Arc`.
    ///
    /// # Cancel safety
    ///
    /// As [`read`](RwLock::read).
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard::new(self)
    }

    /// Locks for reading if that is possible now.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(self.read_guard()),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_read`](RwLock::try_read) on an `Arc<RwLock>`.
    ///
    /// # Errors
    ///
    /// As [`try_read`](RwLock::try_read).
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedRwLockReadGuard::new(self)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks for writing, waiting in turn.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: a dropped wait gives up its place, and the
    /// reader permits it had gathered go on to the next waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let lock = RwLock::new(vec![1]);
    ///     lock.write().await.push(2);
    ///     assert_eq!(*lock.read().await, [1, 2]);
    /// }
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.mr).await;
        self.write_guard()
    }

    /// [`write`](RwLock::write) from a thread outside the runtime, blocking
    /// it.
    ///
    /// # Panics
    ///
    /// If called from a thread that drives a runtime.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block::block_on("RwLock::blocking_write", self.write())
    }

    /// Locks an `Arc<RwLock>` for writing; the guard owns the `Arc`.
    ///
    /// # Cancel safety
    ///
    /// As [`write`](RwLock::write).
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.mr).await;
        OwnedRwLockWriteGuard::new(self)
    }

    /// Locks for writing if that is possible now.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held (or waited for).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(self.mr as usize) {
            Ok(()) => Ok(self.write_guard()),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_write`](RwLock::try_write) on an `Arc<RwLock>`.
    ///
    /// # Errors
    ///
    /// As [`try_write`](RwLock::try_write).
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_acquire(self.mr as usize) {
            Ok(()) => Ok(OwnedRwLockWriteGuard::new(self)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(t: T) -> Self {
        RwLock::new(t)
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to (a part of) an [`RwLock`]'s value; unlocks on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    s: &'a RawSemaphore,
    /// Points into the locked value, valid while the read permit is held.
    data: NonNull<T>,
    marker: PhantomData<&'a T>,
}

// SAFETY: the guard is a `&T` plus a permit to give back.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// A read guard of a part of the value; the lock stays held.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = NonNull::from(f(&*this));
        let s = this.s;
        mem::forget(this);
        RwLockReadGuard {
            s,
            data,
            marker: PhantomData,
        }
    }

    /// As [`map`](RwLockReadGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data = match f(&*this) {
            Some(d) => NonNull::from(d),
            None => return Err(this),
        };
        let s = this.s;
        mem::forget(this);
        Ok(RwLockReadGuard {
            s,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value and a read permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

/// Unique access to an [`RwLock`]'s value; unlocks on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    s: &'a RawSemaphore,
    /// The lock's `max_readers`: every permit.
    permits: u32,
    /// Points into the locked value, valid while the permits are held.
    data: NonNull<T>,
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T` (and may be downgraded to a `&T`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// A write guard of a part of the value; the lock stays held.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let (s, permits) = (this.s, this.permits);
        mem::forget(this);
        RwLockMappedWriteGuard {
            s,
            permits,
            data,
            marker: PhantomData,
        }
    }

    /// As [`map`](RwLockWriteGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(d) => NonNull::from(d),
            None => return Err(this),
        };
        let (s, permits) = (this.s, this.permits);
        mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            s,
            permits,
            data,
            marker: PhantomData,
        })
    }

    /// Turns the write lock into a read lock without letting a writer in
    /// between; waiting readers may then join.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let lock = RwLock::new(1);
    ///     let mut w = lock.write().await;
    ///     *w = 2;
    ///     let r = RwLockWriteGuard::downgrade(w);
    ///     assert_eq!(*lock.try_read().unwrap(), 2);
    ///     assert_eq!(*r, 2);
    /// }
    /// ```
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let (s, permits, data) = (this.s, this.permits, this.data);
        mem::forget(this);
        s.release(permits as usize - 1);
        RwLockReadGuard {
            s,
            data,
            marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value and every permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

/// A [`RwLockWriteGuard`] narrowed to a part of the value; unlocks on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    s: &'a RawSemaphore,
    permits: u32,
    data: NonNull<T>,
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T`.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("the closure always returns `Some`"),
        }
    }

    /// As [`map`](RwLockMappedWriteGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => {
                let (s, permits) = (this.s, this.permits);
                mem::forget(this);
                Ok(RwLockMappedWriteGuard {
                    s,
                    permits,
                    data,
                    marker: PhantomData,
                })
            }
            None => Err(this),
        }
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value and every permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

/// Takes the `Arc` out of an owned guard without running its `Drop` (the
/// permits go with the `Arc` to the guard built from it).
macro_rules! take_lock {
    ($this:expr) => {{
        let this = ManuallyDrop::new($this);
        // SAFETY: `this` is never used or dropped again.
        unsafe { std::ptr::read(&this.lock) }
    }};
}

/// Shared access through an `Arc<RwLock>`; unlocks on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
}

// SAFETY: the guard owns an `Arc<RwLock<T>>` and is a `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockReadGuard<T, U> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    fn new(lock: Arc<RwLock<T>>) -> Self {
        // SAFETY: `UnsafeCell::get` is never null.
        let data = unsafe { NonNull::new_unchecked(lock.c.get()) };
        OwnedRwLockReadGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// A read guard of a part of the value; the lock stays held.
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("the closure always returns `Some`"),
        }
    }

    /// As [`map`](OwnedRwLockReadGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<V: ?Sized, F>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        match f(&*this).map(NonNull::from) {
            Some(data) => Ok(OwnedRwLockReadGuard {
                lock: take_lock!(this),
                data,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value and a read permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

/// Unique access through an `Arc<RwLock>`; unlocks on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    data: NonNull<T>,
}

// SAFETY: the guard owns an `Arc<RwLock<T>>` and is a `&mut T`.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: sharing it shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    fn new(lock: Arc<RwLock<T>>) -> Self {
        // SAFETY: `UnsafeCell::get` is never null.
        let data = unsafe { NonNull::new_unchecked(lock.c.get()) };
        OwnedRwLockWriteGuard { lock, data }
    }

    /// The same lock as a mapped guard of the whole value, for the
    /// narrowing methods (which live on [`OwnedRwLockMappedWriteGuard`]).
    fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T, T> {
        let data = this.data;
        OwnedRwLockMappedWriteGuard {
            lock: take_lock!(this),
            data,
        }
    }

    /// A write guard of a part of the value; the lock stays held.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        OwnedRwLockMappedWriteGuard::map(Self::into_mapped(this), f)
    }

    /// As [`map`](OwnedRwLockWriteGuard::map), unless `f` returns `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        OwnedRwLockMappedWriteGuard::try_map(Self::into_mapped(this), f).map_err(|whole| {
            let data = whole.data;
            OwnedRwLockWriteGuard {
                lock: take_lock!(whole),
                data,
            }
        })
    }

    /// Turns the write lock into a read lock of a part of the value, with
    /// no writer in between.
    pub fn downgrade_map<U: ?Sized, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = NonNull::from(f(&*this));
        let lock = take_lock!(this);
        lock.s.release(lock.mr as usize - 1);
        OwnedRwLockReadGuard { lock, data }
    }

    /// Turns the write lock into a read lock with no writer in between.
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again.
        let lock = unsafe { std::ptr::read(&this.lock) };
        lock.s.release(lock.mr as usize - 1);
        OwnedRwLockReadGuard::new(lock)
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value and every permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr as usize);
    }
}

/// An [`OwnedRwLockWriteGuard`] narrowed to a part of the value.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
}

// SAFETY: the guard owns an `Arc<RwLock<T>>` and is a `&mut U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: sharing it shares `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// Narrows the guard further; the lock stays held.
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("the closure always returns `Some`"),
        }
    }

    /// As [`map`](OwnedRwLockMappedWriteGuard::map), unless `f` returns
    /// `None`.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<V: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => Ok(OwnedRwLockMappedWriteGuard {
                lock: take_lock!(this),
                data,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value and every permit is held.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, uniquely borrowed.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr as usize);
    }
}

macro_rules! fmt_via_deref {
    ($($ty:ty => [$($gen:tt)*]),* $(,)?) => {$(
        impl<$($gen)*> fmt::Debug for $ty where Self: Deref, <Self as Deref>::Target: fmt::Debug {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
        impl<$($gen)*> fmt::Display for $ty where Self: Deref, <Self as Deref>::Target: fmt::Display {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}

fmt_via_deref!(
    RwLockReadGuard<'_, T> => [T: ?Sized],
    RwLockWriteGuard<'_, T> => [T: ?Sized],
    RwLockMappedWriteGuard<'_, T> => [T: ?Sized],
    OwnedRwLockReadGuard<T, U> => [T: ?Sized, U: ?Sized],
    OwnedRwLockWriteGuard<T> => [T: ?Sized],
    OwnedRwLockMappedWriteGuard<T, U> => [T: ?Sized, U: ?Sized],
);
