//! The six runtime set-ups `compare` pits against each other, the
//! servers each one runs, and the bare limit they are measured against.
//!
//! | name | what |
//! |---|---|
//! | `runtime` | ours, multi-thread, default settings (worker-driven reactor) |
//! | `runtime-thread` | ours, `Builder::worker_driven_reactor(false)` (the reactor thread alone drives I/O) |
//! | `tokio` | tokio, multi-thread, `enable_all` |
//! | `runtime-ct` | ours, current-thread (one thread, whatever `workers` says) |
//! | `tokio-ct` | tokio, current-thread (one thread, whatever `workers` says) |
//! | `smol` | an `smol::Executor` run by `workers` threads |
//! | `raw-epoll` | no runtime: one thread over raw edge-triggered epoll ([`raw_epoll`](crate::raw_epoll)); echo only |
//!
//! The servers have the same shape on every runtime: a listener made here
//! (same socket options, same backlog) handed to the runtime, an accept loop
//! in a spawned task, one spawned task per connection. Echo reads into a
//! 4 KiB buffer and writes back what it read; HTTP is the responder of the
//! example `runtime/examples/http_hello.rs` — for `runtime` that very file,
//! for tokio and smol its [`respond`](http_hello::respond) function inside
//! a connection loop of the same shape.
//!
//! Two more services, on `runtime` and tokio set-ups only (not smol, not
//! raw-epoll): hyper 1.x's HTTP/1.1 server with one handler on both
//! ([`hyper_hello`](crate::hyper_hello)), and a TCP proxy to an upstream
//! address joined by each runtime's `copy_bidirectional`
//! ([`proxy`](crate::proxy)).

use std::fmt;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::chan::Latch;
use crate::rt::{BenchRuntime, Ours, Smol, Spawner, Tokio, Visit};

// `runtime`'s HTTP example, compiled into this crate so that the server
// measured is the example itself. (A plain comment: with an outer doc
// comment here, rustdoc resolves the links of the file's own `//!` docs in
// this module instead of that one.)
#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/http_hello.rs"]
pub mod http_hello;

/// The listen backlog of every server.
const BACKLOG: libc::c_int = 4096;
/// Each connection's read buffer.
const BUF: usize = 4096;

/// A runtime set-up under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contender {
    /// Ours, default settings.
    Runtime,
    /// Ours, reactor driven by its thread only.
    RuntimeThread,
    /// tokio, multi-thread.
    Tokio,
    /// Ours, current-thread.
    RuntimeCt,
    /// tokio, current-thread.
    TokioCt,
    /// smol.
    Smol,
    /// No runtime: the raw epoll echo server (the echo cases only).
    RawEpoll,
}

/// What a server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Echo every byte back.
    Echo,
    /// HTTP/1.1 hello world.
    Http,
    /// HTTP/1.1 hello world from hyper 1.x ([`hyper_hello`](crate::hyper_hello)).
    Hyper,
    /// A TCP proxy to `upstream` ([`proxy`](crate::proxy)).
    Proxy {
        /// Where each accepted connection is joined to.
        upstream: SocketAddr,
    },
}

impl Service {
    /// The service named `case` (`echo`, `http`, `hyper` or `proxy`, the
    /// last with its `upstream`), as `compare --serve ... --case` names it.
    ///
    /// # Errors
    ///
    /// An unknown name, or `proxy` without an upstream.
    pub fn from_case(case: &str, upstream: Option<SocketAddr>) -> Result<Service, String> {
        match (case, upstream) {
            ("echo", _) => Ok(Service::Echo),
            ("http", _) => Ok(Service::Http),
            ("hyper", _) => Ok(Service::Hyper),
            ("proxy", Some(upstream)) => Ok(Service::Proxy { upstream }),
            ("proxy", None) => Err("case proxy needs --upstream ADDR".into()),
            _ => Err(format!(
                "unknown case {case:?} (echo, http, hyper or proxy)"
            )),
        }
    }

    /// The name [`from_case`](Service::from_case) takes.
    pub fn case(self) -> &'static str {
        match self {
            Service::Echo => "echo",
            Service::Http => "http",
            Service::Hyper => "hyper",
            Service::Proxy { .. } => "proxy",
        }
    }
}

