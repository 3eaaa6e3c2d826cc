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
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::context;
use crate::scheduler::{self, Config};
use crate::task::{self, JoinHandle, Notified, OwnedTasks, Schedule, Task};

/// How long an idle blocking thread waits for work before it exits.
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
    config: Config,
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
    pub(crate) fn new(max_threads: usize, thread_name: String, config: Config) -> Spawner {
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
                config,
            }),
        }
    }

    /// Records the runtime handle that blocking threads make current.
    pub(crate) fn set_handle(&self, handle: scheduler::Handle) {
        self.inner.state.lock().handle = Some(handle);
    }

    pub(crate) fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (notified, join) =
            task::new_task(&self.inner.owned, BlockingTask(Some(f)), self.clone());
        if let Some(n) = notified {
            self.schedule(n);
        }
        join
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

    fn spawn_thread(&self, st: &mut State) {
        let inner = self.inner.clone();
        let handle = st.handle.clone();
        let res = std::thread::Builder::new()
            .name(self.inner.thread_name.clone())
            .spawn(move || run(inner, handle));
        match res {
            Ok(_) => st.threads += 1,
            // No thread now: the job waits for a running thread, or for the
            // next spawn to try again. Only fatal if there is no thread at
            // all, in which case it waits until one can be made.
            Err(e) => eprintln!("runtime: cannot spawn a blocking thread: {e}"),
        }
    }
}

impl Schedule for Spawner {
    fn schedule(&self, task: Notified) {
        let mut st = self.inner.state.lock();
        if st.shutdown {
            drop(st);
            drop(task);
            return;
        }
        st.queue.push_back(task);
        if st.idle > st.notified {
            st.notified += 1;
            self.inner.work.notify_one();
        } else if st.threads < self.inner.max_threads {
            self.spawn_thread(&mut st);
        }
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.inner.owned.remove(task)
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
        let timed_out = inner.work.wait_for(&mut st, KEEP_ALIVE).timed_out();
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
/// # Panics
///
/// Outside a runtime.
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
        Some(handle) => handle.blocking.spawn_blocking(f),
        None => panic!("`runtime::spawn_blocking` called outside a runtime"),
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
            // Detached: the job sends its answer itself.
            drop(handle.blocking.spawn_blocking(job));
            Ok(())
        }
        None => Err(job),
    }
}
