//! Tasks: the unit the schedulers run.
//!
//! A task is one heap allocation holding a header (the state word, a vtable,
//! the id), the scheduler handle, the future (then its output) and the
//! `JoinHandle`'s waker. A [`Waker`](std::task::Waker) for a task is the task
//! pointer with a `RawWakerVTable`; waking a task that is running only marks
//! it `NOTIFIED`, so it is never queued twice. Panics inside `poll` (and
//! inside the future's `Drop`) are caught and become a [`JoinError`]; a
//! future whose `poll` panics is dropped while that panic unwinds, so its
//! `Drop` sees `std::thread::panicking()`, as in tokio.
//!
//! References: the owned-task list of the scheduler holds one until the task
//! completes (so shutdown can reach every task), the [`JoinHandle`] one, each
//! [`AbortHandle`] one, each queued `Notified` one, each `Waker` one.
//!
//! Besides the state, the header holds the task's [`Id`] (from one
//! process-wide counter) and its meta: the spawn location, recorded by the
//! `#[track_caller]` spawn entry points, and the name a [`Builder`] gave it.
//!
//! [`JoinSet`] collects tasks and yields their outputs as they finish; see
//! its documentation for how it finds finished tasks without scanning.

mod abort;
mod builder;
pub mod coop;
mod error;
mod id;
mod join;
pub mod join_set;
mod local;
mod meta;
mod owned;
mod raw;
pub(crate) mod state;
mod task_local;
mod task_tracker;
#[cfg(feature = "tracing")]
mod trace;
mod yield_now;

pub use crate::blocking::spawn_blocking;
pub use abort::AbortHandle;
pub use builder::Builder;
pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalEnterGuard, LocalSet};
pub use task_local::{AccessError, LocalKey};
pub use task_tracker::{TaskTracker, TaskTrackerToken, TaskTrackerWaitFuture, TrackedFuture};
pub use yield_now::yield_now;

pub(crate) use meta::Meta;

#[doc(inline)]
pub use crate::task_local;

/// Futures returned by functions of [`task`](crate::task), by name.
pub mod futures {
    pub use super::task_local::TaskLocalFuture;
}

pub(crate) use owned::OwnedTasks;
pub(crate) use raw::RawTask;

use std::fmt;

/// What a scheduler must provide to its tasks.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Queues a woken task.
    fn schedule(&self, task: Notified);

    /// Queues a task that was woken while it was being polled (it yielded):
    /// it goes behind the others, never into a LIFO slot.
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    /// Removes a completed task from the owned-task list, returning the
    /// list's reference (or `None` if the list no longer has it).
    fn release(&self, task: &Task) -> Option<Task>;

    /// A poll of one of this scheduler's tasks panicked (called before the
    /// task completes with the panic): see `Builder::unhandled_panic`.
    fn unhandled_panic(&self) {}
}

/// An owned reference to a task.
pub(crate) struct Task {
    raw: RawTask,
}

impl Task {
    pub(crate) fn from_raw(raw: RawTask) -> Task {
        Task { raw }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    /// Gives up ownership without dropping the reference.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    pub(crate) fn id(&self) -> Id {
        self.raw.id()
    }

    /// The task's spawn location and name.
    pub(crate) fn meta(&self) -> &Meta {
        self.raw.meta()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("meta", self.meta())
            .finish()
    }
}

/// A task that was woken and waits in a run queue; running it consumes it.
#[derive(Debug)]
pub(crate) struct Notified(pub(crate) Task);

impl Notified {
    /// Gives up ownership as a raw pointer (for atomic slots).
    pub(crate) fn into_ptr(self) -> *mut () {
        self.0.into_raw().as_ptr()
    }

