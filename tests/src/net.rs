//! Loopback sockets on 127.0.0.1: an echo server, a connected pair, a port
//! where nothing listens, and the socket options and signal set-up some
//! tests need (`SO_LINGER` 0 for resets, buffer sizes, `SIGPIPE`).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

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
