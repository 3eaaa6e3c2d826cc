//! The load generator: it belongs to no runtime under test.
//!
//! [`run`] drives many TCP connections from its own threads, each with its
//! own `epoll` instance over non-blocking sockets (raw `libc` calls, level
//! triggered), sends requests, and checks **every byte** that comes back
//! against what was expected. It measures:
//!
//! - messages completed during a measurement window (after a warm-up);
//! - the round-trip time of each message into a [`Histogram`]: in the
//!   closed loop from the moment the message was sent, in the open loop from
//!   the moment it was *scheduled*, so a server (or generator) that falls
//!   behind is charged for the whole delay (no coordinated omission);
//! - the server's CPU time over exactly the window (`/proc/<pid>/stat`,
//!   sampled by the calling thread at the window's edges).
//!
//! Two protocols: echo (each message is a slice of a fixed random table,
//! starting at an offset that depends on the connection and the message
//! number, so a lost, repeated or reordered chunk is caught) and a fixed
//! request/response pair (HTTP). Two modes: closed loop (each connection
//! keeps `depth` messages in flight) and open loop (a fixed total rate,
//! spread evenly over the connections).
//!
//! [`Herd`] is the other tool: thousands of mostly idle connections on
//! blocking sockets (for the memory and connection-scale cases).
//!
//! Every generator socket closes with `SO_LINGER` 0 (a reset, no
//! `TIME_WAIT`), so back-to-back runs never run out of ephemeral ports.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use crate::hist::Histogram;
use crate::procfs;

/// What travels on each connection.
#[derive(Debug, Clone)]
pub enum Protocol {
    /// Messages of `size` bytes, echoed back unchanged.
    Echo {
        /// Bytes per message.
        size: usize,
    },
    /// The same request every time, answered by the same response.
    Fixed {
        /// The bytes sent.
        request: Arc<[u8]>,
        /// The bytes expected back, exactly.
        response: Arc<[u8]>,
    },
}

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Each connection keeps `depth` messages in flight (1: request,
    /// response, next request).
    Closed {
        /// Messages in flight per connection (pipelining depth).
        depth: usize,
    },
    /// Messages are scheduled at `rate` per second in total, whatever the
    /// responses do.
    Open {
        /// Messages per second, all connections together.
        rate: f64,
    },
}

/// One load run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server.
    pub addr: SocketAddr,
    /// Connections, spread round-robin over the threads.
    pub conns: usize,
    /// Generator threads (each with its own epoll instance).
    pub threads: usize,
    /// What is sent.
    pub protocol: Protocol,
    /// How it is sent.
    pub mode: Mode,
    /// Load before the window (not measured).
    pub warmup: Duration,
    /// The measurement window.
    pub window: Duration,
    /// CPUs to pin the generator threads to (`None`: no pinning).
    pub cpus: Option<Vec<usize>>,
    /// The server process, whose CPU time is sampled over the window.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Messages whose response completed inside the window.
    pub completed: u64,
    /// The window's length.
    pub window: Duration,
    /// Round-trip times (see the module docs for the starting point).
    pub latency: Histogram,
    /// Server CPU time (user + system) over the window.
    pub server_cpu: Option<Duration>,
    /// Open loop: messages scheduled in the window still unanswered when
    /// the drain period ended (recorded in `latency` with the time waited
    /// so far, a lower bound).
    pub unfinished: u64,
    /// Messages completed between the return of the window's
    /// [`Edge::Start`] callback and its end (see [`run_observed`]; the
    /// window's count when the callback returns at once).
    pub observed: u64,
}

impl Outcome {
    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.window.as_secs_f64()
    }

    /// Server CPU per message, in microseconds.
    pub fn cpu_per_msg_us(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.completed > 0).then(|| cpu.as_secs_f64() * 1e6 / self.completed as f64)
    }
}

/// The echo payload table: messages are slices of it.
#[derive(Debug)]
struct Payload {
    table: Vec<u8>,
    protocol: Protocol,
}

/// Offsets into the table are below this.
const OFFSETS: usize = 4096;

