//! The socket system calls of `runtime-net`, one function per call, with the
//! platform differences kept under this module:
//!
//! - `mod.rs`: socket creation (`SOCK_NONBLOCK` vs `fcntl`, `SO_NOSIGPIPE`),
//!   `bind`/`listen`/`connect`/`accept`, socket options, all through the
//!   reactor's `syscall!` helper;
//! - [`addr`]: encoding and decoding `sockaddr_in`, `sockaddr_in6` and
//!   `sockaddr_un` (`sin_len` on the BSDs, abstract Unix names on Linux);
//! - [`io`]: `send`/`recv` and friends, vectored I/O through
//!   `sendmsg`/`recvmsg` clamped to `IOV_MAX`;
//! - [`splice`] (Linux): `splice(2)`, pipes, and the `SIGPIPE` check of
//!   the zero-copy `copy_bidirectional`;
//! - [`pipe`]: pipes and FIFOs (`pipe2`, `read`/`write`, `fstat`/`fcntl`
//!   checks) for `unix::pipe`;
//! - [`opts`]: options with non-`int` values (`SO_BINDTODEVICE`);
//! - [`cred`]: the credentials of a Unix-socket peer (`SO_PEERCRED` on Linux,
//!   `getpeereid` elsewhere).

pub(crate) mod addr;
pub(crate) mod cred;
pub(crate) mod io;
pub(crate) mod opts;
pub(crate) mod pipe;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod splice;

use std::io as stdio;
use std::mem::{size_of, MaybeUninit};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub(crate) use self::addr::RawAddr;

// The workspace's one `syscall!` (from the reactor): a negative return
// becomes `io::Error::last_os_error()`.
pub(crate) use runtime_reactor::syscall;

/// Whether the platform has `SOCK_NONBLOCK`/`SOCK_CLOEXEC`, `accept4` and
/// `MSG_NOSIGNAL`; the others (macOS, iOS) use `fcntl` and `SO_NOSIGPIPE`.
macro_rules! cfg_modern_sockets {
    ($($item:item)*) => {$(
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ))]
        $item
    )*};
}
macro_rules! cfg_legacy_sockets {
    ($($item:item)*) => {$(
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )))]
        $item
    )*};
}

cfg_modern_sockets! {
    /// Flags for `send`/`sendmsg`/`sendto`: never raise SIGPIPE.
    pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

    /// Creates a non-blocking, close-on-exec socket.
    pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> stdio::Result<OwnedFd> {
        let fd = syscall!(socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0))?;
        // SAFETY: `socket` returned a fresh fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Creates a connected pair of non-blocking, close-on-exec Unix sockets.
    pub(crate) fn socketpair(ty: libc::c_int) -> stdio::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0 as libc::c_int; 2];
        syscall!(socketpair(
            libc::AF_UNIX,
            ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr()
        ))?;
        // SAFETY: `socketpair` returned two fresh fds that nothing else owns.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }

    /// Accepts one connection as a non-blocking, close-on-exec socket, with
    /// the peer's raw address.
    pub(crate) fn accept(fd: RawFd) -> stdio::Result<(OwnedFd, RawAddr)> {
        let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let conn = syscall!(accept4(
            fd,
            storage.as_mut_ptr().cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
        ))?;
        // SAFETY: `accept4` returned a fresh fd that nothing else owns.
        let conn = unsafe { OwnedFd::from_raw_fd(conn) };
        // SAFETY: zero-initialised above (a valid sockaddr_storage) and
        // possibly filled in by `accept4`.
        let storage = unsafe { storage.assume_init() };
        Ok((conn, RawAddr::from_raw(storage, len)))
    }
}

