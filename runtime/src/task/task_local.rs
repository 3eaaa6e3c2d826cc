//! Task-local storage: [`task_local!`](crate::task_local), [`LocalKey`],
//! [`TaskLocalFuture`], with tokio's semantics.
//!
//! # Implementation
//!
//! Each key is a thread-local `RefCell<Option<T>>`, empty outside every
//! scope. A scope owns its value in a slot of its own (the
//! [`TaskLocalFuture`], or a local of [`LocalKey::sync_scope`]) and swaps it
//! into the thread-local for the duration of each poll (or of the closure),
//! then swaps it back out, so the value lives with the future, not with a
//! thread: it follows a task from worker to worker, and another task polled
//! on the same thread in between never sees it. What the thread-local held
//! before (an enclosing scope's value, or nothing) waits in the slot
//! meanwhile and is put back by the swap-out.
//!
//! The swap-out runs in a guard's `Drop`, so it also happens while a panic
//! unwinds out of the poll or closure: the enclosing value is restored and
//! the scope keeps its own. No user code runs while the cell is mutably
//! borrowed (a swap runs none), so [`LocalKey::with`]'s shared borrow never
//! fails; entering a scope from inside `with`'s closure does, and panics.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys: statics of type [`LocalKey`] whose value is set
/// for the duration of a future ([`LocalKey::scope`]) or a closure
/// ([`LocalKey::sync_scope`]).
///
/// The syntax is that of [`std::thread_local!`], without an initializer:
/// any number of `static NAME: Type;` declarations, each with its own
/// attributes and visibility. Outside every scope a key has no value.
///
/// # Examples
///
/// ```
/// runtime::task_local! {
///     /// The id of the request being served.
///     pub static REQUEST_ID: u64;
///     static USER: String;
/// }
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// REQUEST_ID
///     .scope(7, async {
///         runtime::task::yield_now().await;
///         assert_eq!(REQUEST_ID.get(), 7);
///         assert!(USER.try_with(|_| ()).is_err());
///     })
///     .await;
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

/// One key of [`task_local!`](crate::task_local); not part of the public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __RUNTIME_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey {
                inner: __RUNTIME_TASK_LOCAL,
            }
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local).
///
/// A value is set for the duration of a future with [`scope`](Self::scope)
/// (it is in place while the future is polled, on whichever thread polls it)
/// or of a closure with [`sync_scope`](Self::sync_scope); scopes nest, the
/// innermost value winning. Read it with [`with`](Self::with),
/// [`try_with`](Self::try_with), [`get`](Self::get) or
/// [`try_get`](Self::try_get).
///
/// Unlike a thread-local, a task-local is not inherited: a task
/// [`spawn`](crate::spawn)ed from inside a scope does not see its value.
///
/// # Examples
///
/// ```
/// runtime::task_local! {
///     static DEPTH: u32;
/// }
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// DEPTH
///     .scope(1, async {
///         DEPTH
///             .scope(2, async { assert_eq!(DEPTH.get(), 2) })
///             .await;
///         assert_eq!(DEPTH.get(), 1);
///     })
///     .await;
/// # });
/// ```
pub struct LocalKey<T: 'static> {
    /// The thread-local the value is swapped into while a scope runs. Set
    /// by [`task_local!`](crate::task_local); not part of the public API.
    #[doc(hidden)]
    pub inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

/// Why a scope could not be entered.
enum EnterError {
    /// The key's cell is borrowed: a scope entered from `with`'s closure.
    Borrowed,
    /// The thread-local was destroyed (the thread is exiting).
    Destroyed,
}

