//! One generator thread: its own epoll instance (level triggered) over its
//! share of the connections, sending what is due and checking every byte
//! that comes back. The closed loop sends the next message when one
//! completes; the open loop sends on a fixed schedule (`rate`), whatever
//! the responses do, and charges latency from the scheduled time. A
//! closed loop can also be held at the timing thread's word ([`Hold`]): it
//! sends nothing new until every message in flight is back, so that a
//! window opened and closed at such points contains whole exchanges only.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::payload::Payload;
use super::socket::{connect, cvt};
use super::window::Times;
use super::Mode;
use crate::hist::Histogram;

/// One generator connection.
#[derive(Debug)]
pub(super) struct Conn {
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
    /// Closed loop, held: messages that would have been sent by now.
    held: u64,
}

impl Conn {
    pub(super) fn open(addr: SocketAddr, id: u64) -> io::Result<Conn> {
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
            held: 0,
        })
    }

    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

/// The timing thread's word to closed-loop generator threads, for windows
/// that must hold whole exchanges only (a tracer attached to the server
/// counts the system calls of exactly the messages counted): it holds the
/// load (each thread sends nothing new and reports once all its messages
/// are back), lets it run again (the held messages go out at once), or
/// stops it. Threads check it at least every [`HOLD_POLL`].
#[derive(Debug, Default)]
pub(super) struct Hold {
    /// `epoch << 2 | phase`; the epoch counts holds, so a thread reports
    /// each hold once even if it never saw the run in between.
    state: AtomicU64,
    /// Threads that are quiet (nothing in flight) in the current hold.
    quiet: AtomicUsize,
}

const RUN: u64 = 0;
const HELD: u64 = 1;
const STOP: u64 = 2;

/// How often a thread under a [`Hold`] looks at it.
const HOLD_POLL: Duration = Duration::from_millis(1);

impl Hold {
    /// Holds the load; [`Hold::quiet`] counts from 0 the threads that
    /// have nothing in flight since.
    pub(super) fn hold(&self) {
        self.quiet.store(0, Ordering::SeqCst);
        let epoch = (self.state.load(Ordering::SeqCst) >> 2) + 1;
        self.state.store(epoch << 2 | HELD, Ordering::SeqCst);
    }

    /// Lets the load run again.
    pub(super) fn run(&self) {
        let epoch = self.state.load(Ordering::SeqCst) >> 2;
        self.state.store(epoch << 2 | RUN, Ordering::SeqCst);
    }

    /// Ends the threads' loops.
    pub(super) fn stop(&self) {
        self.state.fetch_or(STOP, Ordering::SeqCst);
    }

    /// Threads with nothing in flight since the last [`Hold::hold`].
    pub(super) fn quiet(&self) -> usize {
        self.quiet.load(Ordering::SeqCst)
    }
}

/// What one thread measured.
#[derive(Debug)]
pub(super) struct Part {
    pub(super) completed: u64,
    pub(super) unfinished: u64,
    pub(super) latency: Histogram,
}

/// One generator thread's event loop.
pub(super) struct Worker<'a> {
    epoll: OwnedFd,
    conns: Vec<Conn>,
    payload: &'a Payload,
    mode: Mode,
    times: Times,
    /// Open loop: messages per second for this thread.
    rate: Option<f64>,
    scratch: Vec<u8>,
    part: Part,
    /// Messages completed in the window so far (every message, window or
    /// not, under a [`Hold`]); read by the timing thread at the observed
    /// edges.
    done: &'a AtomicU64,
    /// Closed loop: held at the timing thread's word, and the last hold
    /// (epoch) this thread reported quiet for.
    hold: Option<&'a Hold>,
    quiet_epoch: u64,
}

impl<'a> Worker<'a> {
    pub(super) fn new(
        conns: Vec<Conn>,
        payload: &'a Payload,
        mode: Mode,
        times: Times,
        rate: Option<f64>,
        done: &'a AtomicU64,
        hold: Option<&'a Hold>,
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
            hold,
            quiet_epoch: 0,
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

    pub(super) fn run(&mut self) -> io::Result<Part> {
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
            if let Some(hold) = self.hold {
                let state = hold.state.load(Ordering::SeqCst);
                if state & STOP != 0 {
                    break;
                }
                if state & HELD == 0 {
                    self.release()?;
                } else if state >> 2 != self.quiet_epoch
                    && self.conns.iter().all(|c| c.inflight.is_empty())
                {
                    self.quiet_epoch = state >> 2;
                    hold.quiet.fetch_add(1, Ordering::SeqCst);
                }
                deadline = now + HOLD_POLL;
            } else if let Some(interval) = interval {
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

    /// Sends the messages held back, if any.
    fn release(&mut self) -> io::Result<()> {
        let now = Instant::now();
        for i in 0..self.conns.len() {
            let c = &mut self.conns[i];
            if c.held == 0 {
                continue;
            }
            for _ in 0..std::mem::take(&mut c.held) {
                c.to_send += 1;
                c.inflight.push_back(now);
            }
            self.flush(i)?;
        }
        Ok(())
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
                    let expect_len = self.payload.response(c.id, c.recv_seq).len();
                    let take = (n - p).min(expect_len - c.recv_off);
                    if !self
                        .payload
                        .matches(c.id, c.recv_seq, c.recv_off, &data[p..p + take])
                    {
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
                    if c.recv_off == expect_len {
                        c.recv_off = 0;
                        c.recv_seq += 1;
                        c.inflight.pop_front();
                        let in_window = now >= ws && now < we;
                        if in_window {
                            self.part.completed += 1;
                        }
                        if in_window || self.hold.is_some() {
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
                let held = self
                    .hold
                    .is_some_and(|h| h.state.load(Ordering::SeqCst) & HELD != 0);
                if held {
                    c.held += closed_loop_next;
                    closed_loop_next = 0;
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
