//! [`Semaphore`]: a fair counting semaphore, and its permits.

use std::fmt;
use std::sync::Arc;

pub use super::batch_semaphore::{AcquireError, TryAcquireError};
use super::batch_semaphore::{RawSemaphore, MAX_PERMITS};

/// A counting semaphore: a set of permits that tasks acquire and give back.
///
/// Waits are served first come, first served: a request for many permits at
/// the head of the queue is filled before any later request, however small,
/// so it cannot be starved. A permit is given back when its guard
/// ([`SemaphorePermit`], [`OwnedSemaphorePermit`]) is dropped.
///
/// Every acquisition takes part in the cooperative budget of the task.
///
/// # Examples
///
/// ```
/// use runtime::sync::Semaphore;
///
/// #[runtime::main]
/// async fn main() {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await.unwrap();
///     let b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert!(sem.try_acquire().is_ok());
///     drop(b);
/// }
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

/// Permits taken from a [`Semaphore`] by reference; given back on drop.
#[must_use = "the permits are given back at once if the guard is not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

/// Permits taken from an `Arc<Semaphore>`; given back on drop.
#[must_use = "the permits are given back at once if the guard is not kept"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `usize::MAX >> 3`.
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::new(permits),
        }
    }

    /// A semaphore with `permits` permits, usable in a `static`.
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// static PERMITS: Semaphore = Semaphore::const_new(10);
    /// assert_eq!(PERMITS.available_permits(), 10);
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::const_new(permits),
        }
    }

    /// How many permits are available now.
    pub fn available_permits(&self) -> usize {
        self.raw.available_permits()
    }

    /// Adds `n` permits, serving waiting tasks first.
    ///
    /// # Panics
    ///
    /// If the total would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        self.raw.release(n);
    }

    /// Removes up to `n` of the available permits (never waits); returns how
    /// many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.raw.forget_permits(n)
    }

    /// Acquires one permit, waiting for it in turn.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is (or gets) closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: dropping the future gives up the place in the
    /// queue, and any permits it had already been assigned go to the next
    /// waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let sem = Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(permit.num_permits(), 1);
    ///     assert_eq!(sem.available_permits(), 0);
    /// }
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.raw.acquire(1).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Acquires `n` permits at once, waiting for them in turn.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is (or gets) closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire): permits assigned to a dropped wait
    /// go to the next waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let sem = Semaphore::new(5);
    ///     let permit = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(sem.available_permits(), 2);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 5);
    /// }
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.raw.acquire(n as usize).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit if one is available now (and no task waits).
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`]
    /// if no permit is available.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available now.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(4);
    /// let p = sem.try_acquire_many(3).unwrap();
    /// assert!(sem.try_acquire_many(2).is_err());
    /// assert_eq!(p.num_permits(), 3);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.raw.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Acquires one permit from an `Arc<Semaphore>`, waiting for it in turn.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is (or gets) closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let sem = Arc::new(Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     let task = runtime::spawn(async move {
    ///         drop(permit);
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// }
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Acquires `n` permits from an `Arc<Semaphore>`, waiting in turn.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is (or gets) closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let sem = Arc::new(Semaphore::new(3));
    ///     let p = sem.clone().acquire_many_owned(3).await.unwrap();
    ///     assert_eq!(p.num_permits(), 3);
    /// }
    /// ```
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.raw.acquire(n as usize).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit from an `Arc<Semaphore>` if available now.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_err());
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits from an `Arc<Semaphore>` if available now.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// let p = sem.clone().try_acquire_many_owned(2).unwrap();
    /// assert_eq!(p.num_permits(), 2);
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.raw.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Closes the semaphore: waiting acquisitions fail with
    /// [`AcquireError`], and so do later ones. Permits already held stay
    /// valid, and giving them back still adds to the count.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
    /// ```
    pub fn close(&self) {
        self.raw.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<'a> SemaphorePermit<'a> {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this guard.
    ///
    /// # Panics
    ///
    /// If `other` comes from another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits of different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits off into a new guard; `None` if it holds fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.raw.release(self.permits as usize);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this guard.
    ///
    /// # Panics
    ///
    /// If `other` comes from another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits of different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits off into a new guard; `None` if it holds fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore the permits come from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.raw.release(self.permits as usize);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