impl EnterError {
    #[track_caller]
    fn panic(&self) -> ! {
        match self {
            EnterError::Borrowed => panic!(
                "cannot enter a task-local scope while the task-local storage is borrowed \
                 (from inside `LocalKey::with`)"
            ),
            EnterError::Destroyed => panic!(
                "cannot enter a task-local scope during or after destruction of the \
                 underlying thread-local"
            ),
        }
    }
}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with `value` as this key's value: the returned future
    /// sets it around each poll of `future`, on whatever thread polls it,
    /// and drops it when the future is dropped.
    ///
    /// Inside, [`with`](Self::with) and the other accessors see `value`
    /// (or the value of a scope nested inside); outside, they see what they
    /// saw before. When `future` is dropped before completing, it is dropped
    /// with `value` still in place, so its destructors may read it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future` (and `value`); it is as
    /// cancel-safe as `future` is.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static NAME: &'static str;
    /// }
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let len = NAME
    ///     .scope("worker", async { NAME.with(|name| name.len()) })
    ///     .await;
    /// assert_eq!(len, 6);
    /// # });
    /// ```
    pub fn scope<F>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F>
    where
        F: Future,
    {
        TaskLocalFuture {
            local: self,
            slot: Some(value),
            future: Some(future),
            _pinned: PhantomPinned,
        }
    }

    /// Runs `f` with `value` as this key's value, then drops `value` and
    /// puts back what was there before.
    ///
    /// # Panics
    ///
    /// When called from inside the closure of [`with`](Self::with) or
    /// [`try_with`](Self::try_with) of the same key, or while the thread
    /// is exiting. A panic in `f` passes through, after the previous value
    /// was put back.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static LIMIT: usize;
    /// }
    ///
    /// let twice = LIMIT.sync_scope(10, || LIMIT.get() * 2);
    /// assert_eq!(twice, 20);
    /// assert!(LIMIT.try_get().is_err());
    /// ```
    #[track_caller]
    pub fn sync_scope<F, R>(&'static self, value: T, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        let mut slot = Some(value);
        match self.enter(&mut slot, f) {
            Ok(r) => r,
            Err(e) => e.panic(),
        }
    }

    /// Swaps `slot` into the thread-local, runs `f`, and swaps it back out
    /// (also when `f` panics).
    fn enter<F, R>(&'static self, slot: &mut Option<T>, f: F) -> Result<R, EnterError>
    where
        F: FnOnce() -> R,
    {
        /// Swaps the slot back out when dropped.
        struct Leave<'a, T: 'static> {
            key: &'static LocalKey<T>,
            slot: &'a mut Option<T>,
        }

        impl<T: 'static> Drop for Leave<'_, T> {
            fn drop(&mut self) {
                // Neither call can fail: the thread-local was alive when the
                // scope was entered and this thread is still inside it, and
                // every borrow made while `f` ran (through `with`) has ended,
                // because none outlives its closure.
                self.key
                    .inner
                    .with(|cell| std::mem::swap(self.slot, &mut *cell.borrow_mut()));
            }
        }

        self.inner
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut current) => {
                    std::mem::swap(slot, &mut *current);
                    Ok(())
                }
                Err(_) => Err(EnterError::Borrowed),
            })
            .map_err(|_| EnterError::Destroyed)??;
        let _leave = Leave { key: self, slot };
        Ok(f())
    }

    /// Calls `f` with a reference to this key's value.
    ///
    /// # Panics
    ///
    /// Outside every scope of this key:
    /// "cannot access a task-local storage value without setting it first".
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static TAGS: Vec<&'static str>;
    /// }
    ///
    /// TAGS.sync_scope(vec!["a", "b"], || {
    ///     assert_eq!(TAGS.with(|t| t.len()), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Calls `f` with a reference to this key's value, if it has one here.
    ///
    /// # Errors
    ///
    /// [`AccessError`] outside every scope of this key (and while the
    /// thread is exiting).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static TRACE: bool;
    /// }
    ///
    /// assert!(TRACE.try_with(|t| *t).is_err());
    /// assert_eq!(TRACE.sync_scope(true, || TRACE.try_with(|t| *t)), Ok(true));
    /// ```
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        // A destroyed thread-local is outside every scope.
        match self.inner.try_with(|cell| cell.borrow().as_ref().map(f)) {
            Ok(Some(r)) => Ok(r),
            Ok(None) | Err(_) => Err(AccessError { _private: () }),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of this key's value.
    ///
    /// # Panics
    ///
    /// Outside every scope of this key, as [`with`](Self::with) does.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static PORT: u16;
    /// }
    ///
    /// assert_eq!(PORT.sync_scope(8080, || PORT.get()), 8080);
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A clone of this key's value, if it has one here.
    ///
    /// # Errors
    ///
    /// [`AccessError`] outside every scope of this key.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! {
    ///     static PORT: u16;
    /// }
    ///
    /// assert!(PORT.try_get().is_err());
    /// ```
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// The future returned by [`LocalKey::scope`]: the inner future, run with
/// the key's value in place around each poll.
///
/// # Panics
///
/// Polling it again after it completed panics, and so does polling it from
/// inside [`LocalKey::with`]'s closure of the same key.
#[must_use = "futures do nothing unless polled"]
pub struct TaskLocalFuture<T: 'static, F> {
    /// The key this scope sets.
    local: &'static LocalKey<T>,
    /// The scope's value while the inner future is not being polled; during
    /// a poll, whatever the thread-local held before. Not pinned.
    slot: Option<T>,
    /// The inner future, `None` once it completed. Structurally pinned: it
    /// is polled in place and only ever dropped in place.
    future: Option<F>,
    /// `!Unpin` whatever `F` is, as tokio's.
    _pinned: PhantomPinned,
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the scope's value out, leaving the key unset inside the future
    /// from now on; `None` if it was taken already.
    ///
    /// Useful to get the value back after the future completed, or instead
    /// of dropping it with the future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::pin;
    ///
    /// runtime::task_local! {
    ///     static BUF: Vec<u8>;
    /// }
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut fut = pin!(BUF.scope(vec![1, 2], async { BUF.with(|b| b.len()) }));
    /// assert_eq!(fut.as_mut().await, 2);
    /// assert_eq!(fut.as_mut().take_value(), Some(vec![1, 2]));
    /// assert_eq!(fut.take_value(), None);
    /// # });
    /// ```
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        // SAFETY: only `slot`, which is not structurally pinned, is touched;
        // `future` is not moved.
        unsafe { self.get_unchecked_mut() }.slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned (see the field): it is
        // re-pinned below without being moved, and only ever dropped in
        // place; `slot` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let future = &mut this.future;
        let polled = this.local.enter(&mut this.slot, || {
            let fut = future.as_mut()?;
            // SAFETY: `fut` lives in the pinned `TaskLocalFuture` and is not
            // moved (see above).
            let res = unsafe { Pin::new_unchecked(fut) }.poll(cx);
            if res.is_ready() {
                // Dropped in place, inside the scope.
                *future = None;
            }
            Some(res)
        });
        match polled {
            Ok(Some(res)) => res,
            Ok(None) => panic!("`TaskLocalFuture` polled after completion"),
            Err(e) => e.panic(),
        }
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if std::mem::needs_drop::<F>() && self.future.is_some() {
            // Drop the inner future (in place) with the value in scope. If
            // the scope can't be entered (inside `with`, or the thread is
            // exiting), it is dropped without, by the field's own drop.
            let future = &mut self.future;
            let _ = self.local.enter(&mut self.slot, || *future = None);
        }
    }
}

