//! Data transfer: `send`/`recv`, `sendto`/`recvfrom`, and vectored I/O
//! through `sendmsg`/`recvmsg`.
//!
//! Every send passes [`SEND_FLAGS`] (`MSG_NOSIGNAL` where it exists), so a
//! write to a reset peer is an error, never a `SIGPIPE`.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::{size_of, MaybeUninit};
use std::os::fd::RawFd;

use super::{syscall, RawAddr, SEND_FLAGS};

/// The most buffers one `sendmsg`/`recvmsg` may carry (`UIO_MAXIOV` on
/// Linux, `IOV_MAX` on the BSDs and macOS; 1024 everywhere today). More make
/// the call fail with `EMSGSIZE`/`EINVAL`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const IOV_MAX: usize = libc::UIO_MAXIOV as usize;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const IOV_MAX: usize = libc::IOV_MAX as usize;

/// `recv` into `buf`.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    let n = syscall!(recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags))?;
    Ok(n as usize)
}

/// `recv` into `buf`, which need not be initialised: on `Ok(n)` the kernel
/// has written (and so initialised) `buf[..n]`, and nothing else.
///
/// Safe because `recv(2)` only writes through the pointer, at most
/// `buf.len()` bytes, and writing a `MaybeUninit<u8>` is always allowed.
pub(crate) fn recv_uninit(
    fd: RawFd,
    buf: &mut [MaybeUninit<u8>],
    flags: libc::c_int,
) -> io::Result<usize> {
    let ptr: *mut u8 = buf.as_mut_ptr().cast();
    let n = syscall!(recv(fd, ptr.cast(), buf.len(), flags))?;
    Ok(n as usize)
}

/// `recvmsg` into `buf`, which need not be initialised, on a TCP socket
/// with `TCP_INQ` set ([`enable_inq`]): the bytes read and, if the kernel
/// sent it, how many stayed queued after the read (`TCP_CM_INQ`; it counts
/// a received FIN as one byte, so 0 means "nothing left, not even an end of
/// stream"). On `Ok((n, _))` the kernel has written `buf[..n]`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn recv_inq(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, Option<u32>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one `int` control message (CMSG_SPACE(4) is 16 or 24
    // bytes), aligned for `cmsghdr`.
    let mut control = [0u64; 4];
    // SAFETY: all-zero is a valid `msghdr` (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = syscall!(recvmsg(fd, &mut msg, 0))?;
    let mut inq = None;
    // SAFETY: `msg` is the header the kernel just filled: `CMSG_FIRSTHDR`
    // and `CMSG_NXTHDR` walk its control buffer within `msg_controllen`,
    // and a `TCP_CM_INQ` message carries one `int` (read unaligned).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_TCP && (*c).cmsg_type == libc::TCP_CM_INQ {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                inq = u32::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, inq))
}

/// Asks the kernel to report, with each `recvmsg` that has room for it, how
/// many bytes stay queued (`TCP_INQ`, Linux 4.18). `false` where the kernel
/// refuses (older kernels).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn enable_inq(fd: RawFd) -> bool {
    super::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INQ, 1).is_ok()
}

/// Clears `TCP_INQ` again ([`enable_inq`]); a failure is ignored (the
/// option then only adds a control message to `recvmsg` calls that make
/// room for one).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn disable_inq(fd: RawFd) {
    let _ = super::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INQ, 0);
}

/// `buf` as possibly uninitialised bytes, for a read into it.
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the reads this is
    // passed to (`recv_uninit`, `recv_from`, `recv_inq`) only ever store
    // initialised bytes (the kernel's), so `buf` stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// `send` from `buf`, never raising SIGPIPE.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let n = syscall!(send(fd, buf.as_ptr().cast(), buf.len(), SEND_FLAGS))?;
    Ok(n as usize)
}

/// `recvfrom` into `buf`, which need not be initialised, with the sender's
/// raw address: on `Ok((n, _))` the kernel has written (and so initialised)
/// `buf[..n]`, and nothing else (safe for the reason [`recv_uninit`] is).
pub(crate) fn recv_from(
    fd: RawFd,
    buf: &mut [MaybeUninit<u8>],
    flags: libc::c_int,
) -> io::Result<(usize, RawAddr)> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let ptr: *mut u8 = buf.as_mut_ptr().cast();
    let n = syscall!(recvfrom(
        fd,
        ptr.cast(),
        buf.len(),
        flags,
        storage.as_mut_ptr().cast(),
        &mut len
    ))?;
    // SAFETY: zero-initialised above (valid) and possibly filled in by the
    // kernel.
    let storage = unsafe { storage.assume_init() };
    Ok((n as usize, RawAddr::from_raw(storage, len)))
}

