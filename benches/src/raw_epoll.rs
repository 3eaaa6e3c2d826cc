//! The limit: an echo server over raw `epoll` with no runtime at all, so
//! `compare` can show what the kernel alone costs per message beside what
//! each runtime costs.
//!
//! One thread, one epoll instance, every socket non-blocking and registered
//! once, edge-triggered, for both directions
//! (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`). There are no tasks, no
//! wakers, no queues: an event for a connection runs `Conn::drive` on it
//! right there.
//!
//! # Protocol
//!
//! With edge triggering an event only says "something changed"; the server
//! must not wait for another edge while bytes may still be queued. So
//! `drive` always runs to a point where the kernel itself said there is
//! nothing more to do:
//!
//! 1. it first flushes the connection's pending output (bytes read earlier
//!    that the kernel would not take); if the kernel still refuses some
//!    (`EAGAIN` or a short `send`), it stops: the `EPOLLOUT` edge that comes
//!    when the send buffer drains runs `drive` again, and no byte is read
//!    meanwhile (backpressure: pending output never exceeds one buffer);
//! 2. then it reads and sends back, in a loop, until a read returns
//!    `EAGAIN` or fewer bytes than asked (on a stream socket a short read
//!    is the kernel's statement that the receive queue was empty at that
//!    instant: any byte arriving later raises a new edge), or until a send
//!    is short (step 1 then applies).
//!
//! A short read is not the end when the peer has shut its side down: its
//! FIN may sit right behind the bytes just read, and the edge that
//! announced it was in the batch already taken. So once an event carries
//! `EPOLLRDHUP`, `EPOLLHUP` or `EPOLLERR` (remembered per connection),
//! `drive` reads on until the read of 0 bytes or `EAGAIN`.
//!
//! A read of 0 bytes (the peer shut its side down) closes the connection
//! once the pending output is flushed; a reset or any other error closes it
//! at once. Closing the descriptor removes it from the epoll set.
//!
//! Slots of closed connections are reused only after the batch of events
//! that closed them is done, so an event already returned for a closed
//! connection can never reach a new one in its slot.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Each connection's read buffer, as in the runtimes' echo servers.
const BUF: usize = 4096;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// The token of the listener; connection `i` has token `i + 1`.
const LISTENER: u64 = 0;

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn cvt_size(rc: libc::ssize_t) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// A connection's state between events.
#[derive(Debug)]
struct Conn {
    /// The socket (non-blocking, registered with the server's epoll).
    fd: OwnedFd,
    /// Bytes read but not yet taken by the kernel, from `sent` on.
    pending: Vec<u8>,
    /// How much of `pending` has been sent.
    sent: usize,
    /// The peer shut its side down: close once `pending` is flushed.
    eof: bool,
    /// An event said the peer closed or the socket failed: a short read no
    /// longer means "wait for the next edge" (see `# Protocol`).
    hangup: bool,
}

/// What [`Conn::drive`] decided.
#[derive(Debug, PartialEq, Eq)]
enum Drive {
    /// Wait for the next edge.
    Keep,
    /// Done (end of stream and everything echoed, or an error): close.
    Close,
}

impl Conn {
    /// Runs the connection until the kernel says to wait (see the module's
    /// `# Protocol`).
    fn drive(&mut self, buf: &mut [u8], events: u32) -> Drive {
        if events & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
            self.hangup = true;
        }
        loop {
            match self.flush() {
                Ok(true) => {}
                Ok(false) => return Drive::Keep,
                Err(_) => return Drive::Close,
            }
            if self.eof {
                return Drive::Close;
            }
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the fd
            // is open (owned by `self`).
            let rc =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let n = match cvt_size(rc) {
                Ok(0) => {
                    self.eof = true;
                    continue;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drive::Keep,
                Err(_) => return Drive::Close,
            };
            match self.send(&buf[..n]) {
                Ok(sent) if sent == n => {}
                Ok(sent) => {
                    // The send buffer is full: keep the rest for `EPOLLOUT`.
                    self.pending.extend_from_slice(&buf[sent..n]);
                    return Drive::Keep;
                }
                Err(_) => return Drive::Close,
            }
            if n < buf.len() && !self.hangup {
                // A short read: the receive queue was empty.
                return Drive::Keep;
            }
        }
    }

    /// Sends pending output; `Ok(true)` once there is none left.
    fn flush(&mut self) -> io::Result<bool> {
        if self.sent < self.pending.len() {
            self.sent += self.send(&self.pending[self.sent..])?;
            if self.sent < self.pending.len() {
                return Ok(false);
            }
        }
        self.pending.clear();
        self.sent = 0;
        Ok(true)
    }

