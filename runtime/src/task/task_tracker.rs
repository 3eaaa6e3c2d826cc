//! [`TaskTracker`]: counts tasks (or futures) until they finish, and waits
//! for all of them once it is closed.
//!
//! # Protocol
//!
//! `state` holds `tracked << 1 | closed`. A [`TaskTrackerToken`] adds 2 when
//! made and takes 2 away when dropped; `close` sets bit 0. Whoever moves the
//! state to exactly `CLOSED` with nothing tracked (the last token's drop on
//! a closed tracker, or `close` with nothing tracked) calls
//! `notify_waiters`. A [`wait`](TaskTracker::wait) creates its `Notified`
//! before it reads the state, so a transition after that read reaches it.
//!
//! Unlike [`JoinSet`](crate::task) it keeps no handles and no results, only
//! a count: tracking a task costs one atomic add when it starts and one
//! subtract when it ends, and the tasks run detached.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::shim::{AtomicUsize, Ordering};
use crate::sync::futures::Notified;
use crate::sync::Notify;
use crate::{Handle, JoinHandle};

const CLOSED: usize = 1;
const ONE: usize = 2;

/// Tracks tasks until they finish; once [closed](TaskTracker::close),
/// [`wait`](TaskTracker::wait) completes when every tracked task is done.
///
/// The shape of a graceful shutdown: spawn each connection's task through
/// the tracker, and at shutdown close it and wait. Closing does not stop
/// tracking (tasks may still be spawned through a closed tracker); it only
/// lets `wait` complete when the count reaches zero. Clones share one
/// tracker.
///
/// # Examples
///
/// ```
/// use runtime::task::TaskTracker;
///
/// #[runtime::main]
/// async fn main() {
///     let tracker = TaskTracker::new();
///     for i in 0..10 {
///         tracker.spawn(async move { i * 2 });
///     }
///     tracker.close();
///     tracker.wait().await;
///     assert!(tracker.is_empty());
/// }
/// ```
#[derive(Clone)]
pub struct TaskTracker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    on_last_exit: Notify,
}

impl Inner {
    fn is_closed_and_empty(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CLOSED
    }

    fn drop_one(&self) {
        if self.state.fetch_sub(ONE, Ordering::SeqCst) == CLOSED | ONE {
            self.on_last_exit.notify_waiters();
        }
    }
}

impl TaskTracker {
    /// An open tracker with nothing tracked.
    pub fn new() -> TaskTracker {
        TaskTracker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(0),
                on_last_exit: Notify::new(),
            }),
        }
    }

    /// A future that completes once the tracker is closed and tracks
    /// nothing (at once if it is so now). Reopening the tracker does not
    /// stop a wait that has already seen it so.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    pub fn wait(&self) -> TaskTrackerWaitFuture<'_> {
        TaskTrackerWaitFuture {
            notified: self.inner.on_last_exit.notified(),
            inner: &self.inner,
        }
    }

    /// Closes the tracker: from now on, [`wait`](TaskTracker::wait)
    /// completes once nothing is tracked. Returns `true` if this call
    /// closed it, `false` if it was closed already.
    pub fn close(&self) -> bool {
        let prev = self.inner.state.fetch_or(CLOSED, Ordering::SeqCst);
        if prev == 0 {
            self.inner.on_last_exit.notify_waiters();
        }
        prev & CLOSED == 0
    }

    /// Reopens a closed tracker. Returns `true` if this call reopened it,
    /// `false` if it was open.
    pub fn reopen(&self) -> bool {
        self.inner.state.fetch_and(!CLOSED, Ordering::SeqCst) & CLOSED != 0
    }

    /// Whether the tracker is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// How many tasks (and tokens) are tracked now.
    pub fn len(&self) -> usize {
        self.inner.state.load(Ordering::SeqCst) >> 1
    }

    /// Whether nothing is tracked now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spawns `task` on the current runtime, tracked until it finishes (or
    /// is dropped, for example by an abort).
    ///
    /// # Panics
    ///
    /// As [`runtime::spawn`](crate::spawn): outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::spawn(self.track_future(task))
    }

    /// As [`spawn`](TaskTracker::spawn), on the runtime of `handle`.
    #[track_caller]
    pub fn spawn_on<F>(&self, task: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn(self.track_future(task))
    }

    /// Spawns the `!Send` `task` on the current
    /// [`LocalSet`](crate::task::LocalSet), tracked until it finishes.
    ///
    /// # Panics
    ///
    /// Outside a `LocalSet`, as [`spawn_local`](crate::task::spawn_local).
    #[track_caller]
    pub fn spawn_local<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::task::spawn_local(self.track_future(task))
    }

    /// Spawns the `!Send` `task` on `local_set`, tracked until it finishes.
    #[track_caller]
    pub fn spawn_local_on<F>(
        &self,
        task: F,
        local_set: &crate::task::LocalSet,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        local_set.spawn_local(self.track_future(task))
    }

    /// Runs `f` on the blocking pool, tracked until it returns.
    #[track_caller]
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let token = self.token();
        crate::spawn_blocking(move || {
            let _token = token;
            f()
        })
    }

    /// As [`spawn_blocking`](TaskTracker::spawn_blocking), on the blocking
    /// pool of `handle`'s runtime.
    #[track_caller]
    pub fn spawn_blocking_on<F, T>(&self, f: F, handle: &Handle) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let token = self.token();
        handle.spawn_blocking(move || {
            let _token = token;
            f()
        })
    }

    /// `future`, tracked until it completes or is dropped.
    pub fn track_future<F: Future>(&self, future: F) -> TrackedFuture<F> {
        TrackedFuture {
            future,
            _token: self.token(),
        }
    }

    /// A token that counts as one tracked task until it is dropped.
    pub fn token(&self) -> TaskTrackerToken {
        self.inner.state.fetch_add(ONE, Ordering::SeqCst);
        TaskTrackerToken {
            tracker: self.clone(),
        }
    }

    /// Whether `a` and `b` are the same tracker (clones of each other).
    pub fn ptr_eq(a: &TaskTracker, b: &TaskTracker) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

