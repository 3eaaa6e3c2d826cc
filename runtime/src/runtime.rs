//! `Runtime`, `Builder` and `Handle`: the user-facing shell around a
//! scheduler.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::blocking;
use crate::context;
use crate::scheduler::{self, current_thread, multi_thread, Config, Flavor};
use crate::task::{JoinHandle, Meta};

/// Which scheduler a [`Builder`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    thread_name: String,
    thread_stack_size: Option<usize>,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    worker_driven_reactor: bool,
    start_paused: bool,
    config: Config,
    stall_threshold: Option<Duration>,
    on_stall: Option<crate::metrics::StallCallback>,
    poll_time_histogram: bool,
    poll_time_histogram_configuration: crate::metrics::HistogramConfiguration,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .finish()
    }
}

impl Builder {
    /// A builder for the current-thread scheduler: every task runs on the
    /// thread that calls [`Runtime::block_on`].
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    /// A builder for the multi-thread work-stealing scheduler (the default
    /// of [`Runtime::new`] and `#[runtime::main]`).
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            thread_name: "runtime-worker".into(),
            thread_stack_size: None,
            max_blocking_threads: 512,
            thread_keep_alive: crate::blocking::KEEP_ALIVE,
            worker_driven_reactor: true,
            start_paused: false,
            config: Config::default(),
            stall_threshold: None,
            on_stall: None,
            poll_time_histogram: false,
            poll_time_histogram_configuration: Default::default(),
        }
    }

    /// The number of worker threads (multi-thread only; default: the number
    /// of CPUs). More than 65,534 makes [`build`](Builder::build) fail with
    /// `InvalidInput`.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// The name of the runtime's threads.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = name.into();
        self
    }

    /// Names each thread the runtime starts (workers and blocking-pool
    /// threads) with what `f` returns, called once per thread; instead of
    /// [`thread_name`](Builder::thread_name)'s fixed name.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .thread_name_fn(|| {
    ///         static N: AtomicUsize = AtomicUsize::new(0);
    ///         format!("svc-{}", N.fetch_add(1, Ordering::Relaxed))
    ///     })
    ///     .build()
    ///     .unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().unwrap().to_owned()
    /// }));
    /// assert!(name.unwrap().starts_with("svc-"));
    /// ```
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.config.thread_name_fn = Some(Arc::new(f));
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it
    /// exits (default 10 s).
    pub fn thread_keep_alive(&mut self, duration: Duration) -> &mut Self {
        self.thread_keep_alive = duration;
        self
    }

    /// Runs `f` on a worker thread each time it is about to sleep for want
    /// of work (the `block_on` thread, on a current-thread runtime). It runs
    /// on the hot path of every idle moment: keep it short.
    pub fn on_thread_park(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.config.park_hooks.on_park = Some(Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread each time it wakes from such a sleep.
    pub fn on_thread_unpark(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.config.park_hooks.on_unpark = Some(Arc::new(f));
        self
    }

    /// How many tasks a scheduler thread runs from its own queue before it
    /// looks at the queue of tasks spawned and woken from other threads
    /// first. By default the interval adapts to the time tasks take (about
    /// 40 µs of local work between looks, from every 2 to every 127 polls;
    /// see the scheduler docs); a value set here is fixed. Tokio's default
    /// is 31 for the current-thread scheduler, adaptive for the
    /// multi-thread one.
    ///
    /// # Panics
    ///
    /// If `val` is zero.
    #[track_caller]
    pub fn global_queue_interval(&mut self, val: u32) -> &mut Self {
        assert!(val > 0, "global_queue_interval must be greater than 0");
        self.config.global_queue_interval = Some(val);
        self
    }

    /// How many tasks a scheduler thread runs between two looks for I/O
    /// and timer events (a non-blocking reactor poll where the workers
    /// drive the reactor, and the release of tasks that yielded). Default:
    /// 61, as tokio's. Lower gives I/O readiness a shorter wait behind
    /// running tasks, at the cost of more polls.
    ///
    /// # Panics
    ///
    /// If `val` is zero.
    #[track_caller]
    pub fn event_interval(&mut self, val: u32) -> &mut Self {
        assert!(val > 0, "event_interval must be greater than 0");
        self.config.event_interval = Some(val);
        self
    }

    /// Turns off the LIFO slot (multi-thread): a task woken by a running
    /// task goes to the back of the worker's queue instead of running
    /// next. The slot makes message passing between tasks cheaper; without
    /// it, woken tasks run in the order they were woken and can be stolen
    /// at once. No effect on the current-thread scheduler, which has none.
    pub fn disable_lifo_slot(&mut self) -> &mut Self {
        self.config.disable_lifo_slot = true;
        self
    }

    /// What a panic in a spawned task does to the runtime; by default
    /// ([`UnhandledPanic::Ignore`]) nothing: the panic goes to the task's
    /// [`JoinHandle`](crate::task::JoinHandle) and the rest run on. With
    /// [`UnhandledPanic::ShutdownRuntime`] the first such panic shuts the
    /// runtime down, on either flavor (tokio has it, unstable, for the
    /// current-thread one only).
    ///
    /// Tasks of a [`LocalSet`](crate::task::LocalSet) and closures on the
    /// blocking pool are not spawned tasks of the runtime and do not count.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::{Builder, UnhandledPanic};
    ///
    /// let rt = Builder::new_current_thread()
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .build()
    ///     .unwrap();
    /// rt.spawn(async { panic!("boom") });
    /// let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     rt.block_on(std::future::pending::<()>())
    /// }));
    /// assert!(stopped.is_err(), "block_on panicked instead of waiting forever");
    /// ```
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut Self {
        self.config.unhandled_panic = behavior;
        self
    }

    /// The stack size of the runtime's threads.
    pub fn thread_stack_size(&mut self, size: usize) -> &mut Self {
        self.thread_stack_size = Some(size);
        self
    }

    /// The most threads the blocking pool may run at once (default 512).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// Whether the runtime's threads poll the reactor themselves (the
    /// default) or leave it to the reactor thread.
    ///
    /// With `true`, a worker polls the reactor without blocking every 61
    /// tasks and, when it has nothing to do, waits inside the reactor instead
    /// of sleeping, so the tasks that I/O events wake run on that worker with
    /// no cross-thread hop and events are fetched in batches. The reactor
    /// thread then only watches: if nobody polled for 10 ms (every worker busy or
    /// blocked in user code), it polls itself, so I/O is never held up for
    /// long by a busy worker.
    ///
    /// With `false`, the reactor thread alone waits for events and every
    /// wake-up crosses threads. The echo benchmark measured the first about
    /// 1.5 times faster on 2 cores (see the scheduler documentation), hence
    /// the default.
    pub fn worker_driven_reactor(&mut self, enabled: bool) -> &mut Self {
        self.worker_driven_reactor = enabled;
        self
    }

    /// Runs `f` on each runtime thread when it starts.
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.config.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each runtime thread before it stops.
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.config.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Turns on the stall detector: a single poll of a task that holds a
    /// worker longer than `threshold` is reported, once, while it still
    /// runs, to the [`on_stall`](Builder::on_stall) callback (default: one
    /// line on stderr). Not in tokio.
    ///
    /// The runtime then runs one extra watcher thread, which wakes every
    /// quarter of `threshold` (between 1 ms and 100 ms); without a
    /// threshold there is no such thread. A report comes between
    /// `threshold` and about `1.25 * threshold` after the poll began (later
    /// on a loaded machine).
    ///
    /// It times every poll (one clock read per poll, and four stores that
    /// publish what each worker polls), which also keeps
    /// [`RuntimeMetrics::worker_max_poll_duration`](crate::metrics::RuntimeMetrics::worker_max_poll_duration).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .stall_threshold(std::time::Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn stall_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.stall_threshold = Some(threshold);
        self
    }

    /// Sets the stall report (see [`stall_threshold`](Builder::stall_threshold),
    /// which must be set too for it to run). It runs on the watcher thread;
    /// a slow callback delays the next reports. Not in tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread()
    ///     .stall_threshold(std::time::Duration::from_millis(100))
    ///     .on_stall(|info| eprintln!("stalled: {info}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_stall(
        &mut self,
        f: impl Fn(&crate::metrics::StallInfo) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_stall = Some(Arc::new(f));
        self
    }

    /// Turns on the per-worker poll-time histogram (off by default, as in
    /// tokio): each completed poll of a task is counted in one bucket of
    /// its worker's histogram, by how long it took. Read it with
    /// [`RuntimeMetrics::poll_time_histogram_bucket_count`]; the layout is
    /// [`metrics_poll_time_histogram_configuration`](Builder::metrics_poll_time_histogram_configuration)'s,
    /// by default tokio's: 10 linear buckets of 100 µs each (the last one
    /// open-ended). As tokio's, but without `tokio_unstable`.
    ///
    /// It times every poll: one clock read per poll (about as long as the
    /// poll of a task that only yields), plus one store into the worker's
    /// own buckets (see the [`metrics`](crate::metrics) module). Timed
    /// polls also keep
    /// [`RuntimeMetrics::worker_max_poll_duration`](crate::metrics::RuntimeMetrics::worker_max_poll_duration).
    ///
    /// [`RuntimeMetrics::poll_time_histogram_bucket_count`]: crate::metrics::RuntimeMetrics::poll_time_histogram_bucket_count
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .enable_metrics_poll_time_histogram()
    ///     .build()
    ///     .unwrap();
    /// assert!(rt.handle().metrics().poll_time_histogram_enabled());
    /// ```
    pub fn enable_metrics_poll_time_histogram(&mut self) -> &mut Self {
        self.poll_time_histogram = true;
        self
    }

    /// Sets the poll-time histogram's bucket layout: linear
    /// ([`HistogramConfiguration::linear`]) or log-scaled
    /// ([`HistogramConfiguration::log`], with a
    /// [`LogHistogram`](crate::LogHistogram)). Takes effect only with
    /// [`enable_metrics_poll_time_histogram`](Builder::enable_metrics_poll_time_histogram).
    ///
    /// [`HistogramConfiguration::linear`]: crate::HistogramConfiguration::linear
    /// [`HistogramConfiguration::log`]: crate::HistogramConfiguration::log
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::{HistogramConfiguration, LogHistogram};
    ///
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .enable_metrics_poll_time_histogram()
    ///     .metrics_poll_time_histogram_configuration(HistogramConfiguration::log(
    ///         LogHistogram::builder()
    ///             .min_value(Duration::from_micros(1))
    ///             .max_value(Duration::from_millis(100))
    ///             .max_error(0.25),
    ///     ))
    ///     .build()
    ///     .unwrap();
    /// let m = rt.handle().metrics();
    /// assert!(m.poll_time_histogram_bucket_range(0).end <= Duration::from_micros(1));
    /// ```
    pub fn metrics_poll_time_histogram_configuration(
        &mut self,
        configuration: crate::metrics::HistogramConfiguration,
    ) -> &mut Self {
        self.poll_time_histogram_configuration = configuration;
        self
    }

    /// Whether the runtime starts with its time paused, as if the first
    /// thing it ran were [`time::pause`](crate::time::pause) (default
    /// `false`): a current-thread runtime then has a virtual clock that
    /// auto-advances to the next timer whenever the runtime has nothing
    /// else to do. For tests; see [`time::pause`](crate::time::pause).
    ///
    /// # Panics
    ///
    /// [`build`](Builder::build) panics if this is `true` on a multi-thread
    /// builder (pausing needs the current-thread runtime), as tokio's does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::{sleep, Instant};
    ///
    /// let rt = runtime::Builder::new_current_thread()
    ///     .start_paused(true)
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_secs(24 * 3600)).await; // at once
    ///     assert_eq!(start.elapsed(), Duration::from_secs(24 * 3600));
    /// });
    /// ```
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Self {
        self.start_paused = start_paused;
        self
    }

    /// Accepted for tokio compatibility: I/O and timers are always enabled
    /// (one process-wide reactor serves every runtime).
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Accepted for tokio compatibility; see [`enable_all`](Builder::enable_all).
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Accepted for tokio compatibility; see [`enable_all`](Builder::enable_all).
    pub fn enable_time(&mut self) -> &mut Self {
        self
    }

    /// Builds the runtime.
    ///
    /// # Panics
    ///
    /// With [`start_paused(true)`](Builder::start_paused) on a multi-thread
    /// builder.
    ///
    /// # Errors
    ///
    /// If the reactor or a worker thread cannot be started (e.g. `EMFILE`,
    /// `EAGAIN` from `clone`).
    #[track_caller]
    pub fn build(&mut self) -> io::Result<Runtime> {
        // Start the reactor now so that its failure is reported here.
        runtime_reactor::Reactor::get()?;
        // Host-name lookups in `net` run on the blocking pool (`net` knows
        // no scheduler; this is how it reaches one).
        runtime_net::lookup_hooks::set_blocking_spawner(blocking::spawn_lookup);
        self.config.poll_time_histogram = self
            .poll_time_histogram
            .then_some(self.poll_time_histogram_configuration);
        self.config.stall = self.stall_threshold.map(|threshold| crate::metrics::Stall {
            threshold,
            callback: self
                .on_stall
                .clone()
                .unwrap_or_else(|| Arc::new(crate::metrics::print_stall)),
        });
        let new_spawner = |clock| {
            blocking::Spawner::new(
                self.max_blocking_threads,
                format!("{}-blocking", self.thread_name),
                self.thread_keep_alive,
                self.config.clone(),
                clock,
            )
        };
        let (flavor, blocking) = match self.kind {
            Kind::CurrentThread => {
                let shared = current_thread::Shared::new(
                    self.worker_driven_reactor,
                    self.start_paused,
                    self.config.stall.clone(),
                    self.config.poll_time_histogram.as_ref(),
                    self.config.park_hooks.clone(),
                    &self.config,
                );
                let blocking = new_spawner(Some(shared.clock().clone()));
                (Flavor::CurrentThread(shared), blocking)
            }
            Kind::MultiThread => {
                if self.start_paused {
                    panic!(
                        "`time::pause()` requires the `current_thread` runtime. This is the \
                         default runtime used by `#[runtime::test]`."
                    );
                }
                let blocking = new_spawner(None);
                let workers = self
                    .worker_threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                let spec = multi_thread::ThreadSpec {
                    name: self.thread_name.clone(),
                    stack_size: self.thread_stack_size,
                    worker_driven_reactor: self.worker_driven_reactor,
                };
                let spawner = blocking.clone();
                let shared =
                    multi_thread::Shared::start(workers, self.config.clone(), spec, move |s| {
                        scheduler::Handle {
                            flavor: Flavor::MultiThread(s),
                            blocking: spawner.clone(),
                        }
                    })?;
                (Flavor::MultiThread(shared), blocking)
            }
        };
        let handle = scheduler::Handle {
            flavor,
            blocking: blocking.clone(),
        };
        blocking.set_handle(handle.clone());
        Ok(Runtime {
            shut_down: false,
            handle: Handle { inner: handle },
        })
    }
}