    /// Takes back ownership of a pointer made by [`into_ptr`](Notified::into_ptr).
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_ptr` and is converted back exactly once.
    pub(crate) unsafe fn from_ptr(ptr: *mut ()) -> Notified {
        // SAFETY: the caller's contract: `ptr` is a live task whose
        // reference `into_ptr` kept.
        Notified(Task::from_raw(unsafe { RawTask::from_ptr(ptr) }))
    }

    /// Polls the task (or cancels it, or drops a stale notification),
    /// reading the clock for the poll's start.
    pub(crate) fn run(self) {
        self.run_at(crate::metrics::now_ns());
    }

    /// [`run`](Notified::run) with the poll's start given: a scheduler's
    /// reading (`metrics::RunClock`), so the clock is not read per poll.
    pub(crate) fn run_at(self, stamp: u64) {
        let raw = self.0.into_raw();
        // SAFETY: the `Notified`'s reference is handed to `run`.
        unsafe { raw.run(stamp) }
    }

    #[cfg(test)]
    pub(crate) fn id(&self) -> Id {
        self.0.id()
    }
}

/// Creates a task bound to `scheduler`, recording `meta` (its spawn location
/// and name): binds it into `owned` and returns the first `Notified` (to be
/// queued by the caller) and the `JoinHandle`. If `owned` is closed (the
/// runtime shut down), the task is cancelled at once and only the handle is
/// returned.
pub(crate) fn new_task<F, S>(
    owned: &OwnedTasks,
    future: F,
    scheduler: S,
    meta: Meta,
) -> (Option<Notified>, JoinHandle<F::Output>)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    bind_new(owned, RawTask::new(future, scheduler, meta))
}

/// The second half of [`new_task`] (and of a local task's creation): binds
/// the freshly allocated `raw` (its three references still unclaimed) into
/// `owned`, or cancels it on this thread if `owned` is closed. `T` is the
/// task's output type.
fn bind_new<T>(owned: &OwnedTasks, raw: RawTask) -> (Option<Notified>, JoinHandle<T>) {
    let join = JoinHandle::new(raw);
    let notified = Notified(Task::from_raw(raw));
    match owned.bind(Task::from_raw(raw)) {
        Ok(()) => (Some(notified), join),
        Err(task) => {
            // Closed: cancel now, on this thread. The list's reference comes
            // back to us and goes away with `task`.
            raw.shutdown();
            drop(notified);
            drop(task);
            (None, join)
        }
    }
}

#[cfg(test)]
mod tests;

// Plain unit tests (not loom models): the shim's locks are loom's under
// `runtime_loom`, usable only inside a model.
#[cfg(all(test, not(runtime_loom)))]
mod api_tests;

/// Spawns a task on the current runtime.
///
/// The task starts running in the background at once; the returned
/// [`JoinHandle`] may be awaited for its output or dropped to detach it.
///
/// # Panics
///
/// Outside a runtime (no task, no `block_on`, no worker thread): there is
/// nowhere to run the task. Use [`Handle::spawn`](crate::Handle::spawn) with
/// a handle obtained earlier to spawn from other threads.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let a = runtime::spawn(async { 1 });
/// let b = runtime::spawn(async { 2 });
/// assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// # });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::context::current() {
        Some(handle) => handle.spawn(future, Meta::here()),
        None => panic!(
            "`runtime::spawn` called outside a runtime: spawn from a task or inside `block_on`, \
             or use `Handle::spawn`"
        ),
    }
}

/// Runs `f`, which may block, on the current worker thread, first handing
/// the worker's other tasks to a new thread so they keep running.
///
/// The thread leaves runtime mode while `f` runs (as in tokio): `f` may
/// itself call [`Handle::block_on`](crate::Handle::block_on) or a
/// current-thread runtime's `block_on`, and is not held to the task's
/// cooperative budget. On the thread inside a multi-thread runtime's
/// [`Runtime::block_on`](crate::Runtime::block_on) (not a worker: there are
/// no tasks to hand on) it does the same. Outside any runtime `f` simply
/// runs. Prefer [`spawn_blocking`] where `f` does not
/// need to borrow from the caller.
///
/// # Inside a `LocalSet`
///
/// As in tokio, a [`LocalSet`] driven on a multi-thread runtime's
/// `block_on` thread ([`LocalSet::block_on`], or `run_until` or the set
/// awaited inside [`Runtime::block_on`](crate::Runtime::block_on) or
/// `#[runtime::main]`) refuses it: from one of the set's tasks, from the
/// future of `run_until`, or from a future the set drops, `block_in_place`
/// panics, since the set's thread would block and every task of the set
/// with it. Use [`spawn_blocking`] there. Where the set is polled on a
/// worker thread (inside a task, by an executor nested in it, or in a
/// [`Handle::block_on`](crate::Handle::block_on) inside a `block_in_place`
/// on a worker), `f` runs as it would outside the set (the worker's queue
/// handed on first if it has not been); the set and its tasks stay on this
/// thread, which goes on polling them after `f`.
///
/// # Panics
///
/// On a current-thread runtime (its only thread would block), with or
/// without a `LocalSet`; in a `LocalSet` on a multi-thread runtime's
/// `block_on` thread (see above).
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// runtime::spawn(async {
///     let n = runtime::task::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         5
///     });
///     assert_eq!(n, 5);
/// }).await.unwrap();
/// # });
/// ```
#[track_caller]
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    use crate::context::{BlockInPlace, EnterRuntime};
    let block_in_place = match crate::context::entered() {
        // Outside a runtime, or inside an enclosing `block_in_place`.
        EnterRuntime::NotEntered => return f(),
        EnterRuntime::Entered { block_in_place } => block_in_place,
    };
    match block_in_place {
        BlockInPlace::Allowed => {
            let f = move || runtime_reactor::coop::unconstrained(f);
            // A worker hands its queue on and leaves runtime mode; the
            // `block_on` thread has no queue, and only leaves the mode.
            match crate::scheduler::multi_thread::block_in_place(f) {
                Ok(r) => r,
                Err(f) => crate::context::exit_runtime(f),
            }
        }
        BlockInPlace::CurrentThread => panic!(
            "`block_in_place` cannot be used on a current-thread runtime: its only thread would \
             block"
        ),
        BlockInPlace::LocalSet => panic!(
            "`block_in_place` cannot be used inside a `LocalSet` (in its tasks, the future of its \
             `run_until` or `block_on`, or a future it drops) outside a worker thread: the set's \
             thread would block, and every task of the set with it. Use `spawn_blocking`."
        ),
    }
}