cfg_legacy_sockets! {
    /// Flags for `send`/`sendmsg`/`sendto`: every socket gets `SO_NOSIGPIPE`
    /// at creation instead.
    pub(crate) const SEND_FLAGS: libc::c_int = 0;

    /// Creates a non-blocking, close-on-exec socket that never raises SIGPIPE.
    pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> stdio::Result<OwnedFd> {
        let fd = syscall!(socket(domain, ty, 0))?;
        // SAFETY: `socket` returned a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        prepare_fd(std::os::fd::AsRawFd::as_raw_fd(&fd))?;
        Ok(fd)
    }

    /// Creates a connected pair of non-blocking, close-on-exec Unix sockets
    /// that never raise SIGPIPE.
    pub(crate) fn socketpair(ty: libc::c_int) -> stdio::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0 as libc::c_int; 2];
        syscall!(socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()))?;
        // SAFETY: `socketpair` returned two fresh fds that nothing else owns.
        let pair = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        prepare_fd(std::os::fd::AsRawFd::as_raw_fd(&pair.0))?;
        prepare_fd(std::os::fd::AsRawFd::as_raw_fd(&pair.1))?;
        Ok(pair)
    }

    /// Accepts one connection as a non-blocking, close-on-exec socket that
    /// never raises SIGPIPE, with the peer's raw address.
    pub(crate) fn accept(fd: RawFd) -> stdio::Result<(OwnedFd, RawAddr)> {
        let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let conn = syscall!(accept(fd, storage.as_mut_ptr().cast(), &mut len))?;
        // SAFETY: `accept` returned a fresh fd that nothing else owns.
        let conn = unsafe { OwnedFd::from_raw_fd(conn) };
        prepare_fd(std::os::fd::AsRawFd::as_raw_fd(&conn))?;
        // SAFETY: zero-initialised above (a valid sockaddr_storage) and
        // possibly filled in by `accept`.
        let storage = unsafe { storage.assume_init() };
        Ok((conn, RawAddr::from_raw(storage, len)))
    }

    /// Makes `fd` non-blocking and close-on-exec and turns off SIGPIPE for it.
    fn prepare_fd(fd: RawFd) -> stdio::Result<()> {
        syscall!(fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC))?;
        let flags = syscall!(fcntl(fd, libc::F_GETFL))?;
        syscall!(fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
        set_nosigpipe(fd)
    }
}

/// Turns off SIGPIPE for writes on `fd` where the socket option is the only
/// way (macOS, iOS); a no-op elsewhere, where `MSG_NOSIGNAL` is used.
pub(crate) fn set_nosigpipe(fd: RawFd) -> stdio::Result<()> {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1)?;
    let _ = fd;
    Ok(())
}

/// The C types socket option values are read into: plain old data, for
/// which every bit pattern (all-zero included) is a valid value.
///
/// # Safety
///
/// Implement it only for such types.
pub(crate) unsafe trait OptionValue: Copy {}
// SAFETY: integers are valid for every bit pattern.
unsafe impl OptionValue for libc::c_int {}
// SAFETY: a C struct of two `int`s.
unsafe impl OptionValue for libc::linger {}
// SAFETY: a C struct of integers (pid, uid, gid).
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe impl OptionValue for libc::ucred {}

/// Sets a socket option whose value is the plain-old-data `T`.
pub(crate) fn setsockopt_val<T: OptionValue>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> stdio::Result<()> {
    syscall!(setsockopt(
        fd,
        level,
        name,
        (&value as *const T).cast(),
        size_of::<T>() as libc::socklen_t
    ))?;
    Ok(())
}

/// Reads a socket option whose value is the plain-old-data `T` (starts
/// all-zero; the kernel overwrites as much as it reports).
pub(crate) fn getsockopt_val<T: OptionValue>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> stdio::Result<T> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    syscall!(getsockopt(
        fd,
        level,
        name,
        value.as_mut_ptr().cast(),
        &mut len
    ))?;
    // SAFETY: `T: OptionValue`: all-zero, and whatever the kernel wrote
    // over it, is a valid `T`.
    Ok(unsafe { value.assume_init() })
}

/// Sets an `int` socket option.
pub(crate) fn setsockopt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> stdio::Result<()> {
    setsockopt_val(fd, level, name, value)
}

/// Reads an `int` socket option.
pub(crate) fn getsockopt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> stdio::Result<libc::c_int> {
    getsockopt_val(fd, level, name)
}

/// Sets an on/off `int` socket option.
pub(crate) fn set_flag(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    on: bool,
) -> stdio::Result<()> {
    setsockopt(fd, level, name, libc::c_int::from(on))
}

/// Reads an on/off `int` socket option.
pub(crate) fn flag(fd: RawFd, level: libc::c_int, name: libc::c_int) -> stdio::Result<bool> {
    Ok(getsockopt(fd, level, name)? != 0)
}

