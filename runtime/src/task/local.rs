//! [`LocalSet`] and [`spawn_local`]: tasks whose futures are not `Send`,
//! run only on the thread that owns the set.
//!
//! # Design
//!
//! A local task is an ordinary task (`raw.rs`: the same header, state word,
//! `JoinHandle` and wakers) allocated by [`RawTask::new_local`], whose
//! scheduler is the set's [`Shared`]. The set is driven by polling it: its
//! own `Future` impl, [`LocalSet::run_until`], or [`LocalSet::block_on`].
//! Each such poll registers the poller's waker, then runs at most
//! [`MAX_TASKS_PER_TICK`] tasks (a *tick*), each under its own cooperative
//! budget, and wakes itself if work remains: a set polled inside a task or
//! a `block_on` hands the thread back after a bounded batch.
//!
//! Wake-ups take one of two paths:
//!
//! - On the owner thread, inside the set's context (its tasks, the future
//!   of `run_until`, an [`enter`](LocalSet::enter) scope): the task goes to
//!   the context's local queue, a `RefCell<VecDeque>` with no lock.
//! - Anywhere else (the reactor thread delivering readiness, a task on a
//!   worker, another `LocalSet`): the task goes to the shared remote queue,
//!   and the set's registered waker is woken, so whoever polls the set
//!   (a `block_on`, an outer task) polls it again on the owner thread.
//!
//! A tick looks at the remote queue first every [`REMOTE_FIRST_INTERVAL`]
//! tasks, so remote wake-ups cannot starve. A task woken while it runs (a
//! [`yield_now`](crate::task::yield_now), a budget yield) waits until the
//! tick ends, so a task looping on `yield_now` lets the set's poller (and
//! through it the reactor) in.
//!
//! # Thread affinity
//!
//! A local task's future, and its output when that is not `Send`, are
//! touched only on the thread that owns its `LocalSet` (*the owner*). This
//! is the invariant [`RawTask::new_local`] demands; these rules establish
//! it:
//!
//! 1. **Created on the owner.** Local tasks are made only by
//!    [`LocalContext::spawn`], reached through a `&LocalSet` (the set is
//!    `!Send` and `!Sync`, so its methods run on the owner) or through
//!    [`CURRENT`], a thread-local that holds only contexts of sets of this
//!    thread (a [`LocalContext`] lives in an `Rc` and never leaves it).
//! 2. **Polled on the owner.** The future is touched by the task's `run`,
//!    which only running a `Notified` starts. The local scheduler never
//!    runs one when it is handed one: [`Schedule::schedule`] only queues it
//!    (locally or in [`Shared::remote`]); the only code that pops and runs
//!    local tasks is [`LocalContext::tick`], reached only through the set
//!    itself, on the owner.
//! 3. **Cancelled on the owner.** The task's `shutdown` (which drops the
//!    future) is called only by [`LocalSet`]'s `Drop`, through the set's own
//!    [`OwnedTasks`], and by `bind_new` when that list is closed, inside
//!    `spawn`; both on the owner. A local task is never bound to a
//!    runtime's list, so a runtime's shutdown never reaches it; `abort()`
//!    from any thread only marks it cancelled and queues it (rule 2).
//! 4. **Nothing left to drop elsewhere.** The set's list keeps a reference
//!    until the task completes (on the owner, by 2 and 3), so whoever drops
//!    the last reference, on any thread (a waker dropped by the reactor), frees
//!    a cell whose stage is `Consumed`: completion drops the output unless
//!    the `JoinHandle` wants it, and the handle takes or drops it before its
//!    reference goes. What is left is the scheduler (`Arc<Shared>`, `Send +
//!    Sync`) and the join waker.
//! 5. **A `!Send` output stays too.** `JoinHandle<T>` is `Send` only if `T`
//!    is (`join.rs`), so a `!Send` output is read or dropped where the
//!    handle was returned: on the owner.
//!
//! A `LocalSet` that is leaked (`mem::forget`) leaks its tasks with it:
//! its list's references are never dropped, so no cell is ever freed.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use super::{bind_new, JoinHandle, Meta, Notified, OwnedTasks, RawTask, Schedule, Task};
use crate::shim::Mutex;

/// Local tasks run per poll of a set, at most; then the set wakes itself
/// and returns, so its poller's other work (the `block_on` future, the
/// reactor, other tasks) gets a turn. The same batch as the current-thread
/// scheduler's.
const MAX_TASKS_PER_TICK: usize = 61;

/// Every this many tasks, the remote queue is looked at before the local
/// one, so wake-ups from other threads cannot starve behind a busy local
/// queue.
const REMOTE_FIRST_INTERVAL: u32 = 31;