impl Contender {
    /// Every set-up: tokio (the reference) first, then ours, then the rest.
    pub const ALL: [Contender; 7] = [
        Contender::Tokio,
        Contender::Runtime,
        Contender::RuntimeThread,
        Contender::RuntimeCt,
        Contender::TokioCt,
        Contender::Smol,
        Contender::RawEpoll,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Runtime => "runtime",
            Contender::RuntimeThread => "runtime-thread",
            Contender::Tokio => "tokio",
            Contender::RuntimeCt => "runtime-ct",
            Contender::TokioCt => "tokio-ct",
            Contender::Smol => "smol",
            Contender::RawEpoll => "raw-epoll",
        }
    }

    /// Whether this set-up takes part in `compare`'s section `section`
    /// (`echo`, `echo-rate`, `http`, `sched`, ...): a runtime takes part in
    /// all of them but `hyper` and `proxy`, which are for `runtime` and
    /// tokio set-ups only (see [`serves`](Contender::serves)); `raw-epoll`
    /// only in those that measure echo servers (`echo`, `echo-rate`,
    /// `scale`), having no tasks, timers or HTTP.
    pub fn in_section(self, section: &str) -> bool {
        match (self, section) {
            (Contender::RawEpoll, s) => matches!(s, "echo" | "echo-rate" | "scale"),
            (_, "hyper") => self.serves(Service::Hyper),
            (_, "proxy") => self.serves(Service::Proxy {
                upstream: SocketAddr::from(([127, 0, 0, 1], 0)),
            }),
            _ => true,
        }
    }

    /// Whether this set-up has a server for `service`: every runtime serves
    /// echo and HTTP, `raw-epoll` echo only; hyper and the proxy run on the
    /// `runtime` and tokio set-ups, not on smol.
    pub fn serves(self, service: Service) -> bool {
        match (self, service) {
            (_, Service::Echo) => true,
            (Contender::RawEpoll, _) => false,
            (Contender::Smol, Service::Http) => true,
            (Contender::Smol, _) => false,
            _ => true,
        }
    }

    /// One line on how it is set up.
    pub fn describe(self) -> &'static str {
        match self {
            Contender::Runtime => {
                "runtime, multi-thread, default settings (idle workers drive the reactor)"
            }
            Contender::RuntimeThread => {
                "runtime, multi-thread, `worker_driven_reactor(false)` (reactor thread only)"
            }
            Contender::Tokio => "tokio, multi-thread scheduler, `enable_all`",
            Contender::RuntimeCt => {
                "runtime, current-thread scheduler (1 thread whatever `--workers` says)"
            }
            Contender::TokioCt => {
                "tokio, current-thread scheduler (1 thread whatever `--workers` says)"
            }
            Contender::Smol => "smol, one `Executor` run by `--workers` threads (async-io reactor)",
            Contender::RawEpoll => {
                "no runtime: one thread over raw edge-triggered epoll (1 thread whatever \
                 `--workers` says; echo only), the kernel's own cost"
            }
        }
    }

    /// Runs `v` with this runtime built with `workers` threads.
    ///
    /// # Errors
    ///
    /// If the runtime cannot be built; `Unsupported` for `raw-epoll`, which
    /// is no runtime.
    pub fn visit<V: Visit>(self, workers: usize, v: V) -> io::Result<V::Output> {
        Ok(match self {
            Contender::Runtime => v.visit(&Ours::new(workers)?),
            Contender::RuntimeThread => v.visit(&Ours::with_reactor_thread(workers)?),
            Contender::Tokio => v.visit(&Tokio::new(workers)?),
            Contender::RuntimeCt => v.visit(&Ours::current_thread()?),
            Contender::TokioCt => v.visit(&Tokio::current_thread()?),
            Contender::Smol => v.visit(&Smol::new(workers)?),
            Contender::RawEpoll => return Err(not_a_runtime()),
        })
    }

    /// Serves `service` on `listener` with `workers` threads until standard
    /// input reaches end-of-file (the parent closed it or died), then exits
    /// the process at once (no orderly shutdown of thousands of tasks).
    ///
    /// # Errors
    ///
    /// If the runtime cannot be built or the listener registered;
    /// `Unsupported` if this set-up does not [serve](Contender::serves)
    /// `service`.
    pub fn serve(
        self,
        workers: usize,
        listener: std::net::TcpListener,
        service: Service,
    ) -> io::Result<()> {
        if !self.serves(service) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{self} has no {} server", service.case()),
            ));
        }
        match self {
            Contender::Runtime | Contender::RuntimeThread => {
                let ours = if self == Contender::Runtime {
                    Ours::new(workers)?
                } else {
                    Ours::with_reactor_thread(workers)?
                };
                let rt = ours.inner();
                let listener =
                    rt.block_on(async { runtime::net::TcpListener::from_std(listener) })?;
                match service {
                    Service::Echo => drop(rt.spawn(ours::accept(listener))),
                    Service::Http => drop(rt.spawn(http_hello::serve(listener))),
                    Service::Hyper => drop(rt.spawn(crate::hyper_hello::ours::accept(listener))),
                    Service::Proxy { upstream } => {
                        drop(rt.spawn(crate::proxy::ours::accept(listener, upstream)))
                    }
                }
                wait_for_eof();
            }
            Contender::Tokio => {
                let tokio = Tokio::new(workers)?;
                let rt = tokio.inner();
                let listener =
                    rt.block_on(async { tokio::net::TcpListener::from_std(listener) })?;
                drop(rt.spawn(tokio_server::serve(listener, service)));
                wait_for_eof();
            }
            Contender::RuntimeCt => {
                let ours = Ours::current_thread()?;
                let rt = ours.inner();
                let listener =
                    rt.block_on(async { runtime::net::TcpListener::from_std(listener) })?;
                // Every task runs inside this thread's `block_on`; another
                // thread waits for the end of standard input.
                std::thread::Builder::new()
                    .name("bench-eof".into())
                    .spawn(|| {
                        wait_for_eof();
                        std::process::exit(0)
                    })?;
                match service {
                    Service::Echo => rt.block_on(ours::accept(listener)),
                    Service::Http => rt.block_on(http_hello::serve(listener))?,
                    Service::Hyper => rt.block_on(crate::hyper_hello::ours::accept(listener)),
                    Service::Proxy { upstream } => {
                        rt.block_on(crate::proxy::ours::accept(listener, upstream))
                    }
                }
            }
            Contender::TokioCt => {
                let rt = Tokio::current_thread()?.into_inner();
                let listener =
                    rt.block_on(async { tokio::net::TcpListener::from_std(listener) })?;
                std::thread::Builder::new()
                    .name("bench-tokio-ct".into())
                    .spawn(move || rt.block_on(tokio_server::serve(listener, service)))?;
                wait_for_eof();
            }
            Contender::Smol => {
                let smol = Smol::new(workers)?;
                let listener = smol::net::TcpListener::try_from(listener)?;
                let ex = smol.executor().clone();
                smol.executor()
                    .spawn(smol_server::accept(ex, listener, service == Service::Http))
                    .detach();
                wait_for_eof();
            }
            Contender::RawEpoll => {
                let server = crate::raw_epoll::EchoServer::new(listener)?;
                std::thread::Builder::new()
                    .name("bench-raw-epoll".into())
                    .spawn(move || {
                        if let Err(e) = server.run() {
                            eprintln!("raw-epoll: {e}");
                            std::process::exit(1);
                        }
                    })?;
                wait_for_eof();
            }
        }
        std::process::exit(0)
    }

    /// Spawns `count` tasks that each wait forever and reports the growth of
    /// this process's resident memory per task, in bytes, once every task
    /// has been polled once; also the size of each task's future.
    ///
    /// # Errors
    ///
    /// If the runtime cannot be built or `/proc` cannot be read.
    pub fn task_memory(self, workers: usize, count: usize) -> io::Result<(f64, usize)> {
        self.visit(workers, TaskMemory { count })?
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Contender {
    type Err = String;

    fn from_str(s: &str) -> Result<Contender, String> {
        Contender::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown runtime {s:?} (runtime, runtime-thread, runtime-ct, tokio, \
                     tokio-ct, smol or raw-epoll)"
                )
            })
    }
}

