//! The runtimes under test behind one small trait, so that each benchmark
//! case is written once and runs the same code on every runtime.
//!
//! All three are set up the same way: `workers` threads run the tasks, and
//! the thread calling [`BenchRuntime::block_on`] only waits for its future
//! (it runs no spawned task):
//!
//! - `runtime`: `Builder::new_multi_thread().worker_threads(workers)`;
//! - tokio: `Builder::new_multi_thread().worker_threads(workers).enable_all()`
//!   (the I/O and time drivers on, as under `#[tokio::main]`);
//! - smol: an [`smol::Executor`] run by `workers` threads
//!   (`smol::block_on(ex.run(..))`, the pattern smol documents), with the
//!   caller in plain `smol::block_on`.
//!
//! Each runtime also names its timer API, [`BenchRuntime::Time`] (see
//! [`Time`]): `runtime::time`, `tokio::time`, or async-io's
//! [`smol::Timer`] for smol.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::stream::StreamExt as _;

/// Spawns detached tasks onto one runtime; cheap to clone, usable from any
/// thread (a runtime worker, the `block_on` thread or a foreign thread).
pub trait Spawner: Clone + Send + Sync + 'static {
    /// Spawns `future` as a detached task.
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's own `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// A runtime built for a benchmark.
pub trait BenchRuntime {
    /// Its spawner.
    type Spawner: Spawner;

    /// Its timer API.
    type Time: Time;

    /// Which runtime this is.
    fn kind(&self) -> RuntimeKind;

    /// A spawner for this runtime.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// A runtime's timer API, so that each timer case is written once (see
/// [`crate::timers`]). Its futures must run on one of the runtime's threads
/// (tokio's timers need its context).
pub trait Time: 'static {
    /// `sleep(d)`.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;

    /// `timeout(d, f)`: `true` if `d` elapsed before `f` completed (`f` is
    /// polled first, as tokio's `timeout` does).
    fn timeout<F: Future + Send>(d: Duration, f: F) -> impl Future<Output = bool> + Send;

    /// An interval whose first tick completes at once and the next ones
    /// every `period` after it, missed ticks fired back to back (tokio's
    /// default, `MissedTickBehavior::Burst`).
    fn interval(period: Duration) -> impl Ticker;
}

/// An interval made by [`Time::interval`].
pub trait Ticker: Send + 'static {
    /// Waits for the next tick.
    fn tick(&mut self) -> impl Future<Output = ()> + Send + '_;
}

/// `runtime::time`.
#[derive(Debug)]
pub struct RuntimeTime;

impl Time for RuntimeTime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        runtime::time::sleep(d)
    }

    async fn timeout<F: Future + Send>(d: Duration, f: F) -> bool {
        runtime::time::timeout(d, f).await.is_err()
    }

    fn interval(period: Duration) -> impl Ticker {
        runtime::time::interval(period)
    }
}

impl Ticker for runtime::time::Interval {
    async fn tick(&mut self) {
        runtime::time::Interval::tick(self).await;
    }
}

/// `tokio::time`.
#[derive(Debug)]
pub struct TokioTime;

impl Time for TokioTime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }

    async fn timeout<F: Future + Send>(d: Duration, f: F) -> bool {
        tokio::time::timeout(d, f).await.is_err()
    }

    fn interval(period: Duration) -> impl Ticker {
        tokio::time::interval(period)
    }
}

impl Ticker for tokio::time::Interval {
    async fn tick(&mut self) {
        tokio::time::Interval::tick(self).await;
    }
}

/// smol's timers: async-io's [`smol::Timer`], served by the async-io
/// reactor (which whichever thread sits in `smol::block_on` drives, or
/// else its own `async-io` thread).
///
/// smol has no `sleep`, `timeout` or `Interval` type, so they are built the
/// way smol's documentation shows: `sleep(d)` is `Timer::after(d)`;
/// `timeout(d, f)` races `f` against `Timer::after(d)` with
/// [`smol::future::or`] (`f` polled first); an interval is
/// `Timer::interval_at(Instant::now(), period)` read as a stream (the start
/// at `now` makes the first tick complete at once, as tokio's does).
/// Such a timer has no `MissedTickBehavior`: after a tick it re-arms at the
/// previous deadline plus the period (async-io 2.x `Timer::poll_next`), so
/// missed ticks fire back to back, which is tokio's default, `Burst`.
#[derive(Debug)]
pub struct SmolTime;