thread_local! {
    /// The context of the set this thread is inside (polling it, or in an
    /// `enter` scope), for [`spawn_local`] and for the local wake-up path.
    /// Only contexts of sets owned by this thread are ever stored here.
    static CURRENT: RefCell<Option<Rc<LocalContext>>> = const { RefCell::new(None) };
}

/// A set of tasks that run on the current thread, for futures that are not
/// `Send` (they hold an `Rc`, a `RefCell` borrow across an `.await`, ...).
///
/// Tasks are added with [`spawn_local`](LocalSet::spawn_local) (or the free
/// [`task::spawn_local`](spawn_local) inside the set's context) and run
/// only while the set is driven, always on the thread that owns the set:
///
/// - [`run_until`](LocalSet::run_until)`(future).await` drives the set until
///   `future` completes; tasks still pending stay in the set, for a later
///   call.
/// - [`block_on`](LocalSet::block_on)`(&rt, future)` does the same inside
///   `rt.block_on`.
/// - `set.await` (a `LocalSet` is a `Future`) drives it until every task in
///   it has finished.
///
/// Wake-ups from any thread (an I/O event the reactor delivers, a task on a
/// multi-thread runtime's worker) queue the task back for the owning
/// thread; it is never polled elsewhere. Works inside `block_on` of either
/// runtime flavor, and inside a task of another `LocalSet`. Each poll of
/// the set runs a bounded batch of tasks, each with its own cooperative
/// budget, then wakes itself if more are ready, so a busy set does not keep
/// its thread from other work.
///
/// As in tokio, [`block_in_place`](crate::task::block_in_place) panics in
/// the set's tasks when the set is driven on a multi-thread runtime's
/// `block_on` thread (see its documentation); use
/// [`spawn_blocking`](crate::task::spawn_blocking) there.
///
/// Dropping the set cancels its tasks: their futures are dropped there and
/// then, on the owning thread (so an `Rc` they hold never crosses threads),
/// and their [`JoinHandle`]s resolve to a [`JoinError`](crate::JoinError)
/// for which `is_cancelled()` is true.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// use runtime::task::{self, LocalSet};
///
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let local = LocalSet::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let sum = local.block_on(&rt, {
///     let log = log.clone();
///     async move {
///         let a = task::spawn_local({
///             let log = log.clone();
///             async move {
///                 log.borrow_mut().push("a");
///                 1
///             }
///         });
///         let b = task::spawn_local(async move {
///             log.borrow_mut().push("b");
///             2
///         });
///         a.await.unwrap() + b.await.unwrap()
///     }
/// });
/// assert_eq!(sum, 3);
/// assert_eq!(log.borrow().len(), 2);
/// ```
pub struct LocalSet {
    /// The queues and the scheduler, shared with [`CURRENT`] while the set
    /// is entered. The `Rc` also makes the set `!Send` and `!Sync`, which
    /// the thread-affinity rules rely on (see the module docs).
    context: Rc<LocalContext>,
}

/// The owner thread's side of a set.
struct LocalContext {
    /// What other threads reach: the scheduler of the set's tasks.
    shared: Arc<Shared>,
    /// Tasks woken on the owner thread inside the set's context.
    queue: RefCell<VecDeque<Notified>>,
    /// Tasks woken while they ran (they yielded): queued when the tick
    /// ends, so they run again only after the set's poller had its turn.
    deferred: RefCell<Vec<Notified>>,
    /// Set while a tick runs tasks (see `deferred`).
    ticking: Cell<bool>,
    /// Set while the set is being polled: a local wake-up needs no wake of
    /// the poller then, since the tick that follows (or runs) will see it.
    polling: Cell<bool>,
    /// Tasks taken so far, for [`REMOTE_FIRST_INTERVAL`].
    tick: Cell<u32>,
}

/// The part of a set that other threads reach, through its tasks' wakers
/// and `JoinHandle`s: the local tasks' scheduler.
pub(crate) struct Shared {
    /// Every task of the set not yet complete; shut down (on the owner) when
    /// the set is dropped.
    owned: OwnedTasks,
    /// Tasks woken from outside the set's context, and whether the set is
    /// gone (then a wake-up only drops its reference).
    remote: Mutex<Remote>,
    /// The waker of whoever polled the set last; woken (and taken) when a
    /// task is queued that the poller would not otherwise see.
    waker: Mutex<Option<Waker>>,
    /// The thread that owns the set, for a debug check in each tick.
    owner: ThreadId,
}

struct Remote {
    queue: VecDeque<Notified>,
    closed: bool,
}

impl LocalSet {
    /// Creates an empty set, owned by the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let local = runtime::task::LocalSet::new();
    /// # drop(local);
    /// ```
    pub fn new() -> LocalSet {
        LocalSet {
            context: Rc::new(LocalContext {
                shared: Arc::new(Shared {
                    owned: OwnedTasks::new(),
                    remote: Mutex::new(Remote {
                        queue: VecDeque::new(),
                        closed: false,
                    }),
                    waker: Mutex::new(None),
                    owner: thread::current().id(),
                }),
                queue: RefCell::new(VecDeque::new()),
                deferred: RefCell::new(Vec::new()),
                ticking: Cell::new(false),
                polling: Cell::new(false),
                tick: Cell::new(0),
            }),
        }
    }

    /// Enters the set's context until the guard is dropped: the free
    /// [`spawn_local`] then spawns onto this set.
    ///
    /// Entering does not run anything: tasks spawned in the scope run when
    /// the set is next driven.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::task::{self, LocalSet};
    ///
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// let local = LocalSet::new();
    /// let handle = {
    ///     let _guard = local.enter();
    ///     task::spawn_local(async { "ran" })
    /// };
    /// assert_eq!(local.block_on(&rt, handle).unwrap(), "ran");
    /// ```
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard::new(&self.context)
    }

    /// Spawns a `!Send` future onto this set.
    ///
    /// Unlike the free [`spawn_local`], this works whether or not the set is
    /// running or entered. The task starts when the set is next driven (by
    /// [`run_until`](LocalSet::run_until), [`block_on`](LocalSet::block_on)
    /// or awaiting the set), whether or not the returned [`JoinHandle`] is
    /// awaited. The handle is `Send` when the output is, and may be awaited
    /// from any thread or task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// let local = runtime::task::LocalSet::new();
    /// let value = Rc::new(5);
    /// let handle = local.spawn_local(async move { *value * 2 });
    /// assert_eq!(local.block_on(&rt, handle).unwrap(), 10);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.context.spawn(future, Meta::here())
    }

    /// [`spawn_local`](LocalSet::spawn_local) with the spawn location and
    /// name given.
    pub(crate) fn spawn_local_with_meta<F>(&self, future: F, meta: Meta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.context.spawn(future, meta)
    }

    /// Runs `future` to completion on `rt`, driving this set's tasks on the
    /// current thread meanwhile: `rt.block_on(self.run_until(future))`.
    ///
    /// Tasks of the set that are still pending when `future` completes stay
    /// in the set.
    ///
    /// # Panics
    ///
    /// If `future` panics, or if called inside a runtime (from a task, or
    /// inside another `block_on`), like [`Runtime::block_on`](crate::Runtime::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let local = runtime::task::LocalSet::new();
    /// let out = local.block_on(&rt, async {
    ///     let shared = Rc::new("not Send");
    ///     runtime::task::spawn_local(async move { shared.len() }).await.unwrap()
    /// });
    /// assert_eq!(out, 8);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Runs `future` with this set: the set's tasks are driven alongside
    /// `future` on the current thread (and `future` may call the free
    /// [`spawn_local`]), until `future` completes; its output is returned.
    ///
    /// Tasks still pending then stay in the set and run on the next
    /// `run_until`, `block_on`, or when the set is awaited.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe if `future` is: dropping the returned future drops
    /// `future` and leaves the set and its tasks as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// use runtime::task::{self, LocalSet};
    ///
    /// # let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// # rt.block_on(async {
    /// let local = LocalSet::new();
    /// let hits = Rc::new(Cell::new(0));
    /// local
    ///     .run_until(async {
    ///         let h = hits.clone();
    ///         task::spawn_local(async move { h.set(h.get() + 1) }).await.unwrap();
    ///     })
    ///     .await;
    /// assert_eq!(hits.get(), 1);
    /// # });
    /// ```
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        poll_fn(|cx| {
            let _enter = LocalEnterGuard::new(&self.context);
            let _polling = SetFlag::new(&self.context.polling);
            let _no_block_in_place = crate::context::disallow_block_in_place();
            self.context.shared.register(cx.waker());
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if self.context.tick() {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.context.shared.owned.len())
            .finish()
    }
}

/// Completes once every task of the set has finished, driving them on the
/// current thread meanwhile (tasks may spawn more; the set completes when
/// none is left).
///
/// # Cancel safety
///
/// Cancel-safe: awaiting `&mut set` and giving up leaves the set and its
/// tasks as they were, to be driven again later.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let local = runtime::task::LocalSet::new();
/// let done = std::rc::Rc::new(std::cell::Cell::new(false));
/// let d = done.clone();
/// local.spawn_local(async move {
///     runtime::task::yield_now().await;
///     d.set(true);
/// });
/// rt.block_on(local);
/// assert!(done.get());
/// ```
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _enter = LocalEnterGuard::new(&self.context);
        let _polling = SetFlag::new(&self.context.polling);
        let _no_block_in_place = crate::context::disallow_block_in_place();
        self.context.shared.register(cx.waker());
        if self.context.tick() {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else if self.context.shared.owned.len() == 0 {
            Poll::Ready(())
        } else {
            // Every task waits on something that will queue it, and wake
            // the waker registered above.
            Poll::Pending
        }
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // In the set's context, so that a dropped future that calls
        // `spawn_local` reaches this (closed) set, whose new task is then
        // cancelled at once, and its wake-ups of sibling tasks queue locally.
        let _enter = LocalEnterGuard::new(&self.context);
        let _polling = SetFlag::new(&self.context.polling);
        // The futures dropped here, like the tasks polled in a tick, may
        // not `block_in_place` (see its docs).
        let _no_block_in_place = crate::context::disallow_block_in_place();
        let shared = &self.context.shared;
        drop(shared.waker.lock().take());
        // Closed first: a wake-up from another thread from now on drops its
        // reference at once (never the last: the list still holds one until
        // the task is shut down below).
        let remote = {
            let mut remote = shared.remote.lock();
            remote.closed = true;
            std::mem::take(&mut remote.queue)
        };
        drop(remote);
        // Drops every future here, on the owner thread (rule 3 of the
        // module docs); their handles see cancellation.
        shared.owned.close_and_shutdown();
        // Wake-ups during those drops queued locally; their references go.
        loop {
            let queue = std::mem::take(&mut *self.context.queue.borrow_mut());
            let deferred = std::mem::take(&mut *self.context.deferred.borrow_mut());
            if queue.is_empty() && deferred.is_empty() {
                break;
            }
            drop(queue);
            drop(deferred);
        }
    }
}

