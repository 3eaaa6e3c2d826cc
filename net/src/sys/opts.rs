//! Socket options whose values are not a plain `int`: the device a socket
//! is bound to (`SO_BINDTODEVICE`, Linux).

#[cfg(any(target_os = "linux", target_os = "android"))]
use std::io;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::RawFd;

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::syscall;

/// Binds `fd` to the network interface `name` (`None` or empty: unbinds).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_bind_device(fd: RawFd, name: Option<&[u8]>) -> io::Result<()> {
    let name = name.unwrap_or(&[]);
    syscall!(setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_BINDTODEVICE,
        name.as_ptr().cast(),
        name.len() as libc::socklen_t
    ))?;
    Ok(())
}

/// The interface `fd` is bound to, if any.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn bind_device(fd: RawFd) -> io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; libc::IFNAMSIZ];
    let mut len = buf.len() as libc::socklen_t;
    syscall!(getsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_BINDTODEVICE,
        buf.as_mut_ptr().cast(),
        &mut len
    ))?;
    let name = &buf[..(len as usize).min(buf.len())];
    // The kernel may count the terminating NUL.
    let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
    Ok((!name.is_empty()).then(|| name.to_vec()))
}