/// An executor with its tasks.
///
/// Dropping a `Runtime` cancels every task: each future is dropped exactly
/// once, worker threads are joined, and nothing is leaked. Wakers that
/// outlive it become no-ops.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     runtime::spawn(async { 42 }).await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    handle: Handle,
    /// Set by the first shutdown, so that `Drop` after `shutdown_timeout`
    /// does not wait again (without a limit).
    shut_down: bool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}

impl Runtime {
    /// A multi-thread runtime with default settings.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on the current thread, running the
    /// runtime's tasks meanwhile (current-thread flavor) or while workers run
    /// them (multi-thread flavor).
    ///
    /// # Panics
    ///
    /// If called from a thread that is already driving a runtime (inside a
    /// task, or inside another `block_on`): that would deadlock. Panics of
    /// `future` itself propagate.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime, from any thread (inside the runtime or
    /// not). The task starts at once; the returned [`JoinHandle`] may be
    /// awaited or dropped (which detaches the task).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.spawn(async { 6 * 7 });
    /// assert_eq!(rt.block_on(handle).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.inner.spawn(future, Meta::here())
    }

    /// Runs `func` on this runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Panics
    ///
    /// When the pool has no thread and the OS refuses to start one, as
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.spawn_blocking(|| std::thread::current().name().map(str::to_owned));
    /// let name = rt.block_on(handle).unwrap();
    /// assert_eq!(name.as_deref(), Some("runtime-worker-blocking"));
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        blocking::spawn_blocking_or_panic(&self.handle.inner.blocking, func, Meta::here())
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// This runtime's metrics: the same as
    /// [`handle().metrics()`](Handle::metrics) (tokio's name).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts the runtime down, waiting at most `timeout` for worker threads
    /// to stop. Every task is cancelled.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts the runtime down without waiting for worker threads.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Makes this runtime the current one on this thread until the
    /// returned guard is dropped: [`Handle::current`],
    /// [`spawn`](crate::spawn) and [`spawn_blocking`](crate::spawn_blocking)
    /// then work on this thread, which need not be one of the runtime's.
    /// This does not run anything: tasks run on the runtime's threads (or,
    /// on a current-thread runtime, inside its `block_on`).
    ///
    /// # Panics
    ///
    /// Guards nest; dropping one before a guard made after it (on the same
    /// thread) panics, as in tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = {
    ///     let _guard = rt.enter();
    ///     runtime::spawn(async { 1 })
    /// };
    /// assert_eq!(rt.block_on(handle).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }
}