/// Restores the previous local context when dropped; returned by
/// [`LocalSet::enter`].
///
/// Like the set, it stays on the thread that made it (`!Send`).
///
/// # Examples
///
/// ```
/// let local = runtime::task::LocalSet::new();
/// let guard = local.enter();
/// let handle = runtime::task::spawn_local(async {});
/// drop(guard);
/// # drop(handle);
/// ```
pub struct LocalEnterGuard {
    /// The context entered before this one, put back on drop.
    prev: Option<Rc<LocalContext>>,
}

impl LocalEnterGuard {
    fn new(context: &Rc<LocalContext>) -> LocalEnterGuard {
        // During TLS destruction there is no context to enter: the free
        // `spawn_local` then panics, and wake-ups take the remote path.
        let prev = CURRENT
            .try_with(|c| c.replace(Some(context.clone())))
            .ok()
            .flatten();
        LocalEnterGuard { prev }
    }
}

impl Drop for LocalEnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // The context replaced is dropped after the borrow ends.
        let _ = CURRENT.try_with(|c| c.replace(prev));
    }
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

/// Sets a flag until dropped, restoring its previous value (also when a
/// poll unwinds).
struct SetFlag<'a> {
    flag: &'a Cell<bool>,
    prev: bool,
}

impl<'a> SetFlag<'a> {
    fn new(flag: &'a Cell<bool>) -> SetFlag<'a> {
        SetFlag {
            prev: flag.replace(true),
            flag,
        }
    }
}

impl Drop for SetFlag<'_> {
    fn drop(&mut self) {
        self.flag.set(self.prev);
    }
}