impl Payload {
    fn new(protocol: &Protocol) -> Payload {
        let size = match protocol {
            Protocol::Echo { size } => *size,
            Protocol::Fixed { .. } => 0,
        };
        // xorshift64*: random-looking bytes, the same on every run.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let table = (0..size + OFFSETS)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        Payload {
            table,
            protocol: protocol.clone(),
        }
    }

    fn request(&self, conn: u64, seq: u64) -> &[u8] {
        match &self.protocol {
            Protocol::Echo { size } => {
                let h = (conn.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ seq.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
                .rotate_left(29);
                let off = (h % OFFSETS as u64) as usize;
                &self.table[off..off + size]
            }
            Protocol::Fixed { request, .. } => request,
        }
    }

    fn response(&self, conn: u64, seq: u64) -> &[u8] {
        match &self.protocol {
            Protocol::Echo { .. } => self.request(conn, seq),
            Protocol::Fixed { response, .. } => response,
        }
    }
}

/// Opens a blocking TCP connection to `addr`, from source address `src`
/// if given, with `TCP_NODELAY` and `SO_LINGER` 0.
///
/// # Errors
///
/// Those of `socket`, `bind` and `connect` (`ECONNREFUSED`,
/// `EADDRNOTAVAIL` when the source address is out of ports, …).
pub fn connect(addr: SocketAddr, src: Option<IpAddr>) -> io::Result<TcpStream> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by `socket` and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, &linger)?;
    if let Some(ip) = src {
        setsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &1i32,
        )?;
        with_sockaddr(SocketAddr::new(ip, 0), |sa, len| {
            // SAFETY: `sa` points to a valid socket address of `len` bytes.
            cvt(unsafe { libc::bind(fd.as_raw_fd(), sa, len) })
        })?;
    }
    with_sockaddr(addr, |sa, len| loop {
        // SAFETY: as above.
        match cvt(unsafe { libc::connect(fd.as_raw_fd(), sa, len) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    })?;
    let stream = TcpStream::from(fd);
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn cvt(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a valid `T` of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
}

/// Calls `f` with `addr` as a C socket address.
pub(crate) fn with_sockaddr<R>(
    addr: SocketAddr,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R,
) -> R {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid `sockaddr_in`.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            f(
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid `sockaddr_in6`.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_scope_id = a.scope_id();
            f(
                (&sa as *const libc::sockaddr_in6).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        }
    }
}

/// The instants every thread works to.
#[derive(Debug, Clone, Copy)]
struct Times {
    start: Instant,
    window_start: Instant,
    window_end: Instant,
    /// Open loop: when to give up on unanswered messages.
    drain_end: Instant,
}

/// Runs the load described by `spec` and reports what it measured.
///
/// # Errors
///
/// A connection that fails to connect, closes, errs, or returns one byte
/// that differs from what was expected fails the whole run (the error says
/// which connection and message).
pub fn run(spec: &Spec) -> io::Result<Outcome> {
    run_observed(spec, &mut |_| {})
}

/// An edge of the measurement window, as [`run_observed`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The window has just opened.
    Start,
    /// The window has just closed.
    End,
}

/// [`run`], calling `observe` from the timing thread as the window opens
/// and as it closes (e.g. to attach a tracer to the server over the window
/// only). The server's CPU time is sampled after the `Start` call and
/// before the `End` call, so a slow `observe` shortens neither;
/// [`Outcome::observed`] counts the messages completed from the return of
/// the `Start` call to the window's end, the interval a tracer attached in
/// that call sees (give or take one message per connection in flight at
/// each edge).
///
/// # Errors
///
/// As [`run`].
pub fn run_observed(spec: &Spec, observe: &mut dyn FnMut(Edge)) -> io::Result<Outcome> {
    let threads = spec.threads.clamp(1, spec.conns.max(1));
    let payload = Payload::new(&spec.protocol);
    let barrier = Barrier::new(threads + 1);
    let times = OnceLock::new();
    let failed = AtomicBool::new(false);
    let closed = Gate::default();
    let done: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let done_now = || done.iter().map(|d| d.load(Ordering::Relaxed)).sum::<u64>();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let ids: Vec<u64> = (t..spec.conns).step_by(threads).map(|i| i as u64).collect();
                let (payload, barrier, times, failed, closed, done) =
                    (&payload, &barrier, &times, &failed, &closed, &done);
                std::thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn_scoped(scope, move || {
                        if let Some(cpus) = &spec.cpus {
                            let _ = procfs::pin_current_thread(cpus);
                        }
                        let conns = match ids
                            .iter()
                            .map(|&id| Conn::open(spec.addr, id))
                            .collect::<io::Result<Vec<_>>>()
                        {
                            Ok(c) => Some(c),
                            Err(e) => {
                                failed.store(true, Ordering::SeqCst);
                                barrier.wait();
                                barrier.wait();
                                return Err(e);
                            }
                        };
                        barrier.wait();
                        barrier.wait();
                        if failed.load(Ordering::SeqCst) {
                            return Err(io::Error::other("another generator thread failed"));
                        }
                        let times: Times = *times.get().expect("set before the barrier");
                        let rate = match spec.mode {
                            Mode::Open { rate } => Some(rate / threads as f64),
                            Mode::Closed { .. } => None,
                        };
                        let mut worker = Worker::new(
                            conns.unwrap_or_default(),
                            payload,
                            spec.mode,
                            times,
                            rate,
                            &done[t],
                        )?;
                        let part = worker.run();
                        // The connections stay open until the window has
                        // been observed closed, so that their closing is
                        // not part of it.
                        closed.wait();
                        part
                    })
                    .expect("spawn a generator thread")
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let window_start = start + spec.warmup;
        let window_end = window_start + spec.window;
        let drain = match spec.mode {
            Mode::Open { .. } => Duration::from_secs(2),
            Mode::Closed { .. } => Duration::ZERO,
        };
        times
            .set(Times {
                start,
                window_start,
                window_end,
                drain_end: window_end + drain,
            })
            .expect("set once");
        barrier.wait();
        let mut server_cpu = None;
        let mut observed = 0;
        if !failed.load(Ordering::SeqCst) {
            sleep_until(window_start);
            observe(Edge::Start);
            let first = done_now();
            let before = spec.server_pid.and_then(procfs::cpu_of);
            sleep_until(window_end);
            let after = spec.server_pid.and_then(procfs::cpu_of);
            observed = done_now() - first;
            observe(Edge::End);
            server_cpu = before.zip(after).map(|(b, a)| a.saturating_sub(b));
        }
        closed.open();
        let mut out = Outcome {
            completed: 0,
            window: spec.window,
            latency: Histogram::new(),
            server_cpu,
            unfinished: 0,
            observed,
        };
        let mut first_err = None;
        for w in workers {
            match w.join().expect("generator thread panicked") {
                Ok(part) => {
                    out.completed += part.completed;
                    out.unfinished += part.unfinished;
                    out.latency.merge(&part.latency);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}

/// A gate threads wait at until it is opened, once.
#[derive(Default)]
struct Gate {
    open: std::sync::Mutex<bool>,
    cond: std::sync::Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.cond.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// One generator connection.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// Global connection number (selects the payload).
    id: u64,
    /// The message being written, and how much of it is out.
    send_seq: u64,
    send_off: usize,
    /// Messages due but not yet fully written.
    to_send: u64,
    /// The message being read back, and how much of it has arrived.
    recv_seq: u64,
    recv_off: usize,
    /// When each message in flight started (sent or scheduled).
    inflight: VecDeque<Instant>,
    /// Whether `EPOLLOUT` is in the interest set.
    want_write: bool,
}

impl Conn {
    fn open(addr: SocketAddr, id: u64) -> io::Result<Conn> {
        let stream = connect(addr, None)?;
        stream.set_nonblocking(true)?;
        Ok(Conn {
            stream,
            id,
            send_seq: 0,
            send_off: 0,
            to_send: 0,
            recv_seq: 0,
            recv_off: 0,
            inflight: VecDeque::new(),
            want_write: false,
        })
    }

    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

/// What one thread measured.
#[derive(Debug)]
struct Part {
    completed: u64,
    unfinished: u64,
    latency: Histogram,
}

/// One generator thread's event loop.
struct Worker<'a> {
    epoll: OwnedFd,
    conns: Vec<Conn>,
    payload: &'a Payload,
    mode: Mode,
    times: Times,
    /// Open loop: messages per second for this thread.
    rate: Option<f64>,
    scratch: Vec<u8>,
    part: Part,
    /// Messages completed so far, window or not (read by the timing thread
    /// at the observed edges).
    done: &'a AtomicU64,
}

impl<'a> Worker<'a> {
    fn new(
        conns: Vec<Conn>,
        payload: &'a Payload,
        mode: Mode,
        times: Times,
        rate: Option<f64>,
        done: &'a AtomicU64,
    ) -> io::Result<Worker<'a>> {
        // SAFETY: plain system call.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `ep` was just returned by `epoll_create1`; we own it.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        let w = Worker {
            epoll,
            conns,
            payload,
            mode,
            times,
            rate,
            scratch: vec![0; 64 * 1024],
            done,
            part: Part {
                completed: 0,
                unfinished: 0,
                latency: Histogram::new(),
            },
        };
        for (i, c) in w.conns.iter().enumerate() {
            w.ctl(libc::EPOLL_CTL_ADD, c.fd(), i, false)?;
        }
        Ok(w)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, index: usize, write: bool) -> io::Result<()> {
        let mut events = libc::EPOLLIN | libc::EPOLLRDHUP;
        if write {
            events |= libc::EPOLLOUT;
        }
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: index as u64,
        };
        // SAFETY: `ev` is a valid event; both fds are open.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) })
    }

    fn run(&mut self) -> io::Result<Part> {
        let Times {
            start,
            window_end,
            drain_end,
            ..
        } = self.times;
        if let Mode::Closed { depth } = self.mode {
            let now = Instant::now();
            for i in 0..self.conns.len() {
                for _ in 0..depth {
                    self.conns[i].to_send += 1;
                    self.conns[i].inflight.push_back(now);
                }
                self.flush(i)?;
            }
        }
        let interval = self
            .rate
            .map(|r| Duration::from_secs_f64(1.0 / r.max(1e-3)));
        let mut scheduled: u64 = 0;
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        loop {
            let now = Instant::now();
            let mut deadline = window_end;
            if let Some(interval) = interval {
                // Schedule every message due by now (at most up to the
                // window's end), each on the next connection in turn.
                loop {
                    let due = start + interval.mul_f64(scheduled as f64);
                    if due >= window_end {
                        break;
                    }
                    if due > now {
                        deadline = due;
                        break;
                    }
                    let i = (scheduled % self.conns.len() as u64) as usize;
                    scheduled += 1;
                    self.conns[i].to_send += 1;
                    self.conns[i].inflight.push_back(due);
                    self.flush(i)?;
                }
                if now >= window_end {
                    if self.conns.iter().all(|c| c.inflight.is_empty()) || now >= drain_end {
                        break;
                    }
                    deadline = drain_end;
                }
            } else if now >= window_end {
                break;
            }
            let n = self.wait(&mut events, deadline.saturating_duration_since(now))?;
            for ev in &events[..n] {
                let i = ev.u64 as usize;
                let flags = ev.events as i32;
                if flags & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP) != 0
                {
                    self.read(i)?;
                }
                if flags & libc::EPOLLOUT != 0 {
                    self.flush(i)?;
                }
            }
        }
        // Open loop: whatever is still unanswered waited at least this long.
        // (The closed loop just stops with one message in flight each.)
        if interval.is_some() {
            let now = Instant::now();
            let ws = self.times.window_start;
            for c in &self.conns {
                for &t in &c.inflight {
                    if t >= ws && t < window_end {
                        self.part.unfinished += 1;
                        self.part.latency.record(now - t);
                    }
                }
            }
        }
        Ok(std::mem::replace(
            &mut self.part,
            Part {
                completed: 0,
                unfinished: 0,
                latency: Histogram::new(),
            },
        ))
    }

    fn wait(&self, events: &mut [libc::epoll_event], timeout: Duration) -> io::Result<usize> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        loop {
            // SAFETY: `events` is a valid writable buffer of the length
            // passed; `ts` is a valid timespec.
            let n = unsafe {
                libc::epoll_pwait2(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    &ts,
                    std::ptr::null(),
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS) => {
                    // Kernels before 5.11: millisecond timeouts, rounded up.
                    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                    // SAFETY: as above.
                    let n = unsafe {
                        libc::epoll_wait(
                            self.epoll.as_raw_fd(),
                            events.as_mut_ptr(),
                            events.len() as libc::c_int,
                            ms,
                        )
                    };
                    if n >= 0 {
                        return Ok(n as usize);
                    }
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
                _ => return Err(e),
            }
        }
    }

    /// Writes the due messages of connection `i` until done or `EAGAIN`.
    fn flush(&mut self, i: usize) -> io::Result<()> {
        let c = &mut self.conns[i];
        while c.to_send > 0 {
            let msg = self.payload.request(c.id, c.send_seq);
            let rest = &msg[c.send_off..];
            // SAFETY: `rest` is valid for reads of its length.
            let n =
                unsafe { libc::send(c.fd(), rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {
                        if !c.want_write {
                            c.want_write = true;
                            let fd = c.fd();
                            self.ctl(libc::EPOLL_CTL_MOD, fd, i, true)?;
                        }
                        return Ok(());
                    }
                    _ => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("connection {}: send: {e}", c.id),
                        ))
                    }
                }
            }
            c.send_off += n as usize;
            if c.send_off == msg.len() {
                c.send_off = 0;
                c.send_seq += 1;
                c.to_send -= 1;
            }
        }
        if c.want_write {
            c.want_write = false;
            let fd = c.fd();
            self.ctl(libc::EPOLL_CTL_MOD, fd, i, false)?;
        }
        Ok(())
    }

    /// Reads what connection `i` has, checks it, completes messages.
    fn read(&mut self, i: usize) -> io::Result<()> {
        loop {
            let fd = self.conns[i].fd();
            // SAFETY: `scratch` is valid for writes of its length.
            let n =
                unsafe { libc::recv(fd, self.scratch.as_mut_ptr().cast(), self.scratch.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(()),
                    _ => {
                        let id = self.conns[i].id;
                        return Err(io::Error::new(
                            e.kind(),
                            format!("connection {id}: recv: {e}"),
                        ));
                    }
                }
            }
            if n == 0 {
                let c = &self.conns[i];
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection {}: closed by the server after {} messages",
                        c.id, c.recv_seq
                    ),
                ));
            }
            let now = Instant::now();
            let n = n as usize;
            let mut closed_loop_next = 0;
            {
                let Times {
                    window_start: ws,
                    window_end: we,
                    ..
                } = self.times;
                let c = &mut self.conns[i];
                let data = &self.scratch[..n];
                let mut p = 0;
                while p < n {
                    let Some(&started) = c.inflight.front() else {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("connection {}: {} bytes nobody asked for", c.id, n - p),
                        ));
                    };
                    let expect = self.payload.response(c.id, c.recv_seq);
                    let take = (n - p).min(expect.len() - c.recv_off);
                    if data[p..p + take] != expect[c.recv_off..c.recv_off + take] {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "connection {}: message {}: wrong bytes at offset {}",
                                c.id, c.recv_seq, c.recv_off
                            ),
                        ));
                    }
                    p += take;
                    c.recv_off += take;
                    if c.recv_off == expect.len() {
                        c.recv_off = 0;
                        c.recv_seq += 1;
                        c.inflight.pop_front();
                        let in_window = now >= ws && now < we;
                        if in_window {
                            self.part.completed += 1;
                            self.done.fetch_add(1, Ordering::Relaxed);
                        }
                        match self.mode {
                            Mode::Closed { .. } => {
                                if in_window {
                                    self.part.latency.record(now - started);
                                }
                                closed_loop_next += 1;
                            }
                            Mode::Open { .. } => {
                                if started >= ws && started < we {
                                    self.part.latency.record(now - started);
                                }
                            }
                        }
                    }
                }
                for _ in 0..closed_loop_next {
                    c.to_send += 1;
                    c.inflight.push_back(now);
                }
            }
            if closed_loop_next > 0 {
                self.flush(i)?;
            }
            if n < self.scratch.len() {
                return Ok(());
            }
        }
    }
}