impl Runtime {
    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        let _current = context::set_current(&self.handle.inner);
        self.handle.inner.shutdown(timeout);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// What a runtime does when a spawned task panics; see
/// [`Builder::unhandled_panic`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// The panic goes to the task's `JoinHandle` (as a [`JoinError`]
    /// whose `is_panic` is true); every other task runs on. The default.
    ///
    /// [`JoinError`]: crate::JoinError
    #[default]
    Ignore,
    /// The first panic shuts the runtime down at once, whether or not the
    /// task's `JoinHandle` is still held: every task is cancelled, tasks
    /// spawned afterwards are dropped without running, and `block_on`
    /// panics, the one running now as well as any later call. The runtime
    /// still has to be dropped, which stops its threads.
    ShutdownRuntime,
}

/// A cheap, cloneable reference to a runtime, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// The scheduler flavor of a runtime, from [`Handle::runtime_flavor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// [`Builder::new_current_thread`]: tasks run on the thread in
    /// `block_on`.
    CurrentThread,
    /// [`Builder::new_multi_thread`]: tasks run on a pool of workers.
    MultiThread,
}

impl Handle {
    /// Which scheduler the runtime runs: a library can check for
    /// [`RuntimeFlavor::MultiThread`] before calling
    /// [`block_in_place`](crate::task::block_in_place), which panics on
    /// the current-thread flavor.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::{Builder, RuntimeFlavor};
    ///
    /// let rt = Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    /// let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     assert_eq!(runtime::Handle::current().runtime_flavor(), RuntimeFlavor::MultiThread);
    /// });
    /// ```
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner.flavor {
            scheduler::Flavor::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            scheduler::Flavor::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }

    /// A live view of this runtime's counters (see [`RuntimeMetrics`]).
    ///
    /// [`RuntimeMetrics`]: crate::metrics::RuntimeMetrics
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 1);
    /// ```
    pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        crate::metrics::RuntimeMetrics::new(self.inner.clone())
    }

    /// Lists every live task of this runtime (id, name, spawn location,
    /// state, polls, time since the last poll) without stopping it: each
    /// shard of the task list is locked in turn while its tasks' atomics
    /// are read, so spawns and completions wait a moment, nothing else.
    /// The listing is not an atomic snapshot. In tokio `Handle::dump` is
    /// async, unstable, and gives backtraces instead; this one is a plain
    /// call.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let (tx, rx) = runtime::sync::oneshot::channel::<()>();
    /// let task = rt.spawn(async move { rx.await.ok(); });
    /// let dump = rt.handle().dump();
    /// assert_eq!(dump.tasks().len(), 1);
    /// println!("{dump}");
    /// drop(tx);
    /// rt.block_on(task).unwrap();
    /// ```
    pub fn dump(&self) -> crate::metrics::Dump {
        crate::metrics::Dump::capture(&self.inner)
    }

    /// The handle of the runtime this thread is running on.
    ///
    /// # Panics
    ///
    /// If the thread is not a runtime thread and not inside `block_on`; see
    /// [`Handle::try_current`].
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "`Handle::current()` called outside a runtime: call it from a task, from inside \
             `block_on`, or from a runtime worker thread",
        )
    }

    /// The handle of the current runtime, or an error outside any.
    ///
    /// # Errors
    ///
    /// [`TryCurrentError`] outside a runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current()
            .map(|inner| Handle { inner })
            .ok_or(TryCurrentError { _private: () })
    }

    /// Spawns a task on this runtime, from any thread; see
    /// [`Runtime::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let join = std::thread::spawn(move || handle.spawn(async { 2 })).join().unwrap();
    /// assert_eq!(rt.block_on(join).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, Meta::here())
    }

    /// Runs `func` on this runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Panics
    ///
    /// As [`Runtime::spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let join = rt.handle().spawn_blocking(|| 40 + 2);
    /// assert_eq!(rt.block_on(join).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        blocking::spawn_blocking_or_panic(&self.inner.blocking, func, Meta::here())
    }

    /// Makes this runtime the current one on this thread until the guard is
    /// dropped; see [`Runtime::enter`].
    ///
    /// # Panics
    ///
    /// As [`Runtime::enter`]: guards dropped out of order.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     assert!(runtime::Handle::try_current().is_ok());
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _current: context::set_current(&self.inner),
            _handle: PhantomData,
        }
    }

    /// Runs `future` to completion on this thread; see [`Runtime::block_on`].
    ///
    /// # Panics
    ///
    /// As [`Runtime::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter_runtime(match self.inner.flavor {
            scheduler::Flavor::MultiThread(_) => context::BlockInPlace::Allowed,
            scheduler::Flavor::CurrentThread(_) => context::BlockInPlace::CurrentThread,
        });
        let _current = context::set_current(&self.inner);
        self.inner.block_on(future)
    }
}

/// Keeps a runtime current on this thread; made by [`Runtime::enter`] and
/// [`Handle::enter`]. Dropping it makes the previous one (or none) current
/// again.
///
/// Not `Send`: it restores this thread's context. Guards must be dropped in
/// the reverse order of their creation; otherwise the drop panics.
#[must_use = "the runtime is current only while the guard is alive"]
pub struct EnterGuard<'a> {
    _current: context::SetCurrentGuard,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Returned by [`Handle::try_current`] outside a runtime.
#[derive(Debug)]
pub struct TryCurrentError {
    _private: (),
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not inside a runtime")
    }
}

impl std::error::Error for TryCurrentError {}