/// Sets a buffer size option (`SO_SNDBUF`, `SO_RCVBUF`), saturating at
/// `c_int::MAX`.
pub(crate) fn set_buffer_size(fd: RawFd, name: libc::c_int, size: u32) -> stdio::Result<()> {
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    setsockopt(fd, libc::SOL_SOCKET, name, size)
}

/// Reads a buffer size option (`SO_SNDBUF`, `SO_RCVBUF`).
pub(crate) fn buffer_size(fd: RawFd, name: libc::c_int) -> stdio::Result<u32> {
    Ok(getsockopt(fd, libc::SOL_SOCKET, name)?.max(0) as u32)
}

/// Sets `SO_LINGER`: `None` turns it off, `Some(d)` lingers `d` (whole
/// seconds, rounded down, saturating) on close; `Some(ZERO)` makes close send
/// a reset.
pub(crate) fn set_linger(fd: RawFd, linger: Option<Duration>) -> stdio::Result<()> {
    let value = libc::linger {
        l_onoff: libc::c_int::from(linger.is_some()),
        l_linger: linger.map_or(0, |d| {
            libc::c_int::try_from(d.as_secs()).unwrap_or(libc::c_int::MAX)
        }),
    };
    setsockopt_val(fd, libc::SOL_SOCKET, libc::SO_LINGER, value)
}

/// Reads `SO_LINGER`.
pub(crate) fn linger(fd: RawFd) -> stdio::Result<Option<Duration>> {
    let value: libc::linger = getsockopt_val(fd, libc::SOL_SOCKET, libc::SO_LINGER)?;
    Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger.max(0) as u64)))
}

/// Sets `IP_TOS` (`InvalidInput` above `i32::MAX`).
pub(crate) fn set_tos(fd: RawFd, tos: u32) -> stdio::Result<()> {
    let tos = libc::c_int::try_from(tos)
        .map_err(|_| stdio::Error::new(stdio::ErrorKind::InvalidInput, "tos out of range"))?;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_TOS, tos)
}

/// Reads `IP_TOS`.
pub(crate) fn tos(fd: RawFd) -> stdio::Result<u32> {
    Ok(getsockopt(fd, libc::IPPROTO_IP, libc::IP_TOS)?.max(0) as u32)
}

/// Takes the pending error of a socket (`SO_ERROR`), if any.
pub(crate) fn take_error(fd: RawFd) -> stdio::Result<Option<stdio::Error>> {
    let errno = getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    Ok((errno != 0).then(|| stdio::Error::from_raw_os_error(errno)))
}

/// Starts a connect; `EINPROGRESS` is success (the caller waits for writable
/// and then reads `SO_ERROR`).
pub(crate) fn connect(fd: RawFd, addr: &RawAddr) -> stdio::Result<()> {
    match syscall!(connect(fd, addr.as_ptr(), addr.len())) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Binds `fd` to `addr`.
pub(crate) fn bind(fd: RawFd, addr: &RawAddr) -> stdio::Result<()> {
    syscall!(bind(fd, addr.as_ptr(), addr.len()))?;
    Ok(())
}

/// Marks `fd` as a listening socket; `backlog` saturates at `c_int::MAX`
/// (the kernel clamps it further, to `somaxconn`).
pub(crate) fn listen(fd: RawFd, backlog: u32) -> stdio::Result<()> {
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    syscall!(listen(fd, backlog))?;
    Ok(())
}

/// The local address of `fd` (`getsockname`), raw.
pub(crate) fn local_addr(fd: RawFd) -> stdio::Result<RawAddr> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    syscall!(getsockname(fd, storage.as_mut_ptr().cast(), &mut len))?;
    // SAFETY: zero-initialised above and possibly filled in by the kernel.
    Ok(RawAddr::from_raw(unsafe { storage.assume_init() }, len))
}

/// The peer address of `fd` (`getpeername`), raw.
pub(crate) fn peer_addr(fd: RawFd) -> stdio::Result<RawAddr> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    syscall!(getpeername(fd, storage.as_mut_ptr().cast(), &mut len))?;
    // SAFETY: zero-initialised above and possibly filled in by the kernel.
    Ok(RawAddr::from_raw(unsafe { storage.assume_init() }, len))
}

/// The address family constant for `addr`.
pub(crate) fn domain_of(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}