/// A non-blocking listener on `addr` with `SO_REUSEADDR` and a backlog of
/// 4096 (capped by `net.core.somaxconn`), the same for every runtime.
///
/// # Errors
///
/// Those of `socket`, `bind`, `listen`.
pub fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by `socket` and belongs to nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    crate::loadgen::with_sockaddr(addr, |sa, len| {
        // SAFETY: `sa` points to a valid socket address of `len` bytes.
        if unsafe { libc::bind(fd.as_raw_fd(), sa, len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })?;
    // SAFETY: plain system call on an fd we own.
    if unsafe { libc::listen(fd.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(fd))
}

fn not_a_runtime() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "raw-epoll is no runtime: it serves the echo cases only",
    )
}

/// Blocks until standard input reaches end-of-file.
fn wait_for_eof() {
    let mut buf = [0u8; 64];
    let mut stdin = io::stdin().lock();
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Measures resident memory per idle task.
struct TaskMemory {
    count: usize,
}

impl Visit for TaskMemory {
    type Output = io::Result<(f64, usize)>;

    fn visit<R: BenchRuntime>(self, rt: &R) -> io::Result<(f64, usize)> {
        let s = rt.spawner();
        let polled = Arc::new(Latch::new(self.count));
        let pid = std::process::id();
        let rss =
            || crate::procfs::rss_of(pid).ok_or_else(|| io::Error::other("cannot read VmRSS"));
        let task = |p: Arc<Latch>| async move {
            p.count_down();
            std::future::pending::<()>().await;
        };
        let future_size = std::mem::size_of_val(&task(Arc::new(Latch::new(1))));
        // Warm up the allocator and the runtime's structures a little.
        let warm = Arc::new(Latch::new(1000));
        rt.block_on(async {
            for _ in 0..1000 {
                s.spawn(task(warm.clone()));
            }
            warm.wait().await;
        });
        let before = rss()?;
        rt.block_on(async {
            for _ in 0..self.count {
                s.spawn(task(polled.clone()));
            }
            polled.wait().await;
        });
        let after = rss()?;
        Ok((
            after.saturating_sub(before) as f64 / self.count as f64,
            future_size,
        ))
    }
}

/// Counts accept errors so that a flood of them is reported once.
static ACCEPT_ERRORS: AtomicUsize = AtomicUsize::new(0);

/// Reports an accept error (the first three only).
pub(crate) fn accept_error(e: &io::Error) {
    if ACCEPT_ERRORS.fetch_add(1, Ordering::Relaxed) < 3 {
        eprintln!("accept: {e}");
    }
}

/// Ours: echo.
mod ours {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    use runtime::net::{TcpListener, TcpStream};

    pub(super) async fn accept(listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(runtime::spawn(echo(stream))),
                Err(e) => {
                    super::accept_error(&e);
                    runtime::task::yield_now().await;
                }
            }
        }
    }

    async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; super::BUF];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

