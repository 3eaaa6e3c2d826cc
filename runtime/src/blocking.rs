//! The blocking pool: threads for code that blocks (file I/O, CPU-heavy
//! work, foreign blocking APIs), kept apart from the workers.
//!
//! A blocking job is a task like any other (one allocation, a `JoinHandle`,
//! cancellation before it starts), whose future runs its closure on the
//! first poll. Threads are spawned on demand up to `max_blocking_threads`
//! (512 by default); jobs beyond that wait in a FIFO queue. A thread idle
//! for [`KEEP_ALIVE`] exits.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::context;
use crate::scheduler::{self, Config};
use crate::task::{self, JoinHandle, Meta, Notified, OwnedTasks, Schedule, Task};
use crate::time::Clock;

/// How long an idle blocking thread waits for work before it exits, unless
/// `Builder::thread_keep_alive` says otherwise.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The spawning end of a blocking pool; cheap to clone.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Signals queued work (and shutdown) to idle threads.
    work: Condvar,
    /// Signals the last thread's exit to `shutdown`.
    all_exited: Condvar,
    owned: OwnedTasks,
    max_threads: usize,
    thread_name: String,
    /// How long an idle thread waits for work before it exits.
    keep_alive: Duration,
    config: Config,
    /// The runtime's clock (current-thread runtimes): each job holds its
    /// auto-advance from `spawn_blocking` until its task completes.
    clock: Option<crate::shim::Arc<Clock>>,
}

struct State {
    queue: VecDeque<Notified>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Wake-ups sent to idle threads and not yet consumed.
    notified: usize,
    shutdown: bool,
    /// The handle that blocking threads make current (so `spawn` works in
    /// them); set once the runtime's handle exists.
    handle: Option<scheduler::Handle>,
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &st.threads)
            .field("queued", &st.queue.len())
            .finish()
    }
}

/// A closure run once, on the first poll, as a future.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task runs once");
        // Blocking code is not budgeted: it does not yield.
        Poll::Ready(runtime_reactor::coop::unconstrained(f))
    }
}

impl Spawner {
    pub(crate) fn new(
        max_threads: usize,
        thread_name: String,
        keep_alive: Duration,
        config: Config,
        clock: Option<crate::shim::Arc<Clock>>,
    ) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                    handle: None,
                }),
                work: Condvar::new(),
                all_exited: Condvar::new(),
                owned: OwnedTasks::new(),
                max_threads,
                thread_name,
                keep_alive,
                config,
                clock,
            }),
        }
    }

    /// Threads alive and threads idle, for `RuntimeMetrics`.
    pub(crate) fn num_threads(&self) -> (usize, usize) {
        let st = self.inner.state.lock();
        (st.threads, st.idle)
    }

    /// Jobs waiting for a thread, for `RuntimeMetrics`.
    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    /// Records the runtime handle that blocking threads make current.
    pub(crate) fn set_handle(&self, handle: scheduler::Handle) {
        self.inner.state.lock().handle = Some(handle);
    }

    /// Queues `f` as a task and makes sure a thread will run it.
    ///
    /// # Errors
    ///
    /// The error of `std::thread::Builder::spawn` when the pool has no
    /// thread and cannot start one: nothing would ever run the job, so it
    /// is cancelled (dropped unrun) instead of queued. With at least one
    /// thread alive a failed spawn is no error: the job waits for a running
    /// thread.
    pub(crate) fn spawn_blocking<F, R>(&self, f: F, meta: Meta) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // Released by `release`, which every task reaches exactly once when
        // it completes: after running, panicking or being cancelled (also
        // by `new_task` itself, on a closed pool), and after its
        // `JoinHandle` was woken.
        if let Some(clock) = &self.inner.clock {
            clock.inhibit_auto_advance();
        }
        let (notified, join) = task::new_task(
            &self.inner.owned,
            BlockingTask(Some(f)),
            self.clone(),
            meta.blocking(),
        );
        if let Some(n) = notified {
            if let Err(NoThread { error, task }) = self.push(n) {
                // Cancel the job on this thread, outside the pool's lock, as
                // `new_task` does for a closed pool; the `JoinHandle` goes
                // with it.
                task.0.raw().shutdown();
                drop(task);
                drop(join);
                return Err(error);
            }
        }
        Ok(join)
    }

    /// Queues `task`, waking an idle thread or starting one (up to
    /// `max_threads`). After shutdown the task is dropped instead.
    ///
    /// # Errors
    ///
    /// [`NoThread`], with the task taken back out of the queue, when no
    /// thread is alive and none could be started.
    fn push(&self, task: Notified) -> Result<(), NoThread> {
        let mut st = self.inner.state.lock();
        if st.shutdown {
            drop(st);
            drop(task);
            return Ok(());
        }
        st.queue.push_back(task);
        if st.idle > st.notified {
            st.notified += 1;
            self.inner.work.notify_one();
        } else if st.threads < self.inner.max_threads {
            if let Err(error) = self.spawn_thread(&mut st) {
                // With a thread alive, the job waits for it. With none,
                // nobody would ever run it: hand it back. No thread can
                // have taken it, since the lock was held since the push.
                if st.threads == 0 {
                    let task = st.queue.pop_back().expect("the task pushed above");
                    return Err(NoThread { error, task });
                }
            }
        }
        Ok(())
    }

    /// Cancels queued jobs and waits (at most `timeout`; `None`: no limit)
    /// for running ones to finish and their threads to exit.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let queued = {
            let mut st = self.inner.state.lock();
            st.shutdown = true;
            // Break the handle -> spawner -> handle cycle.
            st.handle = None;
            self.inner.work.notify_all();
            std::mem::take(&mut st.queue)
        };
        drop(queued);
        self.inner.owned.close_and_shutdown();
        // A timeout too long for the clock waits without one.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.inner.state.lock();
        while st.threads > 0 {
            match deadline {
                None => self.inner.all_exited.wait(&mut st),
                Some(d) => {
                    if self.inner.all_exited.wait_until(&mut st, d).timed_out() {
                        break;
                    }
                }
            }
        }
    }

    /// Starts one more thread, counted in `st`.
    ///
    /// # Errors
    ///
    /// The error of `std::thread::Builder::spawn` (out of threads or
    /// memory); nothing is counted then.
    fn spawn_thread(&self, st: &mut State) -> io::Result<()> {
        let inner = self.inner.clone();
        let handle = st.handle.clone();
        let name = match &self.inner.config.thread_name_fn {
            Some(name) => name(),
            None => self.inner.thread_name.clone(),
        };
        std::thread::Builder::new()
            .name(name)
            .spawn(move || run(inner, handle))?;
        st.threads += 1;
        Ok(())
    }
}

