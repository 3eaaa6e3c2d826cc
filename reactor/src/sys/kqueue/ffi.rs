//! A tiny FFI shim for kqueue: `struct kevent`, the constants the backend uses,
//! and `kqueue`/`kevent` themselves.
//!
//! Every per-platform difference of the kqueue ABI lives in this file:
//!
//! | platform           | `struct kevent`                     | `EVFILT_USER` |
//! |--------------------|-------------------------------------|---------------|
//! | macOS, iOS         | 32 bytes, `data: intptr_t`          | -10           |
//! | FreeBSD (12+ ABI)  | 64 bytes, `data: int64_t`, `ext[4]` | -11           |
//! | OpenBSD            | 32 bytes, `data: int64_t`           | -10           |
//! | DragonFly          | 32 bytes, `data: intptr_t`          | -9            |
//! | libkqueue (Linux)  | 32 bytes, `data: intptr_t`          | -11           |
//!
//! The libkqueue row (developer cfg `runtime_libkqueue`, used to exercise this
//! backend on Linux) follows libkqueue's public `include/sys/event.h.in`.
//! `build.rs` chooses this backend on exactly the rows of this table, so each
//! of them has a layout here.
//! NetBSD is not supported: its `filter` and `flags` are `uint32_t` and its
//! filter numbers differ. The layouts assume 64-bit pointers (checked below);
//! the backend also relies on that to carry a `u64` token in `udata`.
//!
//! `libc` is deliberately not used for `struct kevent`: its FreeBSD layout
//! depends on a build-time ABI choice, and it has no libkqueue flavour.

#![allow(non_camel_case_types)]

use std::os::raw::c_int;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("the kqueue backend supports 64-bit targets only");

/// C's `intptr_t data` of 32-byte layouts (`int64_t` on OpenBSD: the same on
/// 64-bit targets).
#[cfg(not(target_os = "freebsd"))]
type Data = isize;
/// FreeBSD's `int64_t data`.
#[cfg(target_os = "freebsd")]
type Data = i64;

/// C's `struct kevent`: 32 bytes, or 64 on FreeBSD (12+ ABI, the default
/// `kevent@@FBSD_1.5` symbol that an unversioned import binds to).
///
/// `udata` is C's `void *udata`, declared as an integer of the same size and
/// alignment: this backend only ever stores tokens in it, never pointers, so
/// it needs no integer-to-pointer casts and `kevent` stays `Send + Sync`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct kevent {
    /// The identifier of the event source: a file descriptor here.
    pub(crate) ident: usize,
    /// Which filter (`EVFILT_*`).
    pub(crate) filter: i16,
    /// Actions on input (`EV_ADD`, ...), conditions on output (`EV_EOF`, ...).
    pub(crate) flags: u16,
    /// Filter-specific flags; with `EV_EOF` on a socket, its pending errno.
    pub(crate) fflags: u32,
    /// Filter-specific data; with `EV_ERROR`, an errno.
    data: Data,
    /// Opaque user data, returned with every event: the registration token.
    pub(crate) udata: usize,
    /// FreeBSD's extension words; unused here, always zero on input.
    #[cfg(target_os = "freebsd")]
    ext: [u64; 4],
}

#[cfg(not(target_os = "freebsd"))]
const _: () = assert!(std::mem::size_of::<kevent>() == 32);
#[cfg(target_os = "freebsd")]
const _: () = assert!(std::mem::size_of::<kevent>() == 64);
const _: () = assert!(std::mem::offset_of!(kevent, fflags) == 12);
const _: () = assert!(std::mem::offset_of!(kevent, data) == 16);
const _: () = assert!(std::mem::offset_of!(kevent, udata) == 24);

impl kevent {
    /// A change (C's `EV_SET`), with `data` and any extension words zero.
    pub(crate) const fn new(
        ident: usize,
        filter: i16,
        flags: u16,
        fflags: u32,
        udata: usize,
    ) -> kevent {
        kevent {
            ident,
            filter,
            flags,
            fflags,
            data: 0,
            udata,
            #[cfg(target_os = "freebsd")]
            ext: [0; 4],
        }
    }

    /// The `data` field, widened; an errno when `flags` has `EV_ERROR`.
    #[allow(clippy::unnecessary_cast)] // `Data` is `i64` on FreeBSD only
    pub(crate) const fn data(&self) -> i64 {
        self.data as i64
    }

    /// Sets the `data` field (for tests that play the kernel).
    #[cfg(test)]
    pub(crate) fn set_data(&mut self, data: i64) {
        self.data = data as _;
    }
}

/// Readiness to read (`data`: bytes available).
pub(crate) const EVFILT_READ: i16 = -1;
/// Readiness to write (`data`: space in the send buffer).
pub(crate) const EVFILT_WRITE: i16 = -2;
/// User-triggered events: the wake-up source.
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "openbsd"))]
pub(crate) const EVFILT_USER: i16 = -10;
/// User-triggered events: the wake-up source.
#[cfg(target_os = "dragonfly")]
pub(crate) const EVFILT_USER: i16 = -9;
/// User-triggered events: the wake-up source (FreeBSD and libkqueue).
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
pub(crate) const EVFILT_USER: i16 = -11;

/// Add the event (and enable it).
pub(crate) const EV_ADD: u16 = 0x0001;
/// Delete the event.
pub(crate) const EV_DELETE: u16 = 0x0002;
/// Enable the event; without `EV_ADD`, fails with `ENOENT` if it does not exist.
pub(crate) const EV_ENABLE: u16 = 0x0004;
/// Edge-triggered: reset the state after the event is reported.
pub(crate) const EV_CLEAR: u16 = 0x0020;
/// Report every change back with `EV_ERROR` set and `data` = errno (0 = ok)
/// instead of failing the whole call on the first error.
pub(crate) const EV_RECEIPT: u16 = 0x0040;
/// Output: an error; `data` holds the errno.
pub(crate) const EV_ERROR: u16 = 0x4000;
/// Output: end of file or hang-up; `fflags` may hold a socket errno.
pub(crate) const EV_EOF: u16 = 0x8000;
/// `EVFILT_USER` input: trigger the event.
pub(crate) const NOTE_TRIGGER: u32 = 0x0100_0000;

// Linked from the system C library, or from libkqueue, which `build.rs` links
// when it chooses this backend on Linux.
extern "C" {
    /// Creates a new kernel event queue; returns its fd or -1 (errno set).
    ///
    /// # Safety
    ///
    /// None beyond FFI: the caller owns the returned fd and must close it.
    pub(crate) fn kqueue() -> c_int;

    /// Applies `nchanges` changes, then waits for up to `nevents` events.
    /// Returns the number of events written, or -1 (errno set).
    ///
    /// # Safety
    ///
    /// `changelist` must point to `nchanges` readable `kevent`s, `eventlist`
    /// to room for `nevents` writable ones (either may be null when its count
    /// is 0), and `timeout` must be null (wait forever) or point to a valid
    /// `timespec`. All pointers are only used for the duration of the call.
    pub(crate) fn kevent(
        kq: c_int,
        changelist: *const kevent,
        nchanges: c_int,
        eventlist: *mut kevent,
        nevents: c_int,
        timeout: *const libc::timespec,
    ) -> c_int;
}
