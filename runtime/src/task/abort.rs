//! [`AbortHandle`]: cancels a task without owning its output.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::{Id, RawTask};

/// A handle that can cancel a task, without the right to await it.
///
/// Made by [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle) and
/// returned by the spawn methods of [`JoinSet`](super::JoinSet). It may be
/// cloned and sent to any thread; dropping one does nothing to the task
/// (it only gives up the handle's hold on the task's memory).
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::spawn(std::future::pending::<()>());
/// let abort = handle.abort_handle();
/// std::thread::spawn(move || abort.abort()).join().unwrap();
/// assert!(handle.await.unwrap_err().is_cancelled());
/// # });
/// ```
pub struct AbortHandle {
    /// The task; this handle holds one of its references (taken in `new`,
    /// given up in `Drop`), so the header stays readable.
    raw: RawTask,
}

// The handle touches the task only through its atomic state word and
// never reaches the future or the output, so a panic cannot leave anything
// it sees half-updated.
impl UnwindSafe for AbortHandle {}
impl RefUnwindSafe for AbortHandle {}

impl AbortHandle {
    /// A handle on `raw`, counting one more reference for it.
    pub(crate) fn new(raw: RawTask) -> AbortHandle {
        // The caller holds a reference to `raw` (a `JoinHandle`'s), so the
        // task is live while we take ours.
        raw.ref_inc();
        AbortHandle { raw }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort)
    /// does: its future is dropped the next time the scheduler reaches it
    /// (after the current poll, if it is running), and its `JoinHandle`
    /// resolves to a cancelled [`JoinError`](super::JoinError). A task that
    /// already finished is not affected.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// handle.abort_handle().abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished (completed, panicked or been
    /// cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(async {});
    /// let abort = handle.abort_handle();
    /// handle.await.unwrap();
    /// assert!(abort.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().has(super::state::COMPLETE)
    }

    /// The task's id, the same as its `JoinHandle`'s.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::spawn(async {});
    /// assert_eq!(handle.abort_handle().id(), handle.id());
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.id()
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
