//! Receives into a [`bytes::BufMut`] (feature `bytes`): the shared part of
//! the sockets' `try_read_buf`, `recv_buf`, `try_recv_buf`, `recv_buf_from`
//! and `try_recv_buf_from`.
//!
//! `bytes` is the buffer crate of tokio's ecosystem (`BytesMut`, `Bytes`,
//! the `Buf`/`BufMut` traits): tokio's sockets take its buffers, and so do
//! the codecs and protocol crates built around them, so these methods let
//! code written against tokio's sockets keep its buffers.
//!
//! Each receive hands the buffer's spare capacity (`chunk_mut`, memory that
//! may be uninitialised) straight to `recv(2)` or `recvfrom(2)`, which only
//! write to it, and then advances the buffer by what the kernel wrote: no
//! byte is zeroed first. They run on the same paths as `try_read`, `recv`
//! and `recv_from` (`PollEvented::try_read_uninit`, `recv_uninit`, …), so
//! readiness is handled exactly as for those: the `try_*` calls and every
//! datagram receive clear the read readiness only on `WouldBlock`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

use bytes::BufMut;

use crate::poll_evented::PollEvented;
use crate::sys::RawAddr;

/// Runs `read` on `buf`'s spare capacity and advances `buf` by the count
/// it returns.
///
/// # Safety
///
/// `read` must write only initialised bytes into the slice it is given,
/// and return `Ok((n, _))` only once it has written the first `n` bytes of
/// it: the contract of `sys::io::recv_uninit` and `sys::io::recv_from`,
/// which every caller's `read` ends in (and of `sys::pipe::read_uninit`
/// for the pipe's `Receiver`).
pub(crate) unsafe fn fill<B: BufMut + ?Sized, T>(
    buf: &mut B,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, T)>,
) -> io::Result<(usize, T)> {
    let dst = buf.chunk_mut();
    let len = dst.len();
    // SAFETY: `as_uninit_slice_mut` asks that no uninitialised byte be
    // written through the slice; `read` writes only initialised ones (this
    // function's contract).
    let (n, extra) = read(unsafe { dst.as_uninit_slice_mut() })?;
    debug_assert!(n <= len, "the kernel wrote past the buffer");
    // SAFETY: `read` wrote the first `n` bytes of the chunk `chunk_mut`
    // returned (this function's contract; `n <= len`, since the kernel is
    // given `len` bytes), and nothing has touched `buf` since.
    unsafe { buf.advance_mut(n) };
    Ok((n, extra))
}

impl<T: AsRawFd> PollEvented<T> {
    /// A stream's `try_read` into `buf`'s spare capacity.
    pub(crate) fn try_read_buf<B: BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        // SAFETY: `try_read_uninit` ends in `recv_uninit`: on `Ok(n)` the
        // kernel has written `n` bytes, and nothing uninitialised.
        let (n, ()) = unsafe { fill(buf, |dst| Ok((self.try_read_uninit(dst)?, ()))) }?;
        Ok(n)
    }

    /// A datagram socket's `recv` into `buf`'s spare capacity (the
    /// datagram truncated to it).
    pub(crate) async fn recv_buf<B: BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        let dst = buf.chunk_mut();
        // SAFETY: `as_uninit_slice_mut` asks that no uninitialised byte be
        // written through the slice; `recv_uninit` only lets the kernel
        // write received bytes into it.
        let n = self
            .recv_uninit(unsafe { dst.as_uninit_slice_mut() })
            .await?;
        // SAFETY: on `Ok(n)` the kernel has written the chunk's first `n`
        // bytes (`recv_uninit`'s contract), and nothing has touched `buf`
        // since `chunk_mut`.
        unsafe { buf.advance_mut(n) };
        Ok(n)
    }

    /// A datagram socket's `try_recv` into `buf`'s spare capacity.
    pub(crate) fn try_recv_buf<B: BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        // SAFETY: `try_recv_uninit` ends in `recv_uninit`: on `Ok(n)` the
        // kernel has written `n` bytes, and nothing uninitialised.
        let (n, ()) = unsafe { fill(buf, |dst| Ok((self.try_recv_uninit(dst)?, ()))) }?;
        Ok(n)
    }

    /// A datagram socket's `recv_from` into `buf`'s spare capacity, with
    /// the sender's raw address.
    pub(crate) async fn recv_buf_from<B: BufMut + ?Sized>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, RawAddr)> {
        let dst = buf.chunk_mut();
        // SAFETY: as in `recv_buf`: `recv_from` only lets the kernel write
        // received bytes into the slice.
        let (n, addr) = self
            .recv_from(unsafe { dst.as_uninit_slice_mut() }, 0)
            .await?;
        // SAFETY: on `Ok((n, _))` the kernel has written the chunk's first
        // `n` bytes (`sys::io::recv_from`'s contract), and nothing has
        // touched `buf` since `chunk_mut`.
        unsafe { buf.advance_mut(n) };
        Ok((n, addr))
    }

    /// A datagram socket's `try_recv_from` into `buf`'s spare capacity.
    pub(crate) fn try_recv_buf_from<B: BufMut + ?Sized>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, RawAddr)> {
        // SAFETY: `try_recv_from` ends in `sys::io::recv_from`: on
        // `Ok((n, _))` the kernel has written `n` bytes, and nothing
        // uninitialised.
        unsafe { fill(buf, |dst| self.try_recv_from(dst, 0)) }
    }
}
