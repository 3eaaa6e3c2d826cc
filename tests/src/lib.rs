//! Shared helpers for the integration tests.
//!
//! - [`Flavor`] and [`flavor_tests!`] run one test body on each scheduler.
//! - [`block_on`] runs a future under a [`Watchdog`], a hang guard that
//!   aborts the test binary if a test runs far longer than any healthy run
//!   could; it is never a pass criterion.
//! - [`echo_server`], [`connected_pair`], [`closed_port_addr`]: loopback
//!   sockets on 127.0.0.1.
//! - [`pattern`] and [`assert_bytes_eq`]: pseudo-random payloads and a
//!   comparison that reports the first differing offset instead of printing
//!   megabytes.
//! - [`WakeCounter`], [`DropCounter`], [`serial`], [`panic_message`]: small
//!   probes for wake-ups, drops, global state and panic payloads.

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};
use std::thread;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::Runtime;

/// How long [`block_on`] lets a test run before its [`Watchdog`] aborts the
/// process: a hang guard only, orders of magnitude above a healthy run.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Which scheduler a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread().worker_threads(2)`.
    MultiThread,
}

impl Flavor {
    /// Every flavor, for tests that loop over them.
    pub const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    /// Builds a runtime of this flavor.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built.
    pub fn build(self) -> Runtime {
        let rt = match self {
            Flavor::CurrentThread => runtime::Builder::new_current_thread().build(),
            Flavor::MultiThread => runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build(),
        };
        rt.unwrap_or_else(|e| panic!("building a {self:?} runtime failed: {e}"))
    }
}

/// Generates, for each named function `fn name(flavor: Flavor)`, a module
/// `name` with the tests `name::current_thread` and `name::multi_thread`, so
/// that a scheduler-dependent behaviour is checked on both schedulers.
///
/// ```
/// use runtime_tests::{block_on, flavor_tests, Flavor};
///
/// fn spawn_returns_output(flavor: Flavor) {
///     let out = block_on(flavor, async { runtime::spawn(async { 1 }).await.unwrap() });
///     assert_eq!(out, 1);
/// }
///
/// flavor_tests!(spawn_returns_output);
/// # fn main() {
/// #     spawn_returns_output(Flavor::CurrentThread);
/// #     spawn_returns_output(Flavor::MultiThread);
/// # }
/// ```
#[macro_export]
macro_rules! flavor_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn current_thread() {
                    super::$name($crate::Flavor::CurrentThread)
                }

                #[test]
                fn multi_thread() {
                    super::$name($crate::Flavor::MultiThread)
                }
            }
        )*
    };
}