/// Many mostly idle connections on blocking sockets: for the memory and
/// connection-scale cases, where what matters is how many there are, not
/// how fast one goes.
#[derive(Debug)]
pub struct Herd {
    streams: Vec<TcpStream>,
    payload: Payload,
    /// Echo rounds done so far (selects the payload).
    rounds: u64,
    /// The first connection's id.
    first_id: u64,
}

/// Bytes per echo in a [`Herd`].
pub const HERD_MESSAGE: usize = 64;

impl Herd {
    /// Opens `n` connections to `addr` (from `src` if given), `batch` at a
    /// time, each echoing one 64-byte message before the next batch starts,
    /// so at most `batch` connections wait to be accepted at once.
    ///
    /// # Errors
    ///
    /// The first failed connect, write or read, or a wrong echoed byte.
    pub fn connect(
        addr: SocketAddr,
        src: Option<IpAddr>,
        n: usize,
        batch: usize,
        first_id: u64,
    ) -> io::Result<Herd> {
        let mut herd = Herd {
            streams: Vec::with_capacity(n),
            payload: Payload::new(&Protocol::Echo { size: HERD_MESSAGE }),
            rounds: 0,
            first_id,
        };
        let batch = batch.max(1);
        while herd.streams.len() < n {
            let from = herd.streams.len();
            let to = (from + batch).min(n);
            for _ in from..to {
                let s = connect(addr, src)?;
                s.set_read_timeout(Some(Duration::from_secs(30)))?;
                herd.streams.push(s);
            }
            herd.echo_range(from, to, 0)?;
        }
        herd.rounds = 1;
        Ok(herd)
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Echoes one message on every connection, `batch` at a time.
    ///
    /// # Errors
    ///
    /// The first failed write or read, or a wrong echoed byte.
    pub fn echo_all(&mut self, batch: usize) -> io::Result<()> {
        let round = self.rounds;
        let mut from = 0;
        while from < self.streams.len() {
            let to = (from + batch.max(1)).min(self.streams.len());
            self.echo_range(from, to, round)?;
            from = to;
        }
        self.rounds += 1;
        Ok(())
    }

    fn echo_range(&mut self, from: usize, to: usize, round: u64) -> io::Result<()> {
        for (k, s) in self.streams[from..to].iter_mut().enumerate() {
            let id = self.first_id + (from + k) as u64;
            s.write_all(self.payload.request(id, round))?;
        }
        let mut buf = [0u8; HERD_MESSAGE];
        for (k, s) in self.streams[from..to].iter_mut().enumerate() {
            let id = self.first_id + (from + k) as u64;
            s.read_exact(&mut buf)?;
            if buf[..] != *self.payload.response(id, round) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("connection {id}: wrong echo in round {round}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A blocking echo server on a thread per connection.
    fn echo_server(corrupt: bool) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let mut s = s.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let mut total = 0usize;
                    loop {
                        let n = match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        total += n;
                        if corrupt && total > 1000 {
                            buf[0] ^= 1;
                        }
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn spec(addr: SocketAddr, mode: Mode) -> Spec {
        Spec {
            addr,
            conns: 8,
            threads: 2,
            protocol: Protocol::Echo { size: 100 },
            mode,
            warmup: Duration::from_millis(50),
            window: Duration::from_millis(200),
            cpus: None,
            server_pid: Some(std::process::id()),
        }
    }

    #[test]
    fn closed_loop_counts_and_verifies() {
        let addr = echo_server(false);
        let out = run(&spec(addr, Mode::Closed { depth: 2 })).unwrap();
        assert!(out.completed > 100, "{out:?}");
        assert_eq!(out.latency.count(), out.completed);
        assert!(out.server_cpu.is_some());
    }

    #[test]
    fn open_loop_sends_at_the_rate() {
        let addr = echo_server(false);
        let out = run(&spec(addr, Mode::Open { rate: 2000.0 })).unwrap();
        // 2000/s over a 200 ms window: about 400.
        assert!((300..=500).contains(&out.completed), "{out:?}");
        assert_eq!(out.unfinished, 0);
    }

    #[test]
    fn a_wrong_byte_fails_the_run() {
        let addr = echo_server(true);
        let err = run(&spec(addr, Mode::Closed { depth: 1 })).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }

    #[test]
    fn herd_connects_and_echoes() {
        let addr = echo_server(false);
        let mut h = Herd::connect(addr, Some("127.0.0.3".parse().unwrap()), 50, 16, 0).unwrap();
        assert_eq!(h.len(), 50);
        h.echo_all(16).unwrap();
    }
}
