//! [`SetOnce`]: a value set once, which tasks can wait for.
//!
//! # Protocol
//!
//! `claimed` is taken by exactly one [`SetOnce::set`] (a swap); that caller
//! writes `value`, then sets `value_set` and calls `notify_waiters`. A
//! [`SetOnce::wait`] creates its `Notified` (which records the
//! `notify_waiters` count) *before* it looks at `value_set`: if it sees the
//! value unset, the setter's `notify_waiters` comes after that look, so it
//! reaches this `Notified`. Both flags are `SeqCst`, so the look and the
//! setter's store are ordered with `Notify`'s own `SeqCst` state.
//!
//! Loom model: `loom_set_once_wait_sees_set` at the bottom of this file.

use std::cell::UnsafeCell;
use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;
use std::pin::pin;

use super::Notify;
use crate::shim::{AtomicBool, Ordering};

/// A cell written at most once, by [`set`](SetOnce::set); tasks can
/// [`wait`](SetOnce::wait) until it is. Unlike [`OnceCell`](super::OnceCell)
/// nothing runs to initialise it: whoever has the value sets it, and the
/// readers that waited wake up to it (an event carrying a value).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::SetOnce;
///
/// #[runtime::main]
/// async fn main() {
///     let shutdown_reason = Arc::new(SetOnce::new());
///     let r = shutdown_reason.clone();
///     let watcher = runtime::spawn(async move { *r.wait().await });
///     shutdown_reason.set("maintenance").unwrap();
///     assert!(shutdown_reason.set("again").is_err());
///     assert_eq!(watcher.await.unwrap(), "maintenance");
/// }
/// ```
pub struct SetOnce<T> {
    /// Taken by the one `set` that writes the value.
    claimed: AtomicBool,
    /// Set once `value` is written; cleared only through `&mut self`.
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    notify: Notify,
}

// SAFETY: moving the cell moves `T`.
unsafe impl<T: Send> Send for SetOnce<T> {}
// SAFETY: `&SetOnce` hands out `&T` (`Sync`) and may set the value from any
// thread (`Send`); `claimed` makes one writer, and `value_set` orders its
// write before every read.
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}

/// The error of [`SetOnce::set`]: the cell was set already (or another call
/// is setting it); the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// An empty cell.
    pub fn new() -> SetOnce<T> {
        SetOnce {
            claimed: AtomicBool::new(false),
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::new(),
        }
    }

    /// An empty cell, usable in a `static`.
    ///
    /// ```
    /// use runtime::sync::SetOnce;
    ///
    /// static PORT: SetOnce<u16> = SetOnce::const_new();
    /// PORT.set(8080).unwrap();
    /// assert_eq!(PORT.get(), Some(&8080));
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce {
            claimed: AtomicBool::new(false),
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::const_new(),
        }
    }

    /// A cell holding `value` if it is `Some`.
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        let cell = SetOnce::new();
        if let Some(v) = value {
            // A new cell: this is the one `set`.
            let _ = cell.set(v);
        }
        cell
    }

    /// A cell holding `value`, usable in a `static`.
    #[cfg(not(runtime_loom))]
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce {
            claimed: AtomicBool::new(true),
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            notify: Notify::const_new(),
        }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::SeqCst)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `value_set` says `value` was written (and the write is
            // ordered before this read); it is not written again through
            // `&self`.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Sets the value and wakes every task in [`wait`](SetOnce::wait).
    ///
    /// # Errors
    ///
    /// [`SetOnceError`], holding `value`, if the cell was set already or
    /// another call is setting it.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self.claimed.swap(true, Ordering::SeqCst) {
            return Err(SetOnceError(value));
        }
        // SAFETY: this call took `claimed`, so it is the only writer, and
        // no one reads `value` before `value_set` below.
        unsafe { (*self.value.get()).write(value) };
        self.value_set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        Ok(())
    }

    /// The value once it is set: at once if it is, otherwise when a
    /// [`set`](SetOnce::set) happens.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing (it consumes nothing
    /// from the cell).
    pub async fn wait(&self) -> &T {
        loop {
            if let Some(v) = self.get() {
                return v;
            }
            // Created before the second look (module protocol), so a `set`
            // after that look reaches it.
            let notified = pin!(self.notify.notified());
            if let Some(v) = self.get() {
                return v;
            }
            notified.await;
        }
    }

    /// The value, consuming the cell.
    pub fn into_inner(mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.value_set.store(false, Ordering::Relaxed);
        // SAFETY: it was set, and `value_set` is now clear, so `Drop` does
        // not drop it again.
        Some(unsafe { self.value.get_mut().assume_init_read() })
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: set, and never touched again.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> Self {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> Self {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::shim::Arc;
    use crate::sync::loom_block_on as block_on;
    use loom::thread;

    #[test]
    fn loom_set_once_wait_sees_set() {
        loom::model(|| {
            let cell = Arc::new(SetOnce::new());
            let c2 = cell.clone();
            let t = thread::spawn(move || c2.set(7).is_ok());
            let first = cell.set(8).is_ok();
            let v = *block_on(cell.wait());
            let second = t.join().unwrap();
            // Exactly one set wins, and the waiter sees its value.
            assert!(first != second);
            assert_eq!(v, if first { 8 } else { 7 });
        });
    }

    #[test]
    fn loom_set_once_waiter_woken_by_other_thread() {
        loom::model(|| {
            let cell = Arc::new(SetOnce::new());
            let c2 = cell.clone();
            let t = thread::spawn(move || c2.set(1).unwrap());
            assert_eq!(*block_on(cell.wait()), 1);
            t.join().unwrap();
        });
    }
}