/// A hang guard: aborts the whole process (with a message naming the test
/// thread) if it is not dropped within its limit.
///
/// A hung test would otherwise stall CI until an outer timeout with no clue
/// which test hung. The limit is never a pass criterion: it is far above
/// any healthy run on a loaded machine.
#[derive(Debug)]
pub struct Watchdog {
    /// Dropping it disconnects the channel, which ends the watchdog thread.
    cancel: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog for the current thread (named after its test by the
    /// test harness).
    pub fn start(limit: Duration) -> Watchdog {
        let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
        let (cancel, rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("watchdog {name}"))
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    eprintln!(
                        "watchdog: `{name}` still running after {limit:?}: it hangs; aborting \
                         the test process"
                    );
                    std::process::abort();
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog {
            cancel: Some(cancel),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.cancel.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Builds a runtime of `flavor` and runs `future` on it under a
/// [`Watchdog`] of [`HANG_LIMIT`]; the runtime is dropped before returning.
pub fn block_on<F: Future>(flavor: Flavor, future: F) -> F::Output {
    block_on_with_limit(flavor, HANG_LIMIT, future)
}

/// [`block_on`] with another hang limit, for the tests that move a lot of
/// data in a debug build.
pub fn block_on_with_limit<F: Future>(flavor: Flavor, limit: Duration, future: F) -> F::Output {
    let _watchdog = Watchdog::start(limit);
    let rt = flavor.build();
    let out = rt.block_on(future);
    drop(rt);
    out
}

/// `len` pseudo-random bytes (xorshift64), different for each `seed`, so that
/// a lost, duplicated or reordered chunk cannot go unnoticed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (len - out.len()).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..n]);
    }
    out
}

/// Asserts that `actual == expected`, reporting the lengths and the first
/// differing offset (not the contents, which may be megabytes).
///
/// # Panics
///
/// If the slices differ.
#[track_caller]
pub fn assert_bytes_eq(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first = actual.iter().zip(expected).position(|(a, b)| a != b);
    panic!(
        "{what}: got {} bytes, expected {}; first difference at offset {:?}",
        actual.len(),
        expected.len(),
        first.or(Some(actual.len().min(expected.len())))
    );
}

/// Counters kept by an [`echo_server`].
#[derive(Debug, Default)]
pub struct EchoStats {
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Bytes echoed back, over all connections.
    pub bytes: AtomicUsize,
    /// Connections that ended with an I/O error.
    pub errors: AtomicUsize,
}

/// Binds a listener on 127.0.0.1 and spawns, on the current runtime, a task
/// that accepts connections and echoes each one in its own task: every byte
/// read is written back, and the peer's EOF is answered by shutting down the
/// write half. Returns the listener's address and its counters.
///
/// The tasks run until the runtime is dropped.
///
/// # Errors
///
/// If the listener cannot be bound.
///
/// # Panics
///
/// Outside a runtime.
pub async fn echo_server() -> io::Result<(SocketAddr, Arc<EchoStats>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(EchoStats::default());
    let s = stats.clone();
    runtime::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => panic!("echo server: accept failed: {e}"),
            };
            s.accepted.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            runtime::spawn(async move {
                if let Err(e) = echo(stream, &s).await {
                    s.errors.fetch_add(1, Ordering::SeqCst);
                    eprintln!("echo server: connection failed: {e}");
                }
            });
        }
    });
    Ok((addr, stats))
}

/// Echoes `stream` until EOF, then shuts down its write half.
async fn echo(mut stream: TcpStream, stats: &EchoStats) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.close().await;
        }
        stream.write_all(&buf[..n]).await?;
        stats.bytes.fetch_add(n, Ordering::SeqCst);
    }
}

/// A connected pair over loopback: `(client, server)`, the client from
/// `TcpStream::connect`, the server side from `TcpListener::accept`.
///
/// # Errors
///
/// Any bind, connect or accept error.
pub async fn connected_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, peer) = listener.accept().await?;
    assert_eq!(peer, client.local_addr()?, "accepted the wrong connection");
    Ok((client, server))
}

/// An address on 127.0.0.1 where nothing listens: a port the kernel just
/// handed out and that was released again.
///
/// # Panics
///
/// If no port can be bound.
pub fn closed_port_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe listener");
    let addr = listener.local_addr().expect("probe listener address");
    drop(listener);
    addr
}