/// A job that no thread can run: the pool has none and could not start one.
struct NoThread {
    /// Why the thread could not be started.
    error: io::Error,
    /// The job, taken back out of the queue.
    task: Notified,
}

impl Schedule for Spawner {
    /// A blocking task is scheduled here only if it is woken again (which
    /// its future never asks for) or aborted while queued. There is no
    /// caller to report a failure to: without a thread the job stays
    /// queued, for the thread the next `spawn_blocking` starts.
    fn schedule(&self, task: Notified) {
        if let Err(NoThread { task, .. }) = self.push(task) {
            self.inner.state.lock().queue.push_back(task);
        }
    }

    fn release(&self, task: &Task) -> Option<Task> {
        let owned = self.inner.owned.remove(task);
        if let Some(clock) = &self.inner.clock {
            clock.allow_auto_advance();
        }
        owned
    }
}

fn run(inner: Arc<Inner>, handle: Option<scheduler::Handle>) {
    let _current = handle.as_ref().map(context::set_current);
    drop(handle);
    if let Some(f) = &inner.config.on_thread_start {
        f();
    }
    let mut st = inner.state.lock();
    loop {
        if let Some(task) = st.queue.pop_front() {
            drop(st);
            task.run();
            st = inner.state.lock();
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let timed_out = inner.work.wait_for(&mut st, inner.keep_alive).timed_out();
        st.idle -= 1;
        if st.notified > 0 {
            st.notified -= 1;
        } else if timed_out && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
    let last = st.threads == 0;
    drop(st);
    if let Some(f) = &inner.config.on_thread_stop {
        f();
    }
    if last {
        inner.all_exited.notify_all();
    }
}

/// Runs a blocking function on the current runtime's blocking pool.
///
/// The closure starts on a pool thread (one is started if none is idle, up
/// to [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads);
/// beyond that it waits its turn). The returned [`JoinHandle`] delivers its
/// result; aborting it cancels the job only if it has not started yet.
///
/// # Panics
///
/// Outside a runtime, and when the pool has no thread and the OS refuses to
/// start one (out of threads or memory): the job could never run, so it is
/// dropped unrun and the error becomes the panic's message, as in tokio.
/// While any blocking thread is alive, a refused start is not an error: the
/// job waits in the queue for a running thread.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let n = runtime::spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap();
/// assert_eq!(n, 3_628_800);
/// # });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::current() {
        Some(handle) => spawn_blocking_or_panic(&handle.blocking, f, Meta::here()),
        None => panic!("`runtime::spawn_blocking` called outside a runtime"),
    }
}

/// [`Spawner::spawn_blocking`], panicking (as tokio does) when the pool can
/// start no thread at all.
#[track_caller]
pub(crate) fn spawn_blocking_or_panic<F, R>(pool: &Spawner, f: F, meta: Meta) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match pool.spawn_blocking(f, meta) {
        Ok(join) => join,
        Err(e) => panic!("OS can't spawn a blocking thread: {e}"),
    }
}

/// The hook `runtime_net` calls to resolve a host name off the worker: runs
/// `job` on the current runtime's blocking pool, or gives it back when the
/// calling thread is in no runtime (`runtime_net` then starts a thread for
/// it). Installed by [`Builder::build`](crate::Builder::build).
pub(crate) fn spawn_lookup(
    job: runtime_net::lookup_hooks::BlockingJob,
) -> Result<(), runtime_net::lookup_hooks::BlockingJob> {
    match context::current() {
        Some(handle) => {
            // Detached: the job sends its answer itself. If no thread can
            // run it, it is dropped unrun, which closes the lookup's answer
            // slot: the lookup then fails with an error instead of waiting.
            drop(handle.blocking.spawn_blocking(job, Meta::here()));
            Ok(())
        }
        None => Err(job),
    }
}
