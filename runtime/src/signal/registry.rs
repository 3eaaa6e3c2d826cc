//! The process's signal state: one slot per signal number, the socket pair
//! that the handlers write to, and the waker that dispatches (module docs
//! of `signal`).
//!
//! # Protocol
//!
//! The handler stores `pending = true`, then writes a byte. The dispatcher
//! (the read end's waker, under `dispatch`) reads the socket until
//! `WouldBlock`, clears its readiness, then swaps every `pending` to false
//! and bumps the generation of each that was set, waking its listeners.
//! A handler whose flag store came after the swap also wrote after the
//! drain, so the socket is readable again and the dispatcher runs again:
//! no signal is left pending with no dispatch to come.
//!
//! A listener creates its `Notified` before reading the generation; the
//! dispatcher bumps the generation before `notify_waiters`, so a bump after
//! that read reaches the `Notified`.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use parking_lot::Mutex;
use runtime_net::async_fd::AsyncFd;

// `std`'s atomics, not the loom shim's: signal handlers use them.
use crate::sync::Notify;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Signal numbers below this have a slot (Linux stops at 64, FreeBSD at
/// 128, macOS at 32).
pub(super) const SLOTS: usize = 129;

/// One signal number's state.
pub(super) struct Slot {
    /// Set by the handler, taken by the dispatcher.
    pending: AtomicBool,
    /// Deliveries so far.
    pub(super) generation: AtomicU64,
    /// Listeners waiting for the next generation.
    pub(super) notify: Notify,
    /// Whether the handler is installed (or why it could not be).
    installed: OnceLock<Result<(), (io::ErrorKind, String)>>,
}

pub(super) struct Globals {
    slots: Box<[Slot]>,
    /// The handlers write here (non-blocking; a full buffer loses nothing,
    /// the pending flags carry the signals).
    write_fd: i32,
    /// Kept open for `write_fd`'s sake.
    _write: UnixStream,
    read: AsyncFd<UnixStream>,
    /// One dispatcher at a time.
    dispatch: Mutex<()>,
    waker: Waker,
}

static GLOBALS: OnceLock<Result<Globals, (io::ErrorKind, String)>> = OnceLock::new();

fn to_error((kind, msg): &(io::ErrorKind, String)) -> io::Error {
    io::Error::new(*kind, msg.clone())
}

/// The process's signal state, made (and armed) on first use.
pub(super) fn globals() -> io::Result<&'static Globals> {
    let g = GLOBALS.get_or_init(|| {
        Globals::new().map_err(|e| (e.kind(), format!("setting up signal delivery: {e}")))
    });
    match g {
        Ok(g) => {
            g.arm_once();
            Ok(g)
        }
        Err(e) => Err(to_error(e)),
    }
}

/// The read end's waker: dispatches when the reactor reports it readable.
/// It has no state, so it is a static vtable over a null pointer (no
/// allocation to keep alive for the life of the process).
fn dispatcher() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn wake(_: *const ()) {
        if let Some(Ok(g)) = GLOBALS.get() {
            g.dispatch();
        }
    }
    fn drop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    // SAFETY: the vtable's functions ignore the data pointer (null), so
    // every `RawWaker` contract holds trivially; they are thread-safe (the
    // dispatch takes its own lock).
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

impl Globals {
    fn new() -> io::Result<Globals> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let slots = (0..SLOTS)
            .map(|_| Slot {
                pending: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                notify: Notify::new(),
                installed: OnceLock::new(),
            })
            .collect();
        Ok(Globals {
            slots,
            write_fd: write.as_raw_fd(),
            _write: write,
            read: AsyncFd::new(read)?,
            dispatch: Mutex::new(()),
            waker: dispatcher(),
        })
    }

    /// The first call registers the dispatcher's waker (by dispatching
    /// once); later calls do nothing.
    fn arm_once(&'static self) {
        static ARMED: std::sync::Once = std::sync::Once::new();
        ARMED.call_once(|| self.dispatch());
    }

    pub(super) fn slot(&self, signum: i32) -> &Slot {
        &self.slots[signum as usize]
    }

    /// Installs the handler of `signum` if it is not yet.
    pub(super) fn install(&'static self, signum: i32) -> io::Result<()> {
        let res = self.slots[signum as usize].installed.get_or_init(|| {
            let write_fd = self.write_fd;
            let slot: &'static Slot = &self.slots[signum as usize];
            let action = move || {
                // Async-signal-safe: an atomic store and `write(2)`, with
                // `errno` kept for the code this handler interrupted.
                let saved = errno::get();
                slot.pending.store(true, Ordering::SeqCst);
                let byte = 1u8;
                // SAFETY: `write_fd` stays open for the life of the
                // process (it lives in a `static`); one byte from a live
                // local.
                let _ = unsafe { libc::write(write_fd, (&byte as *const u8).cast(), 1) };
                errno::set(saved);
            };
            // SAFETY: `action` is async-signal-safe (above) and touches
            // only `'static` state.
            match unsafe { signal_hook_registry::register(signum, action) } {
                Ok(_) => Ok(()),
                Err(e) => Err((
                    e.kind(),
                    format!("installing a handler for signal {signum}: {e}"),
                )),
            }
        });
        res.as_ref().map(|_| ()).map_err(to_error)
    }

    /// Drains the socket, turns pending flags into generations and wakes
    /// their listeners, until the read end is no longer ready (which leaves
    /// the dispatcher's waker registered for the next signal).
    fn dispatch(&self) {
        let _one = self.dispatch.lock();
        let mut cx = Context::from_waker(&self.waker);
        loop {
            // Not a task's poll: no budget to spend.
            let ready = runtime_reactor::coop::unconstrained(|| self.read.poll_read_ready(&mut cx));
            let mut guard = match ready {
                Poll::Ready(Ok(guard)) => guard,
                // Pending: the waker is registered. An error means the
                // registration is gone, which a `static` never sees.
                Poll::Ready(Err(_)) | Poll::Pending => return,
            };
            let mut buf = [0u8; 256];
            loop {
                match self.read.get_ref().read(&mut buf) {
                    Ok(n) if n > 0 => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    // `Ok(0)` cannot happen (the write end is never closed);
                    // on an error, dispatch what is pending and stop.
                    _ => {
                        self.deliver();
                        return;
                    }
                }
            }
            self.deliver();
        }
    }

    fn deliver(&self) {
        for slot in self.slots.iter() {
            if slot.pending.load(Ordering::Relaxed) && slot.pending.swap(false, Ordering::SeqCst) {
                slot.generation.fetch_add(1, Ordering::SeqCst);
                slot.notify.notify_waiters();
            }
        }
    }
}

/// `errno`, read and restored around the handler's `write`.
mod errno {
    #[cfg(target_os = "linux")]
    fn location() -> *mut libc::c_int {
        // SAFETY: always valid for the calling thread.
        unsafe { libc::__errno_location() }
    }

    #[cfg(any(target_os = "freebsd", target_os = "macos"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: always valid for the calling thread.
        unsafe { libc::__error() }
    }

    pub(super) fn get() -> libc::c_int {
        // SAFETY: the thread's own errno, valid for the thread's life.
        unsafe { *location() }
    }

    pub(super) fn set(value: libc::c_int) {
        // SAFETY: as in `get`.
        unsafe { *location() = value }
    }
}
