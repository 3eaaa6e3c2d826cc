//! Signals, with tokio's names and semantics: [`ctrl_c`] and, for every
//! other signal, [`unix::signal`].
//!
//! # How it works
//!
//! The first listener of a signal installs a handler for it through
//! `signal-hook-registry`, the well-kept registry that chains with handlers
//! other crates installed (and whose handlers stay installed for the life
//! of the process, as tokio's do). The handler is async-signal-safe: it
//! sets the signal's pending flag and writes one byte to a socket pair
//! whose read end is registered with the process's one reactor, like any
//! socket. That read end's waker is not a task's: when the reactor reports
//! it readable, the waker itself drains it, turns every pending flag into a
//! new *generation* of its signal, and wakes that signal's listeners. Each
//! [`unix::Signal`] remembers the last generation it saw, so:
//!
//! - every listener of a signal receives it (each compares its own
//!   generation);
//! - a signal that arrives between two `recv` calls is not lost (the
//!   generation moved while no one was waiting);
//! - signals that arrive faster than a listener receives them coalesce into
//!   one notification, as in tokio (the kernel coalesces them too).
//!
//! Because the reactor is the process's and not a runtime's, a `Signal`
//! works under any executor, on any thread.

pub mod unix;

mod registry;

use std::io;

/// Completes when the process receives `SIGINT` (Ctrl-C in a terminal).
///
/// The handler is installed when the returned future is first polled, and
/// stays installed: from then on `SIGINT` no longer ends the process by
/// default (every Ctrl-C goes to the listeners, if any). A `SIGINT` that
/// arrives before the first poll is not seen by this future.
///
/// # Errors
///
/// If the handler cannot be installed, or the signal socket pair cannot be
/// created and registered.
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses nothing for other listeners.
///
/// # Examples
///
/// ```no_run
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     println!("press Ctrl-C to stop");
///     runtime::signal::ctrl_c().await?;
///     println!("stopping");
///     Ok(())
/// }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    interrupt.recv().await;
    Ok(())
}