impl<T: fmt::Debug + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.slot)
            .finish_non_exhaustive()
    }
}

/// The error of [`LocalKey::try_with`] and [`LocalKey::try_get`]: the key
/// has no value here (outside every scope of it).
///
/// tokio has this type too but does not name it in its API; here it is
/// `runtime::task::AccessError`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    crate::task_local! {
        static KEY: u32;
        static NAME: String;
    }

    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn value_is_set_only_during_polls() {
        let mut polls = 0;
        let mut fut = pin!(KEY.scope(
            3,
            std::future::poll_fn(|cx| {
                assert_eq!(KEY.get(), 3);
                polls += 1;
                if polls < 2 {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(KEY.get() + 1)
                }
            })
        ));
        assert!(poll_once(fut.as_mut()).is_pending());
        assert!(KEY.try_get().is_err());
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready(4));
        assert!(KEY.try_get().is_err());
        assert_eq!(fut.as_mut().take_value(), Some(3));
    }

    #[test]
    fn panic_in_poll_restores_outer_value() {
        KEY.sync_scope(1, || {
            let fut = KEY.scope(2, async {
                assert_eq!(KEY.get(), 2);
                panic!("inner");
            });
            let mut fut = Box::pin(fut);
            let r = catch_unwind(AssertUnwindSafe(|| poll_once(fut.as_mut())));
            assert!(r.is_err());
            assert_eq!(KEY.get(), 1);
            // The scope kept its value.
            assert_eq!(fut.as_mut().take_value(), Some(2));
        });
        assert!(KEY.try_get().is_err());
    }

    #[test]
    fn drop_sees_the_value() {
        struct Probe(std::rc::Rc<std::cell::Cell<Option<String>>>);
        impl Drop for Probe {
            fn drop(&mut self) {
                self.0.set(NAME.try_get().ok());
            }
        }
        let seen = std::rc::Rc::new(std::cell::Cell::new(None));
        let probe = Probe(seen.clone());
        let mut fut = Box::pin(NAME.scope("n".to_owned(), async move {
            let _probe = probe;
            std::future::pending::<()>().await;
        }));
        assert!(poll_once(fut.as_mut()).is_pending());
        drop(fut);
        assert_eq!(seen.take().as_deref(), Some("n"));
    }

    #[test]
    fn scope_inside_with_panics() {
        let r = catch_unwind(|| KEY.sync_scope(1, || KEY.with(|_| KEY.sync_scope(2, || ()))));
        assert!(r.is_err());
        assert!(KEY.try_get().is_err());
    }
}
