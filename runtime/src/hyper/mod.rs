//! hyper 1.x on this runtime (feature `hyper`): an [`Executor`](HyperExecutor)
//! and a [`Timer`](HyperTimer) for hyper's builders, and [`HyperIo`] for
//! the user's own I/O types.
//!
//! # Our sockets need no wrapper
//!
//! With the `hyper` feature, [`TcpStream`](crate::net::TcpStream) and
//! [`UnixStream`](crate::net::UnixStream) implement `hyper::rt::Read` and
//! `hyper::rt::Write` themselves, so an accepted stream goes to
//! `serve_connection` (or a client `handshake`) as it is. That saves more
//! than a type name:
//!
//! - **No zeroing.** hyper reads into the spare capacity of its buffer,
//!   which is uninitialised memory. Our streams let the kernel's `recv`
//!   write straight into it; an adapter from `futures-io`'s (or tokio's
//!   safe-slice) `poll_read` must first zero the whole spare capacity on
//!   every read, up to hyper's read-buffer size (hundreds of KiB on a busy
//!   connection), only for `recv` to overwrite it.
//! - **No extra layer.** Writes, vectored writes (`sendmsg`) and shutdown
//!   go straight to the socket, with the same readiness handling as
//!   `runtime::io`'s traits (a short read or write clears readiness and
//!   saves a system call).
//!
//! [`HyperIo`] is for everything else that speaks `futures-io`, such as a
//! TLS stream or a buffered wrapper; it pays the zeroing described above
//! (and also adapts the other way: hyper's upgraded connections to
//! `futures-io`). With the `tokio-io` feature our sockets also implement
//! tokio's traits, so `hyper_util::rt::TokioIo` works over them too, and
//! hyper-util's tokio-based helpers (for example its `auto` server builder)
//! run on this runtime, no tokio runtime needed.
//!
//! # Examples
//!
//! An HTTP/1.1 server: each accepted stream is served in its own task, and
//! a client that takes more than 10 s to send its request head is
//! disconnected.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::server::conn::http1;
//! use hyper::service::service_fn;
//! use hyper::{Request, Response};
//! use runtime::hyper::HyperTimer;
//! use runtime::net::TcpListener;
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
//! }
//!
//! #[runtime::main(flavor = "multi_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         runtime::spawn(async move {
//!             // The stream goes to hyper as it is.
//!             let conn = http1::Builder::new()
//!                 .timer(HyperTimer::new())
//!                 .header_read_timeout(Duration::from_secs(10))
//!                 .serve_connection(stream, service_fn(hello));
//!             if let Err(e) = conn.await {
//!                 eprintln!("connection: {e}");
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! HTTP/2 builders take a [`HyperExecutor`] (for the tasks of each stream)
//! and a [`HyperTimer`] (for keep-alive pings) the same way:
//! `http2::Builder::new(HyperExecutor::new()).timer(HyperTimer::new())`.
//!
//! # Implementation
//!
//! - The `rt::Read` impls of our sockets are in `runtime-net`, next to the
//!   `futures-io` ones: `recv` into the `ReadBufCursor`'s uninitialised
//!   part, then `advance` by what the kernel wrote.
//! - [`HyperTimer`] hands out [`HyperSleep`]s, each a boxed
//!   [`time::Sleep`](crate::time::Sleep) with its timer entry inside (one
//!   allocation, made by hyper's `Pin<Box<dyn Sleep>>`), and
//!   [`reset`](::hyper::rt::Timer::reset) moves the deadline of that same
//!   entry in place instead of boxing a new sleep: hyper resets its
//!   keep-alive and header timers often.
//! - [`HyperExecutor`] is [`spawn`](crate::spawn) (or
//!   [`Handle::spawn`](crate::Handle::spawn)); the `JoinHandle` is dropped,
//!   which detaches the task.

mod executor;
mod io;
mod timer;

pub use executor::HyperExecutor;
pub use io::HyperIo;
pub use timer::{HyperSleep, HyperTimer};