impl Time for SmolTime {
    async fn sleep(d: Duration) {
        smol::Timer::after(d).await;
    }

    fn timeout<F: Future + Send>(d: Duration, f: F) -> impl Future<Output = bool> + Send {
        smol::future::or(
            async move {
                f.await;
                false
            },
            async move {
                smol::Timer::after(d).await;
                true
            },
        )
    }

    fn interval(period: Duration) -> impl Ticker {
        smol::Timer::interval_at(Instant::now(), period)
    }
}

impl Ticker for smol::Timer {
    async fn tick(&mut self) {
        self.next().await;
    }
}

/// Code generic over the runtime, run by [`AnyRuntime::visit`] (a closure
/// cannot be generic, a trait method can).
pub trait Visit {
    /// What the visit returns.
    type Output;

    /// Runs with the concrete runtime.
    fn visit<R: BenchRuntime>(self, rt: &R) -> Self::Output;
}

/// The runtimes that can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuntimeKind {
    /// This workspace's `runtime`.
    Runtime,
    /// tokio, multi-thread flavor.
    Tokio,
    /// smol: an `async-executor` run by worker threads.
    Smol,
}

impl RuntimeKind {
    /// Every kind, ours first.
    pub const ALL: [RuntimeKind; 3] = [RuntimeKind::Runtime, RuntimeKind::Tokio, RuntimeKind::Smol];

    /// The lowercase name (`runtime`, `tokio`, `smol`).
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Runtime => "runtime",
            RuntimeKind::Tokio => "tokio",
            RuntimeKind::Smol => "smol",
        }
    }

    /// Builds this runtime with `workers` worker threads.
    ///
    /// # Errors
    ///
    /// If the runtime cannot start its threads.
    pub fn build(self, workers: usize) -> std::io::Result<AnyRuntime> {
        Ok(match self {
            RuntimeKind::Runtime => AnyRuntime::Runtime(Ours::new(workers)?),
            RuntimeKind::Tokio => AnyRuntime::Tokio(Tokio::new(workers)?),
            RuntimeKind::Smol => AnyRuntime::Smol(Smol::new(workers)?),
        })
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RuntimeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        RuntimeKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown runtime {s:?} (runtime, tokio or smol)"))
    }
}

/// Any of the runtimes, for code that picks one at run time.
#[derive(Debug)]
pub enum AnyRuntime {
    /// This workspace's `runtime`.
    Runtime(Ours),
    /// tokio.
    Tokio(Tokio),
    /// smol.
    Smol(Smol),
}

impl AnyRuntime {
    /// Which runtime this is.
    pub fn kind(&self) -> RuntimeKind {
        match self {
            AnyRuntime::Runtime(r) => r.kind(),
            AnyRuntime::Tokio(r) => r.kind(),
            AnyRuntime::Smol(r) => r.kind(),
        }
    }

    /// Runs `v` with the concrete runtime.
    pub fn visit<V: Visit>(&self, v: V) -> V::Output {
        match self {
            AnyRuntime::Runtime(r) => v.visit(r),
            AnyRuntime::Tokio(r) => v.visit(r),
            AnyRuntime::Smol(r) => v.visit(r),
        }
    }
}

/// This workspace's `runtime`, multi-thread or current-thread flavor.
#[derive(Debug)]
pub struct Ours {
    rt: runtime::Runtime,
}

impl Ours {
    /// Builds it with `workers` worker threads.
    ///
    /// # Errors
    ///
    /// See [`runtime::Builder::build`].
    pub fn new(workers: usize) -> std::io::Result<Ours> {
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-runtime")
            .build()?;
        Ok(Ours { rt })
    }