    /// One `send` of as much of `data` as the kernel takes: `Ok(0)` if it
    /// would block, an error if the connection is broken.
    fn send(&self, data: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `data` is valid for reads of `data.len()` bytes; the
            // fd is open (owned by `self`). `MSG_NOSIGNAL`: a closed peer is
            // an `EPIPE`, never a `SIGPIPE`.
            let rc = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    data.as_ptr().cast(),
                    data.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            return match cvt_size(rc) {
                Ok(n) => Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                Err(e) => Err(e),
            };
        }
    }
}

/// The raw epoll echo server: one thread, no runtime.
#[derive(Debug)]
pub struct EchoServer {
    /// The epoll instance.
    epoll: OwnedFd,
    /// The listening socket (non-blocking, token [`LISTENER`]).
    listener: TcpListener,
    /// Connections by slot; slot `i` has token `i + 1`.
    conns: Vec<Option<Conn>>,
    /// Empty slots, reusable now.
    free: Vec<usize>,
    /// Slots emptied during the current batch of events, reusable after
    /// it (an event of this batch may still name the closed connection).
    freed: Vec<usize>,
    /// Accept errors seen (the first few are printed).
    accept_errors: usize,
    /// What `epoll_wait` returned, kept between turns.
    events: Vec<libc::epoll_event>,
    /// The read buffer every connection shares (a connection keeps only
    /// what the kernel would not take back).
    buf: Box<[u8]>,
}

impl EchoServer {
    /// Registers `listener` with a new epoll instance.
    ///
    /// # Errors
    ///
    /// Those of `epoll_create1`, `epoll_ctl` and setting the listener
    /// non-blocking.
    pub fn new(listener: TcpListener) -> io::Result<EchoServer> {
        listener.set_nonblocking(true)?;
        // SAFETY: plain system call.
        let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `ep` was just returned by `epoll_create1` and belongs to
        // nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        let server = EchoServer {
            epoll,
            listener,
            conns: Vec::new(),
            free: Vec::new(),
            freed: Vec::new(),
            accept_errors: 0,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS],
            buf: vec![0; BUF].into_boxed_slice(),
        };
        server.add(server.listener.as_raw_fd(), LISTENER)?;
        Ok(server)
    }

    /// The number of open connections.
    pub fn connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// Serves forever (until the process exits).
    ///
    /// # Errors
    ///
    /// Those of `epoll_wait` other than `EINTR`.
    pub fn run(mut self) -> io::Result<()> {
        loop {
            self.turn(-1)?;
        }
    }

    /// Waits up to `timeout_ms` (-1: forever) for events and handles them
    /// all; returns how many there were.
    ///
    /// # Errors
    ///
    /// Those of `epoll_wait` other than `EINTR`.
    pub fn turn(&mut self, timeout_ms: libc::c_int) -> io::Result<usize> {
        // SAFETY: `events` is valid for writes of `EVENTS` entries.
        let rc = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                self.events.as_mut_ptr(),
                EVENTS as libc::c_int,
                timeout_ms,
            )
        };
        let n = match cvt(rc) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(e),
        };
        for i in 0..n {
            let (token, events) = (self.events[i].u64, self.events[i].events);
            if token == LISTENER {
                self.accept();
                continue;
            }
            let slot = (token - 1) as usize;
            // `None`: closed earlier in this batch.
            let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if conn.drive(&mut self.buf, events) == Drive::Close {
                // Dropping the connection closes the fd, which leaves the
                // epoll set with it.
                self.conns[slot] = None;
                self.freed.push(slot);
            }
        }
        self.free.append(&mut self.freed);
        Ok(n)
    }

    /// Accepts until the kernel's queue is empty.
    fn accept(&mut self) {
        loop {
            // SAFETY: null address pointers are allowed; the listener is open.
            let rc = unsafe {
                libc::accept4(
                    self.listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            let fd = match cvt(rc) {
                Ok(fd) => fd,
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => return,
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                    // Out of descriptors or memory: give up this edge; the
                    // next connection to arrive raises another.
                    _ => {
                        self.accept_errors += 1;
                        if self.accept_errors <= 3 {
                            eprintln!("raw-epoll accept: {e}");
                        }
                        return;
                    }
                },
            };
            // SAFETY: `fd` was just returned by `accept4` and belongs to
            // nobody else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let one: libc::c_int = 1;
            // SAFETY: `one` is a valid c_int of the size passed. A failure
            // only costs latency, so it is ignored.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            let slot = match self.free.pop() {
                Some(s) => s,
                None => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
            };
            if self.add(fd.as_raw_fd(), slot as u64 + 1).is_err() {
                // Not registered: drop (close) it.
                self.free.push(slot);
                continue;
            }
            self.conns[slot] = Some(Conn {
                fd,
                pending: Vec::new(),
                sent: 0,
                eof: false,
                hangup: false,
            });
        }
    }

    /// Registers `fd` for both directions, edge-triggered. An fd that is
    /// already ready gets its first event at once.
    fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid event; both fds are open.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
            .map(drop)
    }
}
