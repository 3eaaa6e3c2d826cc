//! Task ids: [`Id`], and which task this thread is polling ([`id`],
//! [`try_id`]).
//!
//! Ids come from one process-wide counter, so no two tasks of any runtime
//! share one. The task being polled (or whose future or output is being
//! dropped) is recorded in a thread-local by a guard in the task's `run`
//! (see `raw.rs`); guards nest, so a `block_on` inside `block_in_place`
//! inside a task reports its own tasks and then the outer one again.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

// The counter is a `static`: loom's atomics cannot be built in a `const`
// context, and an id needs nothing but uniqueness, so under loom it is
// `std`'s (the models never race on it).
#[cfg(runtime_loom)]
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(runtime_loom))]
use crate::shim::{AtomicU64, Ordering};

/// A task's id: unique among all tasks of the process while it runs (the
/// counter is 64 bits wide; it does not wrap in practice).
///
/// Ids are not reused once a task finishes, so an `Id` seen in a log line,
/// a [`JoinError`](super::JoinError) or a map key names one task only. Their
/// order is the order in which the tasks were created, but nothing else
/// should be read into the number.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::spawn(async { runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// println!("task {id} finished");
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The task this thread is polling (or dropping the future or output
    /// of), if any. `Copy` with a `const` initialiser: no destructor, so it
    /// stays readable during TLS destruction.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

impl Id {
    /// A fresh id, never handed out before in this process.
    pub(crate) fn next() -> Id {
        // Relaxed: only uniqueness matters, which the read-modify-write
        // gives on its own.
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // Starts at 1 and would need 2^64 tasks to wrap.
        Id(NonZeroU64::new(n).expect("task ids are exhausted"))
    }

    /// The id stored as [`as_u64`](Id::as_u64) gave it (`None` for 0).
    pub(crate) fn from_u64(n: u64) -> Option<Id> {
        NonZeroU64::new(n).map(Id)
    }

    /// The id as a number (for hashing into shards).
    pub(crate) fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the task currently running on this thread.
///
/// It is also set while the task's future or output is dropped, so `Drop`
/// implementations of the future's state can call it too.
///
/// # Panics
///
/// Outside a task: on a thread that runs no task now, and inside
/// `block_on` (the future given to `block_on` is not a task). Use
/// [`try_id`] where that can happen.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::spawn(async { runtime::task::id() });
/// assert_eq!(handle.id(), handle.await.unwrap());
/// # });
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("`task::id()` called outside a task (and `block_on` is not a task)")
}

/// The id of the task currently running on this thread, or `None` outside
/// a task (and inside `block_on`, which is not a task).
///
/// # Examples
///
/// ```
/// assert_eq!(runtime::task::try_id(), None);
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::spawn(async { runtime::task::try_id() });
/// assert_eq!(Some(handle.id()), handle.await.unwrap());
/// # });
/// ```
pub fn try_id() -> Option<Id> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Makes `id` the current task of this thread until dropped, then puts the
/// previous one back (task polls nest: `block_in_place` can run another
/// runtime's tasks inside a task).
#[derive(Debug)]
pub(crate) struct CurrentIdGuard {
    prev: Option<Id>,
}

impl CurrentIdGuard {
    pub(crate) fn enter(id: Id) -> CurrentIdGuard {
        let prev = CURRENT.try_with(|c| c.replace(Some(id))).ok().flatten();
        CurrentIdGuard { prev }
    }
}

impl Drop for CurrentIdGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.prev));
    }
}
