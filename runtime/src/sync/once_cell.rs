//! [`OnceCell`]: a value set at most once, asynchronously initialised.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

use super::batch_semaphore::RawSemaphore;
use crate::shim::{AtomicBool, Ordering};

/// A cell written at most once; [`get_or_init`](OnceCell::get_or_init) runs
/// one initialiser at a time, and tasks calling it meanwhile wait for it.
///
/// If an initialiser is cancelled (its future dropped) or fails, the next
/// waiting task runs its own.
///
/// # Examples
///
/// ```
/// use runtime::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// #[runtime::main]
/// async fn main() {
///     let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(v, "loaded");
///     assert_eq!(CONFIG.get().map(String::as_str), Some("loaded"));
/// }
/// ```
pub struct OnceCell<T> {
    /// Set (with `Release`) once `value` is written; never cleared except
    /// through `&mut self`.
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    /// One permit: the right to initialise. Closed once the value is set,
    /// which wakes every waiting initialiser to read it.
    semaphore: RawSemaphore,
}

// SAFETY: moving the cell moves `T`.
unsafe impl<T: Send> Send for OnceCell<T> {}
// SAFETY: `&OnceCell` hands out `&T` (`Sync`) and may set the value from any
// thread (`Send`); the semaphore and `value_set` order the write before
// every read.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// The error of [`OnceCell::set`]: the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell was already set.
    AlreadyInitializedError(T),
    /// Another task is initialising the cell.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether the cell was already set.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether another task was initialising it.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

/// Gives the initialising permit back if the initialiser does not finish.
struct InitPermit<'a>(&'a RawSemaphore);

impl Drop for InitPermit<'_> {
    fn drop(&mut self) {
        self.0.release(1);
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: RawSemaphore::new(1),
        }
    }

    /// An empty cell, usable in a `static`.
    #[cfg(not(runtime_loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: RawSemaphore::const_new(1),
        }
    }

    /// A cell holding `value` if it is `Some`.
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(v) = value {
            cell.write_and_close(v);
        }
        cell
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `value_set` (read with `Acquire`) says `value` was
            // written, and it is never written again through `&self`.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value, if set, through a unique borrow.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: set (as in `get`), and uniquely borrowed.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Writes the value (the caller holds the one permit) and closes the
    /// semaphore, waking every waiting initialiser.
    fn write_and_close(&self, value: T) -> &T {
        // SAFETY: the caller holds the initialising permit (or the cell is
        // new), so no one else writes `value`, and no one reads it before
        // `value_set` below.
        let v = unsafe { (*self.value.get()).write(value) };
        self.value_set.store(true, Ordering::Release);
        self.semaphore.close();
        v
    }

    /// Sets the value if the cell is empty and no task is initialising it.
    ///
    /// # Errors
    ///
    /// [`SetError`], holding `value`, otherwise.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire(1) {
            Ok(()) => {
                self.write_and_close(value);
                Ok(())
            }
            Err(e) if e.is_closed() => Err(SetError::AlreadyInitializedError(value)),
            Err(_) => Err(SetError::InitializingError(value)),
        }
    }

    /// The value, running `f` to set it first if the cell is empty. One
    /// initialiser runs at a time; the others wait for its result.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if this call's initialiser is dropped before it
    /// finishes, another waiting call runs its own.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(v) = self.get() {
            return v;
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let permit = InitPermit(&self.semaphore);
                let value = f().await;
                std::mem::forget(permit);
                self.write_and_close(value)
            }
            Err(_) => self.get().expect("closed only once the value is set"),
        }
    }

    /// As [`get_or_init`](OnceCell::get_or_init), with a fallible
    /// initialiser: on `Err` the cell stays empty and the next waiting call
    /// runs its own.
    ///
    /// # Errors
    ///
    /// The initialiser's error.
    ///
    /// # Cancel safety
    ///
    /// As [`get_or_init`](OnceCell::get_or_init).
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let permit = InitPermit(&self.semaphore);
                let value = f().await?;
                std::mem::forget(permit);
                Ok(self.write_and_close(value))
            }
            Err(_) => Ok(self.get().expect("closed only once the value is set")),
        }
    }

    /// The value, consuming the cell.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.value_set.store(false, Ordering::Relaxed);
        self.semaphore = RawSemaphore::new(1);
        // SAFETY: it was set, and `value_set` is now clear, so it is not
        // read or dropped again.
        Some(unsafe { self.value.get_mut().assume_init_read() })
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: set, and never touched again.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
