//! What one `recv` costs, for the per-message CPU budget of a TCP echo.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin recv_cost -- [--rounds 5]
//! ```
//!
//! Over one loopback connection, with plain blocking-free syscalls and no
//! runtime involved, it times:
//!
//! - `recv` on an empty non-blocking socket (the call that returns
//!   `EAGAIN`);
//! - `recv` of 64 bytes that are already queued;
//! - the same read through `recvmsg` with `TCP_INQ` on (Linux), which also
//!   tells how many bytes are left queued, the one way for a read to learn
//!   that it drained the socket without a second call.
//!
//! Why it matters: a runtime that clears read readiness only when a read
//! sees `EAGAIN` makes one `EAGAIN` read per message on a request/response
//! connection. `runtime` once did; it now clears readiness on a short read
//! of a stream socket too (DESIGN §4), as tokio does. This binary prices
//! that call, and the `TCP_INQ` alternative, against the server CPU per
//! message of the `compare` echo cases (about 6 µs on the 2-core machine of
//! `benches/results/latest.md`).
//!
//! Figures are medians over `--rounds` rounds, in nanoseconds per call.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use runtime_benches::args::Args;

/// `EAGAIN` reads timed per round.
const EMPTY_READS: u32 = 500_000;
/// 64-byte messages queued, then read, per batch.
const BATCH: usize = 500;
/// Batches per round and kind of read.
const BATCHES: usize = 100;
/// The message size.
const LEN: usize = 64;

/// The median of `xs`, if any.
fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// `recv` into `buf`: the count, or the OS error.
fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `recvmsg` into `buf` on a socket with `TCP_INQ` on: the count and the
/// bytes left queued.
#[cfg(target_os = "linux")]
fn recv_inq(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
    #[repr(C, align(8))]
    struct Control([u8; 32]);
    let mut control = Control([0; 32]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero means "no address, no
    // flags".
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of::<Control>() as _;
    // SAFETY: `msg` points at `iov` (describing `buf`) and `control`, both
    // alive for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: the kernel filled in `msg`; the CMSG walk stays inside
    // `control`, and a header it returns is followed by its data.
    let inq = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (!c.is_null() && (*c).cmsg_level == libc::SOL_TCP && (*c).cmsg_type == libc::TCP_CM_INQ)
            .then(|| libc::CMSG_DATA(c).cast::<i32>().read_unaligned())
    };
    Ok((n, inq))
}

/// A connected pair: (client, non-blocking server side).
fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    client.set_nodelay(true)?;
    let (server, _) = listener.accept()?;
    server.set_nonblocking(true)?;
    Ok((client, server))
}

/// Nanoseconds per `EAGAIN` read.
fn empty_read(fd: RawFd) -> io::Result<f64> {
    let mut buf = [0u8; 4096];
    let t = Instant::now();
    for _ in 0..EMPTY_READS {
        match recv(fd, &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return Err(io::Error::other(format!("expected EAGAIN, got {other:?}"))),
        }
    }
    Ok(t.elapsed().as_nanos() as f64 / f64::from(EMPTY_READS))
}

/// Nanoseconds per read of one queued 64-byte message, with `read`.
fn queued_reads(
    client: &mut TcpStream,
    fd: RawFd,
    mut read: impl FnMut(RawFd, &mut [u8]) -> io::Result<usize>,
) -> io::Result<f64> {
    let msg = [7u8; LEN];
    let mut buf = [0u8; LEN];
    let mut spent = Duration::ZERO;
    for _ in 0..BATCHES {
        for _ in 0..BATCH {
            client.write_all(&msg)?;
        }
        // Let loopback delivery finish, so every read finds its message.
        std::thread::sleep(Duration::from_micros(300));
        let t = Instant::now();
        for _ in 0..BATCH {
            let n = read(fd, &mut buf)?;
            if n != LEN {
                return Err(io::Error::other(format!("read {n} bytes, not {LEN}")));
            }
        }
        spent += t.elapsed();
    }
    Ok(spent.as_nanos() as f64 / (BATCH * BATCHES) as f64)
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let rounds: usize = args.value("--rounds")?.unwrap_or(5);
    args.finish()?;
    if rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    let (mut client, server) = pair()?;
    let fd = server.as_raw_fd();
    #[cfg(target_os = "linux")]
    let inq_on = {
        let one: libc::c_int = 1;
        // SAFETY: a valid fd and a pointer to a live `c_int` of that size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_TCP,
                libc::TCP_INQ,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    };
    let (mut empty, mut plain, mut inq) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        empty.push(empty_read(fd)?);
        plain.push(queued_reads(&mut client, fd, recv)?);
        #[cfg(target_os = "linux")]
        if inq_on {
            inq.push(queued_reads(&mut client, fd, |fd, buf| {
                let (n, left) = recv_inq(fd, buf)?;
                match left {
                    Some(_) => Ok(n),
                    None => Err(io::Error::other("no TCP_INQ figure in the reply")),
                }
            })?);
        }
    }
    let show = |v: &[f64]| median(v).map_or("n/a".to_owned(), |m| format!("{m:.0} ns"));
    println!("median of {rounds} rounds, per call:");
    println!("  recv, empty socket (EAGAIN): {}", show(&empty));
    println!("  recv, {LEN} B queued: {}", show(&plain));
    println!("  recvmsg + TCP_INQ, {LEN} B queued: {}", show(&inq));
    if let (Some(e), Some(p), Some(i)) = (median(&empty), median(&plain), median(&inq)) {
        println!(
            "per message: the EAGAIN read adds {e:.0} ns; reading with TCP_INQ instead \
             would cost {:.0} ns more per read and save {:.0} ns net",
            i - p,
            e - (i - p)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recv_cost: {e}");
            ExitCode::FAILURE
        }
    }
}