/// `sendto` from `buf` to `addr`, never raising SIGPIPE.
pub(crate) fn send_to(fd: RawFd, buf: &[u8], addr: &RawAddr) -> io::Result<usize> {
    let n = syscall!(sendto(
        fd,
        buf.as_ptr().cast(),
        buf.len(),
        SEND_FLAGS,
        addr.as_ptr(),
        addr.len()
    ))?;
    Ok(n as usize)
}

/// A `msghdr` for `iov`/`iovlen` with no address and no control data.
fn msghdr(iov: *mut libc::iovec, iovlen: usize) -> libc::msghdr {
    // SAFETY: msghdr is plain old data (pointers and integers, some of them
    // padding on some platforms); all-zero is valid and means "none".
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    // The field is `size_t` on Linux/glibc and `int` on the BSDs; `iovlen`
    // is at most IOV_MAX, so the cast is lossless.
    msg.msg_iovlen = iovlen as _;
    msg
}

/// Writes the buffers in order with `sendmsg`, at most [`IOV_MAX`] of them
/// per call, and returns how many bytes went out.
///
/// Longer lists are sent in successive calls, advancing across the slices:
/// as long as each call writes everything it was given, the next chunk
/// follows. A short write ends the loop with its count; so does a
/// `WouldBlock` or an error once something was written (the bytes written
/// are reported, and a persistent error recurs on the caller's next write).
pub(crate) fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut total = 0usize;
    for chunk in bufs.chunks(IOV_MAX) {
        let chunk_len = chunk.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        if chunk_len == 0 {
            continue;
        }
        // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix;
        // sendmsg only reads through the pointer.
        let msg = msghdr(chunk.as_ptr().cast_mut().cast(), chunk.len());
        match syscall!(sendmsg(fd, &msg, SEND_FLAGS)) {
            Ok(n) => {
                let n = n as usize;
                total += n;
                if n < chunk_len {
                    return Ok(total);
                }
            }
            Err(_) if total > 0 => return Ok(total),
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// Reads into the buffers in order with one `recvmsg` (the first
/// [`IOV_MAX`] buffers; a read is allowed to be short).
pub(crate) fn recv_vectored(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    // `recv_vectored_len` counts the same `IOV_MAX` buffers.
    let len = bufs.len().min(IOV_MAX);
    // `IoSliceMut` is guaranteed ABI-compatible with `iovec` on Unix.
    let mut msg = msghdr(bufs.as_mut_ptr().cast(), len);
    let n = syscall!(recvmsg(fd, &mut msg, 0))?;
    Ok(n as usize)
}

/// How many bytes one [`recv_vectored`] asks for: the first `IOV_MAX`
/// buffers' lengths.
pub(crate) fn recv_vectored_len(bufs: &[IoSliceMut<'_>]) -> usize {
    bufs[..bufs.len().min(IOV_MAX)]
        .iter()
        .fold(0usize, |n, b| n.saturating_add(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    #[test]
    fn send_vectored_crosses_the_iov_max_boundary_in_one_call() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let data: Vec<[u8; 2]> = (0..IOV_MAX * 2 + 7)
            .map(|i| (i as u16).to_le_bytes())
            .collect();
        let mut slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(d)).collect();
        // Empty slices are skipped without ending the write.
        slices.insert(3, IoSlice::new(&[]));
        let n = send_vectored(a.as_raw_fd(), &slices).unwrap();
        assert_eq!(n, data.len() * 2, "every chunk of IOV_MAX slices went out");
        let mut got = vec![0u8; n];
        b.read_exact(&mut got).unwrap();
        assert_eq!(got, data.concat());
    }

    #[test]
    fn recv_vectored_fills_buffers_in_order() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        send(a.as_raw_fd(), b"hello world").unwrap();
        let (mut x, mut y) = ([0u8; 5], [0u8; 16]);
        let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        let n = recv_vectored(b.as_raw_fd(), &mut bufs).unwrap();
        assert_eq!(n, 11);
        assert_eq!(&x, b"hello");
        assert_eq!(&y[..6], b" world");
    }
}