/// tokio: echo and HTTP.
mod tokio_server {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::http_hello::{respond, Next};
    use super::Service;

    /// Serves `service` on `listener` (hyper and the proxy have accept
    /// loops of their own).
    pub(super) async fn serve(listener: TcpListener, service: Service) {
        match service {
            Service::Echo => accept(listener, false).await,
            Service::Http => accept(listener, true).await,
            Service::Hyper => crate::hyper_hello::on_tokio::accept(listener).await,
            Service::Proxy { upstream } => crate::proxy::on_tokio::accept(listener, upstream).await,
        }
    }

    async fn accept(listener: TcpListener, http: bool) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) if http => drop(tokio::spawn(self::http(stream))),
                Ok((stream, _)) => drop(tokio::spawn(echo(stream))),
                Err(e) => {
                    super::accept_error(&e);
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; super::BUF];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }

    async fn http(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut input = Vec::with_capacity(4096);
        let mut output = Vec::with_capacity(4096);
        let mut buf = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            input.extend_from_slice(&buf[..n]);
            let next = respond(&mut input, &mut output);
            if !output.is_empty() {
                stream.write_all(&output).await?;
                output.clear();
            }
            if next == Next::Close {
                return Ok(());
            }
        }
    }
}

/// smol: echo and HTTP.
mod smol_server {
    use std::sync::Arc;

    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use smol::net::{TcpListener, TcpStream};
    use smol::Executor;

    use super::http_hello::{respond, Next};

    /// Serves echo, or HTTP if `http` (smol serves nothing else).
    pub(super) async fn accept(ex: Arc<Executor<'static>>, listener: TcpListener, http: bool) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) if http => ex.spawn(self::http(stream)).detach(),
                Ok((stream, _)) => ex.spawn(echo(stream)).detach(),
                Err(e) => {
                    super::accept_error(&e);
                    smol::future::yield_now().await;
                }
            }
        }
    }

    async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; super::BUF];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }

    async fn http(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut input = Vec::with_capacity(4096);
        let mut output = Vec::with_capacity(4096);
        let mut buf = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            input.extend_from_slice(&buf[..n]);
            let next = respond(&mut input, &mut output);
            if !output.is_empty() {
                stream.write_all(&output).await?;
                output.clear();
            }
            if next == Next::Close {
                return Ok(());
            }
        }
    }
}
