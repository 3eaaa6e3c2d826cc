//! [`JoinSet`]: a collection of tasks whose outputs come back in the order
//! the tasks finish.
//!
//! # Implementation
//!
//! The set owns each task's [`JoinHandle`] in a slab, and gives each entry a
//! waker of its own, registered as the handle's join waker when the task is
//! added. A task wakes its join waker exactly once, when it completes (or at
//! once on registration, if it completed already); the entry's waker then
//! pushes the entry's key on the set's *ready list* (a `VecDeque` behind a
//! mutex shared with the wakers) and wakes whoever waits in
//! [`join_next`](JoinSet::join_next). So `join_next` never looks at a
//! pending task: it pops a key, reads that task's output and returns it,
//! O(1) per result however many tasks are pending.
//!
//! A key is the slab index and a generation number, so a key that outlives
//! its entry (a wake racing with [`detach_all`](JoinSet::detach_all), say)
//! is recognised and skipped instead of being taken for a new entry in the
//! reused slot. A popped entry whose handle is somehow not ready is left in
//! place with its waker still registered; it will be pushed again when it
//! completes.
//!
//! Cancel safety: an output leaves the task only in the poll that returns it
//! to the caller, so dropping a pending `join_next` loses nothing.
//!
//! A result delivered by `poll_join_next` spends one unit of the
//! cooperative budget, as awaiting a `JoinHandle` does; an empty set returns
//! `None` at once without spending any.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::shim::Mutex;
use crate::Handle;

/// A set of tasks spawned on a runtime, awaited in the order they finish.
///
/// All tasks have the same output type `T`. [`join_next`](JoinSet::join_next)
/// returns the output of one that finished (or its [`JoinError`] if it
/// panicked or was cancelled), and `None` once the set is empty. Dropping
/// the set aborts every task still in it.
///
/// # Examples
///
/// ```
/// use runtime::task::JoinSet;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut set = JoinSet::new();
/// for i in 0..10u32 {
///     set.spawn(async move { i * 2 });
/// }
/// let mut sum = 0;
/// while let Some(res) = set.join_next().await {
///     sum += res.unwrap();
/// }
/// assert_eq!(sum, 90);
/// # });
/// ```
pub struct JoinSet<T> {
    /// The tasks not yet joined, each with its key's generation and waker.
    entries: Slab<Entry<T>>,
    /// The ready list, shared with every entry's waker.
    shared: Arc<Shared>,
    /// The generation of the next entry's key.
    next_gen: u64,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    /// Must match a popped key's for the key to be this entry's.
    gen: u64,
    /// This entry's waker (an `EntryWaker`), registered as the handle's
    /// join waker; kept to poll the handle with the same waker, so the task
    /// never has to replace it.
    waker: Waker,
}

/// An entry's identity: its slab index and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    index: usize,
    gen: u64,
}

/// What the set shares with its entries' wakers.
struct Shared {
    ready: Mutex<Ready>,
}

struct Ready {
    /// Keys of entries whose task woke its join waker (finished), oldest
    /// first.
    keys: VecDeque<Key>,
    /// The waker of a `poll_join_next` that found the list empty.
    waiter: Option<Waker>,
}