impl Default for TaskTracker {
    fn default() -> Self {
        TaskTracker::new()
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTracker")
            .field("len", &self.len())
            .field("is_closed", &self.is_closed())
            .finish()
    }
}

/// One tracked task's share of a [`TaskTracker`]'s count; from
/// [`TaskTracker::token`]. Cloning it tracks one more.
pub struct TaskTrackerToken {
    tracker: TaskTracker,
}

impl TaskTrackerToken {
    /// The tracker this token counts in.
    pub fn task_tracker(&self) -> &TaskTracker {
        &self.tracker
    }
}

impl Clone for TaskTrackerToken {
    fn clone(&self) -> Self {
        self.tracker.token()
    }
}

impl Drop for TaskTrackerToken {
    fn drop(&mut self) {
        self.tracker.inner.drop_one();
    }
}

impl fmt::Debug for TaskTrackerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerToken")
            .field("tracker", &self.tracker)
            .finish()
    }
}

/// A future tracked by a [`TaskTracker`] until it completes or is dropped;
/// from [`TaskTracker::track_future`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TrackedFuture<F> {
    future: F,
    _token: TaskTrackerToken,
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned (never moved out of the
        // pinned wrapper); the token is not pinned and not moved either.
        unsafe { self.map_unchecked_mut(|t| &mut t.future) }.poll(cx)
    }
}

impl<F> fmt::Debug for TrackedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedFuture").finish_non_exhaustive()
    }
}

/// The future of [`TaskTracker::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TaskTrackerWaitFuture<'a> {
    inner: &'a Inner,
    /// Created with the future, before the state is first read.
    notified: Notified<'a>,
}

impl Future for TaskTrackerWaitFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `notified` is structurally pinned; `inner` is a reference.
        let this = unsafe { self.get_unchecked_mut() };
        if this.inner.is_closed_and_empty() {
            return Poll::Ready(());
        }
        // SAFETY: as above.
        // Only the move to closed-and-empty notifies.
        unsafe { Pin::new_unchecked(&mut this.notified) }.poll(cx)
    }
}

impl fmt::Debug for TaskTrackerWaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerWaitFuture").finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::thread;

    #[test]
    fn loom_tracker_last_exit_wakes_wait() {
        loom::model(|| {
            let tracker = TaskTracker::new();
            let token = tracker.token();
            let t2 = tracker.clone();
            let t = thread::spawn(move || {
                t2.close();
            });
            let d = thread::spawn(move || drop(token));
            block_on(tracker.wait());
            t.join().unwrap();
            d.join().unwrap();
            assert!(tracker.is_empty() && tracker.is_closed());
        });
    }
}