/// The context of the set this thread is inside, if any.
fn current() -> Option<Rc<LocalContext>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Spawns a `!Send` future onto the [`LocalSet`] whose context the current
/// thread is in: inside [`LocalSet::run_until`], [`LocalSet::block_on`], a
/// task of the set, or an [`enter`](LocalSet::enter) scope.
///
/// The task runs only on this thread, when the set is driven; the returned
/// [`JoinHandle`] (`Send` when the output is) may be awaited from anywhere,
/// or dropped to detach the task.
///
/// # Panics
///
/// Outside a `LocalSet`'s context, with a message saying so. As in tokio, a
/// `LocalSet` is needed on either runtime flavor: inside a plain
/// current-thread `block_on` this panics too.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let local = runtime::task::LocalSet::new();
/// local.block_on(&rt, async {
///     let name = Rc::new(String::from("local"));
///     let handle = runtime::task::spawn_local(async move { name.len() });
///     assert_eq!(handle.await.unwrap(), 5);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_with_meta(future, Meta::here())
}

/// [`spawn_local`] with the spawn location and name given: for
/// `task::Builder` and `JoinSet`.
pub(crate) fn spawn_local_with_meta<F>(future: F, meta: Meta) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match current() {
        Some(context) => context.spawn(future, meta),
        None => panic!(
            "`spawn_local` called outside a `LocalSet`: spawn local tasks inside \
             `LocalSet::run_until`, `LocalSet::block_on`, a task of the set or a \
             `LocalSet::enter` scope, or use `LocalSet::spawn_local`"
        ),
    }
}