/// The join waker of one entry: reports the entry as ready.
struct EntryWaker {
    shared: Arc<Shared>,
    key: Key,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut ready = self.shared.ready.lock();
            ready.keys.push_back(self.key);
            ready.waiter.take()
        };
        // Woken outside the lock: the waiter may poll the set at once.
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let set = runtime::task::JoinSet::<()>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            shared: Arc::new(Shared {
                ready: Mutex::new(Ready {
                    keys: VecDeque::new(),
                    waiter: None,
                }),
            }),
            next_gen: 0,
        }
    }

    /// How many tasks are in the set (running, or finished and not yet
    /// joined).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async {});
    /// assert_eq!(set.len(), 1);
    /// set.join_next().await.unwrap().unwrap();
    /// assert_eq!(set.len(), 0);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set holds no task.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(runtime::task::JoinSet::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a task by its handle; the set now owns its output.
    pub(crate) fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.entries.vacant_entry();
        let key = Key {
            index: slot.key(),
            gen: self.next_gen,
        };
        self.next_gen += 1;
        let waker = Waker::from(Arc::new(EntryWaker {
            shared: self.shared.clone(),
            key,
        }));
        if handle.register_waker(&waker) {
            // Finished already: the task will not wake the waker, so it is
            // reported here. (The pop runs under `&mut self`, after the
            // entry is in the slab.)
            waker.wake_by_ref();
        }
        slot.insert(Entry {
            handle,
            gen: key.gen,
            waker,
        });
        abort
    }

    /// Waits for one of the tasks to finish and returns its output, or its
    /// [`JoinError`] if it panicked or was cancelled. `None` if the set is
    /// empty (at once, without waiting).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes (in a
    /// `select!`, say), no output is lost; the next call returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async { panic!("boom") });
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_panic());
    /// assert!(set.join_next().await.is_none());
    /// # });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), with the finished task's
    /// [`Id`] (a failed task's id is in its `JoinError`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as `join_next`.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// let id = set.spawn(async { 'x' }).id();
    /// assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, 'x'));
    /// # });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// Returns the output of a task that has finished, without waiting:
    /// `None` if none has finished yet (or the set is empty).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async { 3 });
    /// loop {
    ///     if let Some(res) = set.try_join_next() {
    ///         assert_eq!(res.unwrap(), 3);
    ///         break;
    ///     }
    ///     runtime::task::yield_now().await;
    /// }
    /// # });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.pop_ready(None).map(|res| res.map(|(_, t)| t))
    }

    /// As [`try_join_next`](JoinSet::try_join_next), with the task's [`Id`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = runtime::task::JoinSet::<()>::new();
    /// assert!(set.try_join_next_with_id().is_none());
    /// ```
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        self.pop_ready(None)
    }

    /// Polls for the output of a finished task: the poll function behind
    /// [`join_next`](JoinSet::join_next), for hand-written futures.
    ///
    /// `Ready(None)` if the set is empty; `Pending` (with `cx`'s waker
    /// registered, replacing the one of an earlier call) if no task has
    /// finished. Spends one unit of the cooperative budget per result;
    /// with the budget spent it returns `Pending` after waking `cx`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async { 1 });
    /// let out = poll_fn(|cx| set.poll_join_next(cx)).await;
    /// assert_eq!(out.unwrap().unwrap(), 1);
    /// # });
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|res| res.map(|res| res.map(|(_, t)| t)))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the task's
    /// [`Id`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::<()>::new();
    /// assert!(poll_fn(|cx| set.poll_join_next_with_id(cx)).await.is_none());
    /// # });
    /// ```
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        match self.pop_ready(Some(cx.waker())) {
            Some(res) => {
                coop.made_progress();
                Poll::Ready(Some(res))
            }
            None => Poll::Pending,
        }
    }

    /// Takes the output of the first ready entry; with none ready, stores
    /// `waiter` (if any) to be woken by the next and returns `None`.
    fn pop_ready(&mut self, waiter: Option<&Waker>) -> Option<Result<(Id, T), JoinError>> {
        loop {
            let key = {
                let mut ready = self.shared.ready.lock();
                match ready.keys.pop_front() {
                    Some(key) => key,
                    None => {
                        let old = match waiter {
                            Some(w) if !ready.waiter.as_ref().is_some_and(|o| o.will_wake(w)) => {
                                ready.waiter.replace(w.clone())
                            }
                            _ => None,
                        };
                        drop(ready);
                        // Dropped outside the lock: dropping a waker may
                        // free its task, whose drop runs user code.
                        drop(old);
                        return None;
                    }
                }
            };
            let Some(entry) = self.entries.get_mut(key.index) else {
                continue;
            };
            if entry.gen != key.gen {
                continue;
            }
            if let Poll::Ready(res) = entry.handle.poll_unbudgeted(&entry.waker) {
                let entry = self.entries.remove(key.index);
                let id = entry.handle.id();
                return Some(res.map(|t| (id, t)));
            }
        }
    }

    /// Waits for every task and returns their outputs, in the order they
    /// finished.
    ///
    /// # Panics
    ///
    /// If a task failed: a panic is resumed here (with the task's payload),
    /// a cancellation becomes a panic; the tasks still in the set are then
    /// aborted (the set is dropped). Use [`join_next`](JoinSet::join_next)
    /// for tasks that may fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let set: runtime::task::JoinSet<u32> = (1..=3u32).map(|i| async move { i }).collect();
    /// let mut out = set.join_all().await;
    /// out.sort();
    /// assert_eq!(out, [1, 2, 3]);
    /// # });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(t) => out.push(t),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("{e}"),
            }
        }
        out
    }

    /// Aborts every task in the set. They stay in it: their cancelled
    /// [`JoinError`]s (or outputs, for tasks that finished first) still
    /// come out of `join_next`. See [`shutdown`](JoinSet::shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(std::future::pending::<()>());
    /// set.abort_all();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort_all(&mut self) {
        for (_, entry) in self.entries.iter() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: each keeps
    /// running, detached, as if its `JoinHandle` had been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async move { tx.send(5).unwrap() });
    /// set.detach_all();
    /// assert!(set.is_empty());
    /// assert_eq!(rx.await.unwrap(), 5);
    /// # });
    /// ```
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.shared.ready.lock().keys.clear();
    }

    /// Aborts every task and waits until all of them have stopped, dropping
    /// their results. The set is empty afterwards.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future early leaves the tasks aborted (they stop at
    /// their next yield point) and the unjoined ones in the set.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// for _ in 0..3 {
    ///     set.spawn(std::future::pending::<()>());
    /// }
    /// set.shutdown().await;
    /// assert!(set.is_empty());
    /// # });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime and adds it to the set; returns
    /// a handle that can abort it. The output is read with
    /// [`join_next`](JoinSet::join_next).
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](super::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// let abort = set.spawn(std::future::pending::<()>());
    /// abort.abort();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn(task))
    }

    /// Spawns `task` on the runtime of `handle` (from any thread) and adds
    /// it to the set.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn_on(async { 4 }, rt.handle());
    /// let out = rt.block_on(set.join_next()).unwrap().unwrap();
    /// assert_eq!(out, 4);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Spawns the `!Send` `task` on the current [`LocalSet`](super::LocalSet)
    /// and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a `LocalSet`, as [`spawn_local`](super::spawn_local).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(task))
    }

    /// Spawns the `!Send` `task` on `local_set` and adds it to the set.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, task: F, local_set: &super::LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local_set.spawn_local(task))
    }

    /// Runs `f` on the current runtime's blocking pool and adds the job to
    /// the set. Aborting it cancels it only if it has not started.
    ///
    /// # Panics
    ///
    /// As [`spawn_blocking`](super::spawn_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn_blocking(|| std::thread::current().id());
    /// let id = set.join_next().await.unwrap().unwrap();
    /// assert_ne!(id, std::thread::current().id());
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn_blocking(f))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime and adds the job
    /// to the set.
    ///
    /// # Panics
    ///
    /// As [`Handle::spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn_blocking_on(|| 8, rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 8);
    /// ```
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn_blocking(f))
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set.
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Spawns each future on the current runtime into a new set.
///
/// # Spawn location
///
/// The location these tasks record (in [`Handle::dump`], the stall
/// detector and tokio-console) is this implementation's own, a line of
/// `src/task/join_set.rs` in this crate, for `iter.collect()` and
/// `JoinSet::from_iter(iter)` alike: `collect` calls `from_iter` from the
/// standard library, which passes no caller location on, so none of the
/// user's call sites could be recorded through it. To record your own,
/// [`extend`](Extend::extend) a set or [`spawn`](JoinSet::spawn) into it.
///
/// # Panics
///
/// Outside a runtime, as [`spawn`](super::spawn).
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Not `#[track_caller]`: through `collect` the location would be a
    // line of the standard library's `iterator.rs`; this one at least
    // names the `JoinSet`.
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future on the current runtime into the set.
///
/// Each task records the location of the `extend` call as its spawn
/// location, as [`spawn`](JoinSet::spawn) does (when `extend` is called
/// through a generic function instead, that function's call of it).
///
/// # Panics
///
/// Outside a runtime, as [`spawn`](super::spawn).
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for task in iter {
            self.spawn(task);
        }
    }
}
