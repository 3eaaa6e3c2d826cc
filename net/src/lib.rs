//! Async networking for `runtime`: TCP sockets that any executor can drive.
//!
//! The types here register their fds with the process-wide reactor of
//! `runtime-reactor` and implement the `futures-io` traits; they need no
//! particular scheduler (and never ask "is a reactor running?": one always
//! is). Users normally reach them as `runtime::net`.
//!
//! # Examples
//!
//! ```no_run
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::TcpListener;
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (mut stream, _) = listener.accept().await?;
//!         runtime::spawn(async move {
//!             let mut buf = vec![0u8; 4096];
//!             loop {
//!                 let n = stream.read(&mut buf).await?;
//!                 if n == 0 {
//!                     return Ok::<_, std::io::Error>(());
//!                 }
//!                 stream.write_all(&buf[..n]).await?;
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! # Implementation
//!
//! Every socket type wraps one `PollEvented<T>`: the OS object plus its
//! reactor [`Registration`](runtime_reactor::Registration), dropped in that
//! order so the fd is deregistered before it is closed. An operation runs the
//! system call first; only `EAGAIN` clears the direction's readiness and
//! parks the task (edge-triggered: a partial read means "maybe more"), and
//! `EINTR` retries. Sockets are created non-blocking and close-on-exec in
//! one call where the OS allows (`SOCK_NONBLOCK`, `accept4`), writes use
//! `MSG_NOSIGNAL` (or `SO_NOSIGPIPE` on macOS). Socket options need nothing
//! beyond `libc`.

#![deny(unsafe_op_in_unsafe_fn)]

mod poll_evented;
mod sys;
pub mod tcp;

pub use tcp::{TcpListener, TcpStream};
