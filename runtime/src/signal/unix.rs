//! Unix signals: [`signal`] returns a [`Signal`] that receives every
//! delivery of one [`SignalKind`] (module docs of [`signal`](super)).

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::registry::{self, Slot, SLOTS};
use crate::sync::futures::Notified;

/// A signal, by number; the constructors name the usual ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// A signal by its raw number, for those without a constructor (for
    /// example a real-time signal).
    pub const fn from_raw(signum: std::os::raw::c_int) -> SignalKind {
        SignalKind(signum as libc::c_int)
    }

    /// The raw signal number.
    pub const fn as_raw_value(&self) -> std::os::raw::c_int {
        self.0 as std::os::raw::c_int
    }

    /// `SIGALRM`: a real-time timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up (often: reload the configuration).
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINFO`: a status request from the keyboard (BSD and macOS).
    #[cfg(any(target_os = "freebsd", target_os = "macos"))]
    pub const fn info() -> SignalKind {
        SignalKind(libc::SIGINFO)
    }

    /// `SIGINT`: an interrupt from the keyboard (Ctrl-C).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`: I/O is possible on a descriptor.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`: a write to a pipe with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: a quit request from the keyboard.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: a request to terminate (what service managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`: user-defined.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<std::os::raw::c_int> for SignalKind {
    fn from(signum: std::os::raw::c_int) -> SignalKind {
        SignalKind::from_raw(signum)
    }
}

impl From<SignalKind> for std::os::raw::c_int {
    fn from(kind: SignalKind) -> std::os::raw::c_int {
        kind.as_raw_value()
    }
}

/// Receives the deliveries of one signal; from [`signal`].
///
/// Each `Signal` sees every delivery made after it was created; deliveries
/// made while it was not waiting are kept for its next
/// [`recv`](Signal::recv), and several of them before that `recv` count as
/// one.
pub struct Signal {
    slot: &'static Slot,
    /// The last generation this listener reported.
    seen: u64,
    /// Created before each read of the generation (protocol in
    /// `registry.rs`).
    notified: Pin<Box<Notified<'static>>>,
}

/// Listens for `kind`, installing its handler the first time (it stays
/// installed for the life of the process, and from then on the signal's
/// default action, such as ending the process, no longer happens).
///
/// # Errors
///
/// `InvalidInput` for a signal that cannot be caught (`SIGKILL`, `SIGSTOP`)
/// or whose default handling must stay (`SIGILL`, `SIGFPE`, `SIGSEGV`), and
/// for a number that is not a signal; what the system says if the handler
/// cannot be installed or the delivery socket cannot be made.
///
/// # Examples
///
/// ```no_run
/// use runtime::signal::unix::{signal, SignalKind};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut hangups = signal(SignalKind::hangup())?;
///     loop {
///         hangups.recv().await;
///         println!("reloading the configuration");
///     }
/// }
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.as_raw_value();
    if signum <= 0 || signum as usize >= SLOTS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signum} is not a signal number"),
        ));
    }
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for (it cannot be caught, or must keep its default action)"),
        ));
    }
    let globals = registry::globals()?;
    globals.install(signum)?;
    let slot = globals.slot(signum);
    let notified = Box::pin(slot.notify.notified());
    Ok(Signal {
        slot,
        seen: slot.generation.load(std::sync::atomic::Ordering::SeqCst),
        notified,
    })
}

impl Signal {
    /// Waits for the next delivery of the signal; `Some(())` when it came.
    /// (It never returns `None`: the delivery mechanism lives as long as
    /// the process. The `Option` is tokio's signature.)
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a delivery that came while the future existed is kept
    /// for the next `recv`.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; stores the task's waker if none came.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        loop {
            let generation = self
                .slot
                .generation
                .load(std::sync::atomic::Ordering::SeqCst);
            if generation != self.seen {
                self.seen = generation;
                return Poll::Ready(Some(()));
            }
            match self.notified.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // A new generation (or one this listener has already seen
                // by now): wait afresh, created before the next read.
                Poll::Ready(()) => self.notified.set(self.slot.notify.notified()),
            }
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("seen", &self.seen).finish()
    }
}
