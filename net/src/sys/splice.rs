//! `splice(2)` and the pipes it moves bytes through (Linux only), and the
//! `SIGPIPE` check that decides whether splicing into a socket is allowed.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::syscall;

pub(crate) use super::pipe::pipe;

/// Asks for a pipe buffer of at least `size` bytes (`F_SETPIPE_SZ`) and
/// returns the capacity the pipe has afterwards (`F_GETPIPE_SZ`). A refused
/// request (`EPERM` above `/proc/sys/fs/pipe-max-size` for unprivileged
/// processes) keeps the current capacity.
pub(crate) fn set_pipe_size(pipe: &OwnedFd, size: usize) -> io::Result<usize> {
    let fd = pipe.as_raw_fd();
    let now = syscall!(fcntl(fd, libc::F_GETPIPE_SZ))?;
    match libc::c_int::try_from(size) {
        // Only ever grow it: F_SETPIPE_SZ would shrink it to `size`.
        Ok(size) if size > now => {
            let _ = syscall!(fcntl(fd, libc::F_SETPIPE_SZ, size));
            let cap = syscall!(fcntl(fd, libc::F_GETPIPE_SZ))?;
            Ok(cap.max(0) as usize)
        }
        _ => Ok(now.max(0) as usize),
    }
}

/// Moves up to `len` bytes from `from` to `to` (one of them a pipe) without
/// blocking on the pipe (`SPLICE_F_NONBLOCK`); the socket side is
/// non-blocking on its own. `SPLICE_F_MOVE` is a hint the kernel may take.
pub(crate) fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    let n = syscall!(splice(
        from,
        std::ptr::null_mut(),
        to,
        std::ptr::null_mut(),
        len,
        libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE
    ))?;
    Ok(n as usize)
}

/// Reads from the pipe's read end (to empty a pipe when a transfer falls
/// back to a user-space buffer).
pub(crate) use super::pipe::read;

/// Whether `SIGPIPE` is ignored in this process.
///
/// A splice into a socket cannot pass `MSG_NOSIGNAL`: if the peer is gone
/// the kernel raises `SIGPIPE`. Rust programs ignore it from the start
/// (the standard library's `main` sets `SIG_IGN`), and then the write is
/// only an `EPIPE` error; a process that restored the default action (or
/// installed a handler) gets the buffered copy, whose `send`s never raise it.
pub(crate) fn sigpipe_ignored() -> bool {
    // SAFETY: all-zero is a valid `sigaction` (no handler, empty mask), and
    // the kernel overwrites it with the current disposition.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current disposition; `old`
    // is a live, writable `sigaction`.
    let rc = unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Whether `e` says that splicing is not supported for these fds (rather
/// than a failure of the transfer itself): the caller then copies through
/// a buffer instead.
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_less_than_the_capacity_never_shrinks_the_pipe() {
        let (_read, write) = pipe().unwrap();
        let before = syscall!(fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ)).unwrap() as usize;
        assert_eq!(set_pipe_size(&write, 4096).unwrap(), before);
        assert_eq!(set_pipe_size(&write, before / 2).unwrap(), before);
        // A larger request grows it where the kernel allows, never shrinks it.
        assert!(set_pipe_size(&write, before * 2).unwrap() >= before);
    }
}