    /// Builds it with `workers` worker threads and the reactor driven by the
    /// reactor thread alone (`worker_driven_reactor(false)`).
    ///
    /// # Errors
    ///
    /// See [`runtime::Builder::build`].
    pub fn with_reactor_thread(workers: usize) -> std::io::Result<Ours> {
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-runtime-thread")
            .worker_driven_reactor(false)
            .build()?;
        Ok(Ours { rt })
    }

    /// Builds the current-thread flavor: every task runs inside a
    /// `block_on`.
    ///
    /// # Errors
    ///
    /// See [`runtime::Builder::build`].
    pub fn current_thread() -> std::io::Result<Ours> {
        let rt = runtime::Builder::new_current_thread().build()?;
        Ok(Ours { rt })
    }

    /// The runtime itself.
    pub fn inner(&self) -> &runtime::Runtime {
        &self.rt
    }
}

impl Spawner for runtime::Handle {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(runtime::Handle::spawn(self, future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        runtime::task::yield_now()
    }
}

impl BenchRuntime for Ours {
    type Spawner = runtime::Handle;
    type Time = RuntimeTime;

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Runtime
    }

    fn spawner(&self) -> runtime::Handle {
        self.rt.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

/// tokio, multi-thread flavor, all drivers enabled.
#[derive(Debug)]
pub struct Tokio {
    rt: tokio::runtime::Runtime,
}

impl Tokio {
    /// Builds it with `workers` worker threads.
    ///
    /// # Errors
    ///
    /// See [`tokio::runtime::Builder::build`].
    pub fn new(workers: usize) -> std::io::Result<Tokio> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-tokio")
            .enable_all()
            .build()?;
        Ok(Tokio { rt })
    }

    /// Builds tokio's current-thread runtime, all drivers enabled: every
    /// task runs inside a `block_on`.
    ///
    /// # Errors
    ///
    /// See [`tokio::runtime::Builder::build`].
    pub fn current_thread() -> std::io::Result<Tokio> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Tokio { rt })
    }

    /// The runtime itself.
    pub fn inner(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    /// The runtime itself, by value (to move it to another thread).
    pub fn into_inner(self) -> tokio::runtime::Runtime {
        self.rt
    }
}

impl Spawner for tokio::runtime::Handle {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::runtime::Handle::spawn(self, future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

impl BenchRuntime for Tokio {
    type Spawner = tokio::runtime::Handle;
    type Time = TokioTime;

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Tokio
    }

    fn spawner(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

/// smol: an [`smol::Executor`] run by `workers` threads until dropped.
pub struct Smol {
    ex: Arc<smol::Executor<'static>>,
    /// Closed on drop, which ends every worker's `run`.
    stop: Option<smol::channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Smol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smol")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Smol {
    /// Starts `workers` threads running a new executor.
    ///
    /// # Errors
    ///
    /// If a thread cannot be started.
    pub fn new(workers: usize) -> std::io::Result<Smol> {
        let ex = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let mut smol = Smol {
            ex,
            stop: Some(stop),
            threads: Vec::with_capacity(workers),
        };
        for i in 0..workers {
            let ex = smol.ex.clone();
            let stopped = stopped.clone();
            let t = std::thread::Builder::new()
                .name(format!("bench-smol-{i}"))
                .spawn(move || {
                    smol::block_on(ex.run(async move {
                        let _ = stopped.recv().await;
                    }))
                })?;
            smol.threads.push(t);
        }
        Ok(smol)
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<smol::Executor<'static>> {
        &self.ex
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Spawns onto a shared [`smol::Executor`].
#[derive(Debug, Clone)]
pub struct SmolSpawner(Arc<smol::Executor<'static>>);

impl Spawner for SmolSpawner {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(future).detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
}

impl BenchRuntime for Smol {
    type Spawner = SmolSpawner;
    type Time = SmolTime;

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Smol
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.ex.clone())
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
}
