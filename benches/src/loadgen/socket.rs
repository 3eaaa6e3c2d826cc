//! The generator's sockets: [`connect`] (blocking, optionally from a given
//! source address, `TCP_NODELAY`, `SO_LINGER` 0) and the raw calls under it.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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

pub(super) fn cvt(rc: libc::c_int) -> io::Result<()> {
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