impl LocalContext {
    /// Creates a local task bound to this set and queues it.
    fn spawn<F>(&self, future: F, meta: Meta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // SAFETY: the thread-affinity rules of the module docs: this context
        // is reached only on its owner thread (rule 1), the scheduler
        // `Shared` only queues (rule 2), the task is shut down only by the
        // set on this thread (rule 3), and its list keeps a reference until
        // then (rule 4).
        let raw = unsafe { RawTask::new_local(future, self.shared.clone(), meta) };
        let (notified, join) = bind_new(&self.shared.owned, raw);
        if let Some(notified) = notified {
            self.push_local(notified);
        }
        join
    }

    /// Queues a task on the owner thread; wakes the set's poller unless the
    /// set is being polled (and so about to look at the queue).
    fn push_local(&self, task: Notified) {
        self.queue.borrow_mut().push_back(task);
        if !self.polling.get() {
            self.shared.wake();
        }
    }

    /// Runs up to [`MAX_TASKS_PER_TICK`] tasks; returns whether some are
    /// still (or again) ready.
    fn tick(&self) -> bool {
        debug_assert_eq!(
            thread::current().id(),
            self.shared.owner,
            "a LocalSet ran its tasks off its owner thread"
        );
        let ticking = SetFlag::new(&self.ticking);
        let mut more = true;
        for _ in 0..MAX_TASKS_PER_TICK {
            match self.next_task() {
                // Rule 2 of the module docs: the only place local tasks run,
                // on the owner thread. `run` polls under a fresh budget.
                Some(task) => task.run(),
                None => {
                    more = false;
                    break;
                }
            }
        }
        drop(ticking);
        let mut deferred = self.deferred.borrow_mut();
        if !deferred.is_empty() {
            self.queue.borrow_mut().extend(deferred.drain(..));
            more = true;
        }
        more
    }

    fn next_task(&self) -> Option<Notified> {
        let n = self.tick.get().wrapping_add(1);
        self.tick.set(n);
        let local = || self.queue.borrow_mut().pop_front();
        let remote = || self.shared.remote.lock().queue.pop_front();
        if n % REMOTE_FIRST_INTERVAL == 0 {
            remote().or_else(local)
        } else {
            local().or_else(remote)
        }
    }
}

impl Shared {
    /// Stores `waker` as the one to wake when a task is queued remotely.
    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        if slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        let old = slot.replace(waker.clone());
        drop(slot);
        drop(old);
    }

    /// Wakes the set's poller (taken: the next poll registers again before
    /// it looks at the queues, so no wake-up is lost).
    fn wake(&self) {
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Queues a task woken outside the set's context, and wakes the poller.
    fn push_remote(&self, task: Notified) {
        let mut remote = self.remote.lock();
        if remote.closed {
            drop(remote);
            // The set is gone: only a reference goes, and never the last
            // (so no cell is freed inside this `&self`, which points into
            // one): a task not complete is still in the set's list, and a
            // complete one is never scheduled; the set's drop completes
            // every task before it releases the list.
            drop(task);
            return;
        }
        remote.queue.push_back(task);
        drop(remote);
        self.wake();
    }

    /// Runs `f` with the context of this set if the current thread is inside
    /// it; gives `task` back otherwise.
    fn with_own_context(
        self: &Arc<Self>,
        task: Notified,
        f: impl FnOnce(&LocalContext, Notified),
    ) -> Option<Notified> {
        match current() {
            Some(context) if Arc::ptr_eq(&context.shared, self) => {
                f(&context, task);
                None
            }
            _ => Some(task),
        }
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        if let Some(task) = self.with_own_context(task, |cx, task| cx.push_local(task)) {
            self.push_remote(task);
        }
    }

    fn yield_now(&self, task: Notified) {
        let task = self.with_own_context(task, |cx, task| {
            if cx.ticking.get() {
                cx.deferred.borrow_mut().push(task);
            } else {
                cx.push_local(task);
            }
        });
        if let Some(task) = task {
            self.push_remote(task);
        }
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalShared")
            .field("tasks", &self.owned.len())
            .finish()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests;