/// Sets `SO_LINGER {on, 0}` on a socket, so that closing it sends a reset
/// (RST) instead of a FIN.
///
/// # Errors
///
/// The errors of `setsockopt(2)`.
pub fn set_linger_zero(socket: &impl AsRawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `socket` is an open fd for the duration of the call, and the
    // option value points to a live `linger` of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets an `int`-valued `SOL_SOCKET` option (`SO_RCVBUF`, `SO_SNDBUF`, …).
///
/// # Errors
///
/// The errors of `setsockopt(2)`.
pub fn set_socket_option(
    socket: &impl AsRawFd,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `socket` is an open fd for the duration of the call, and the
    // option value points to a live `c_int` of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Restores the default action of `SIGPIPE` (terminate the process).
///
/// Rust binaries ignore `SIGPIPE` by default, which would hide a write that
/// forgets `MSG_NOSIGNAL`; after this call such a write kills the test
/// process, so the test fails.
pub fn restore_default_sigpipe() {
    // SAFETY: installing the default disposition for SIGPIPE has no memory
    // safety requirements; it only changes how the process reacts to it.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR, "signal(SIGPIPE, SIG_DFL) failed");
}

/// Counts how often its wakers are woken.
#[derive(Debug, Default)]
pub struct WakeCounter {
    wakes: AtomicUsize,
}

impl WakeCounter {
    /// A new counter and a waker that increments it.
    pub fn new() -> (Arc<WakeCounter>, Waker) {
        let counter = Arc::new(WakeCounter::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    /// How many wake-ups so far.
    pub fn count(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts drops of the [`DropGuard`]s it hands out.
#[derive(Clone, Debug, Default)]
pub struct DropCounter {
    drops: Arc<AtomicUsize>,
}

impl DropCounter {
    /// A counter at zero.
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A guard that increments this counter when dropped.
    pub fn guard(&self) -> DropGuard {
        DropGuard {
            drops: self.drops.clone(),
        }
    }

    /// How many guards were dropped so far.
    pub fn count(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

/// Increments its [`DropCounter`] when dropped; move it into a future to
/// count that future's drops.
#[derive(Debug)]
pub struct DropGuard {
    drops: Arc<AtomicUsize>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Serialises the tests of one test binary that read process-wide state
/// (like the reactor's registration count). Poisoning is ignored, so one
/// failed test does not fail the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The live registrations of the process-wide reactor.
///
/// # Panics
///
/// If the reactor cannot be started.
pub fn registration_count() -> usize {
    runtime_reactor::Reactor::get()
        .expect("starting the reactor")
        .registration_count()
}

/// The message of a panic payload (`&str` or `String`), if it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Yields to the scheduler until `done()` is true: lets other tasks run (on
/// either flavor) while waiting for a condition they establish. Hangs are
/// caught by the test's [`Watchdog`].
pub async fn yield_until(mut done: impl FnMut() -> bool) {
    while !done() {
        runtime::task::yield_now().await;
    }
}

/// A fresh directory under the system temp dir, removed (with everything in
/// it, such as Unix socket files) when dropped, so tests leave nothing
/// behind.
#[derive(Debug)]
pub struct TempDir {
    path: std::path::PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/runtime-<tag>-<pid>-<n>`.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("runtime-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Waits for `d` without a timer: sleeps on the blocking pool, so the
/// calling task parks and the scheduler stays free.
///
/// # Panics
///
/// If the blocking task panics (it does not).
pub async fn sleep_blocking(d: Duration) {
    runtime::spawn_blocking(move || thread::sleep(d))
        .await
        .expect("a blocking sleep panicked");
}

/// The CPU time (user + system) this process has used so far
/// (`getrusage(RUSAGE_SELF)`), over all its threads.
///
/// # Panics
///
/// If `getrusage` fails.
pub fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` points to writable memory of the right size.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage: {}", io::Error::last_os_error());
    // SAFETY: zero-initialised, and filled in by a successful getrusage.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A future that counts how often it is polled (in a shared counter), to
/// check that a parked operation is not polled in a loop.
#[derive(Debug)]
pub struct PollCounter<F> {
    inner: std::pin::Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> PollCounter<F> {
    /// Wraps `inner`; returns the wrapper and its counter.
    pub fn new(inner: F) -> (PollCounter<F>, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        (
            PollCounter {
                inner: Box::pin(inner),
                polls: polls.clone(),
            },
            polls,
        )
    }
}

impl<F: Future> Future for PollCounter<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Writes every byte of `bufs` with vectored writes, advancing across the
/// slices after each partial write; returns how many `write_vectored` calls
/// it took.
///
/// # Errors
///
/// The first write error; `WriteZero` if a write makes no progress.
pub async fn write_all_vectored<W>(w: &mut W, bufs: &mut [io::IoSlice<'_>]) -> io::Result<usize>
where
    W: runtime::io::AsyncWrite + Unpin,
{
    let mut bufs = bufs;
    io::IoSlice::advance_slices(&mut bufs, 0);
    let mut calls = 0;
    while !bufs.is_empty() {
        let n = w.write_vectored(bufs).await?;
        calls += 1;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        io::IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(calls)
}

// ---------------------------------------------------------------------------
// Probes for the adversarial tests (`adv_*.rs`) and the soak binary: CPU
// time against wall time, open file descriptors, waiting for process-wide
// counts to settle, and noticing that a task has parked.
// ---------------------------------------------------------------------------

/// Measures the CPU time the whole process spends over a stretch of wall
/// time, to tell "parked" from "spinning" without any latency threshold.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    cpu: Duration,
    wall: std::time::Instant,
}

/// What a [`CpuMeter`] saw.
#[derive(Debug, Clone, Copy)]
pub struct CpuUsage {
    /// Process CPU time (user + system, every thread) over the interval.
    pub cpu: Duration,
    /// Wall time of the interval.
    pub wall: Duration,
}

impl CpuUsage {
    /// CPU time as a fraction of one core over the interval (1.0: one core
    /// busy the whole time).
    pub fn cores(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

impl CpuMeter {
    /// Starts measuring now.
    pub fn start() -> CpuMeter {
        CpuMeter {
            cpu: process_cpu_time(),
            wall: std::time::Instant::now(),
        }
    }

    /// CPU and wall time since [`start`](CpuMeter::start).
    pub fn read(&self) -> CpuUsage {
        CpuUsage {
            cpu: process_cpu_time().saturating_sub(self.cpu),
            wall: self.wall.elapsed(),
        }
    }
}

/// Asserts that the process used less than `max_cores` of one core over the
/// interval `usage` describes; `what` says what should have been idle.
///
/// # Panics
///
/// If it used more.
#[track_caller]
pub fn assert_idle(usage: CpuUsage, max_cores: f64, what: &str) {
    assert!(
        usage.cores() < max_cores,
        "{what}: the process used {:?} of CPU in {:?} of wall time ({:.0} % of one core, \
         limit {:.0} %): something is spinning",
        usage.cpu,
        usage.wall,
        usage.cores() * 100.0,
        max_cores * 100.0
    );
}

/// The number of open file descriptors of this process (the entries of
/// `/proc/self/fd`, less the one used to read it).
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read.
pub fn open_fd_count() -> usize {
    let dir = std::fs::read_dir("/proc/self/fd").expect("reading /proc/self/fd");
    // The directory stream itself holds one fd while it is read.
    dir.count().saturating_sub(1)
}

/// Calls `probe` until it returns `target` or `patience` has passed, sleeping
/// a little in between, and returns the last value: for counts that settle
/// asynchronously (a server task closing its side after the client left).
/// `patience` is a hang guard, not a pass criterion: the caller asserts on
/// the value.
pub fn settle<T: PartialEq + Copy>(
    target: T,
    patience: Duration,
    mut probe: impl FnMut() -> T,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let v = probe();
        if v == target || std::time::Instant::now() >= deadline {
            return v;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// [`settle`] inside a task: waits with [`sleep_blocking`] (no runtime
/// timer involved) so the runtime keeps running the tasks that bring the
/// count back.
pub async fn settle_async<T: PartialEq + Copy>(
    target: T,
    patience: Duration,
    mut probe: impl FnMut() -> T,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let v = probe();
        if v == target || std::time::Instant::now() >= deadline {
            return v;
        }
        sleep_blocking(Duration::from_millis(5)).await;
    }
}

/// Runs `fut`, setting `parked` each time it returns `Pending`: lets a test
/// wait until a task is really parked (its waker stored) before it provokes
/// the event that must wake it.
pub async fn note_pending<F: Future>(
    parked: Arc<std::sync::atomic::AtomicBool>,
    fut: F,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let res = fut.as_mut().poll(cx);
        if res.is_pending() {
            parked.store(true, Ordering::SeqCst);
        }
        res
    })
    .await
}

/// The environment variable that tells a re-executed test binary which case
/// [`run_in_child`] asked it to run.
pub const CHILD_CASE_ENV: &str = "RUNTIME_TESTS_CHILD_CASE";

/// Runs the test `test_name` of this test binary again in a child process,
/// with [`CHILD_CASE_ENV`] set to `case`, and asserts that the child exited
/// successfully and printed a line ending in `ok: {case}` on stdout.
///
/// For checks whose failure would take the whole process down (an abort, a
/// fatal runtime error): the parent survives it and reports it as a plain
/// test failure, with the child's output. In the child, the test reads
/// [`child_case`], runs that case, and prints the line.
///
/// # Panics
///
/// If the child cannot be started, or fails.
pub fn run_in_child(test_name: &str, case: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE_ENV, case)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The harness prints `test NAME ... ` before the test's own output.
    let said_ok = stdout.lines().any(|l| l.ends_with(&format!("ok: {case}")));
    assert!(
        out.status.success() && said_ok,
        "the child for `{case}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// In a child started by [`run_in_child`]: the case it should run.
pub fn child_case() -> Option<String> {
    std::env::var(CHILD_CASE_ENV).ok()
}
