use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{AbortHandle, Id, JoinError, RawTask};

/// An owned permission to await a spawned task's output.
///
/// Dropping a `JoinHandle` detaches the task: it keeps running. Awaiting it
/// yields `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// cancelled.
///
/// Awaiting is cancel-safe: dropping the `.await` before it completes loses
/// nothing, and a later poll (of this handle) still gets the output. A
/// handle that delivers its output spends one unit of the awaiting task's
/// cooperative budget, as in tokio; when the budget is spent it returns
/// `Pending` (after waking itself) even if the output is there.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
pub struct JoinHandle<T> {
    pub(crate) raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out of the task (which requires
// `T: Send` at spawn) and touches the rest through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`/`is_finished`, which are atomic.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task: the next time a worker reaches it, its future is
    /// dropped and this handle resolves to a cancelled [`JoinError`]. A task
    /// that already finished is not affected (its output is still
    /// delivered), and a task that is being polled is cancelled when that
    /// poll returns `Pending`. A blocking task (`spawn_blocking`) can only
    /// be cancelled before its closure starts.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished (completed, panicked or been
    /// cancelled). Never blocks; `true` means awaiting the handle returns at
    /// once.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(async { 1 });
    /// while !handle.is_finished() {
    ///     runtime::task::yield_now().await;
    /// }
    /// assert_eq!(handle.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().has(super::state::COMPLETE)
    }

    /// A handle that can cancel the task (and ask whether it finished)
    /// without owning its output; there may be any number of them.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// let abort = handle.abort_handle();
    /// assert_eq!(abort.id(), handle.id());
    /// abort.abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }

    /// The task's id, the same that [`task::id()`](super::id) returns
    /// inside it.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(async { runtime::task::id() });
    /// assert_eq!(handle.id(), handle.await.unwrap());
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.id()
    }

    /// Polls for the output without spending budget (the caller accounts
    /// for it, as `JoinSet` does), registering `waker`.
    pub(crate) fn poll_unbudgeted(&mut self, waker: &Waker) -> Poll<Result<T, JoinError>> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the task's output type `T` (fixed at spawn), and
        // this handle is the task's one `JoinHandle`.
        unsafe {
            self.raw
                .try_read_output((&mut out as *mut Poll<Result<T, JoinError>>).cast(), waker)
        };
        out
    }

    /// Makes `waker` the one woken when the task completes, without taking
    /// the output; returns whether the task is complete already (then
    /// `waker` is not woken for it).
    pub(crate) fn register_waker(&self, waker: &Waker) -> bool {
        // SAFETY: this handle is the task's one `JoinHandle`, holding its
        // reference and join interest until it drops.
        unsafe { self.raw.register_join_waker(waker) }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        let out = self.poll_unbudgeted(cx.waker());
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: called once, giving up the handle's reference.
        unsafe { self.raw.drop_join_handle() }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
