//! `runtime`: an async runtime for TCP services.
//!
//! A reactor turns epoll (Linux) or kqueue (BSD, macOS) readiness into task
//! wake-ups; a work-stealing executor polls the tasks; [`net`] gives async
//! TCP, UDP and Unix sockets; `#[runtime::main]` starts it all. The names
//! are tokio's.
//!
//! # Examples
//!
//! ```no_run
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = runtime::net::TcpListener::bind("127.0.0.1:8080").await?;
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
//! - **Reactor** (`runtime-reactor`): one per process, started on first use,
//!   so sockets work under any executor and from any thread. Each socket is
//!   registered once, edge-triggered; readiness and the tasks waiting for it
//!   live in a slab slot.
//! - **Who drives the reactor** (`runtime_reactor::drive`): by default idle
//!   scheduler threads wait inside the reactor, so the tasks their events
//!   wake run on them with no cross-thread hop, and busy ones poll it
//!   between batches of tasks. The reactor thread watches: when nobody
//!   polled for 10 ms it turns the reactor itself, so a thread stuck in user
//!   code never holds up I/O or timers. With
//!   [`Builder::worker_driven_reactor(false)`](Builder::worker_driven_reactor)
//!   the reactor thread alone waits and wakes tasks.
//! - **Timers** ([`time`]): a hierarchical timing wheel in the reactor (6
//!   levels of 64 slots, 1 ms ticks); the reactor's wait ends at the next
//!   deadline, and a `Sleep` carries its own wheel entry (no allocation).
//! - **Tasks** ([`task`]): one allocation per task; an atomic state word
//!   (running, complete, notified, cancelled, join interest, join waker and a
//!   reference count) makes wake-ups idempotent and lets `abort`, completion
//!   and `JoinHandle` drop race safely. The header also keeps the task's
//!   [`Id`](task::Id) and its spawn location (every spawn entry point is
//!   `#[track_caller]`) and name. A [`task::JoinSet`] gets finished tasks
//!   from a ready list their join wakers fill, never by scanning.
//! - **Multi-thread scheduler** (the default): per-worker bounded queues and
//!   a LIFO slot, a global injector checked often enough that it cannot
//!   starve, work stealing, and at most half of the workers searching at
//!   once.
//! - **Current-thread scheduler**: runs tasks on the thread in `block_on`,
//!   with a local queue and a lock-free injector for wake-ups from other
//!   threads.
//! - **Local tasks** ([`task::LocalSet`]): `!Send` futures in the same task
//!   allocation, with a scheduler that queues every wake-up (from any
//!   thread) back to the set's own thread, which alone polls them.
//! - **Blocking pool** ([`spawn_blocking`], [`task::block_in_place`]): threads
//!   started on demand for blocking work, so it never occupies a worker;
//!   idle ones exit after a while.
//! - **Observability** ([`metrics`]): per-worker counters in cache-padded
//!   slots written by their own worker with plain stores
//!   ([`Handle::metrics`]), an optional per-worker poll-time histogram
//!   ([`Builder::enable_metrics_poll_time_histogram`]), the process
//!   reactor's event, turn and timer counts, a stall detector for polls
//!   that block a worker ([`Builder::stall_threshold`]) and a listing of
//!   live tasks ([`Handle::dump`]). With the `tracing` feature each task also has a
//!   `tracing` span, entered for its polls, and its wakers emit events, in
//!   the shape tokio-console's `console-subscriber` reads (see
//!   [Feature flags](#feature-flags)).
//! - **Cooperative budget**: each task poll (and each poll of a `block_on`
//!   future) may complete 128 operations (socket I/O, elapsed sleeps,
//!   [`io::empty`]/[`io::repeat`]/[`io::sink`],
//!   [`task::consume_budget`]); then the next one returns `Pending` after a
//!   self-wake, so one busy connection cannot starve the others. Only
//!   operations that complete are charged: a task polling many idle sockets
//!   parks instead of spinning. [`task::unconstrained`] opts a future out.
//! - **Macros** ([`select!`], [`join!`], [`try_join!`]): `macro_rules!`
//!   front-ends that pass their input to procedural macros in
//!   `runtime-macros`, so a syntax error is reported at the user's token;
//!   the expansion pins the futures in a tuple on the caller's stack and
//!   polls them from one `poll_fn`. [`task_local!`] keys swap their value
//!   into a thread-local around each poll of the scoped future.
//!
//! # Feature flags
//!
//! None is on by default.
//!
//! - `hyper`: `runtime::hyper` (hyper 1.x's `rt` traits for this runtime) and
//!   hyper's `rt::Read`/`rt::Write` for [`net::TcpStream`] and
//!   [`net::UnixStream`].
//! - `tokio-io`: tokio's `AsyncRead`/`AsyncWrite` for every stream type
//!   (the traits only; no tokio runtime is involved).
//! - `tracing`: tasks instrumented for [tokio-console]. Each task gets a
//!   `TRACE` span named `runtime.spawn` (target `runtime::task`, no parent)
//!   with the fields `kind` (`task`, `local` or `blocking`), `task.name`,
//!   `task.id` (the [`task::Id`]), `size.bytes` and
//!   `loc.file`/`loc.line`/`loc.col` (the spawn location); it is entered
//!   around each poll, so events inside a poll have it as their parent,
//!   and it closes when the task completes or is cancelled. Cloning,
//!   waking and dropping a task's waker emit a `TRACE` event with target
//!   `runtime::waker`, `op` (`waker.clone`, `waker.wake`,
//!   `waker.wake_by_ref`, `waker.drop`) and `task.id` (the span's id).
//!   That is what `console-subscriber` reads; it must be built with
//!   `RUSTFLAGS="--cfg console_without_tokio_unstable"` (it refuses to
//!   start otherwise, a check meant for tokio's own flag). With the feature
//!   off none of it is compiled; on, with no subscriber interested, each
//!   spawn and waker operation costs one check of `tracing`'s interest
//!   cache.
//!
//! ```ignore
//! // Cargo.toml: runtime = { version = "0.1", features = ["tracing"] },
//! //             console-subscriber = "0.5"
//! // run with:   RUSTFLAGS="--cfg console_without_tokio_unstable" cargo run
//! fn main() {
//!     console_subscriber::init(); // serves 127.0.0.1:6669 for `tokio-console`
//!     runtime::Runtime::new().unwrap().block_on(async {
//!         runtime::task::Builder::new()
//!             .name("worker")
//!             .spawn(async { /* ... */ })
//!             .unwrap()
//!             .await
//!             .unwrap();
//!     });
//! }
//! ```
//!
//! The repository's `console/` directory has this as a complete example
//! (`cargo run --example console` there) with an end-to-end test that
//! reads the task list over console-subscriber's gRPC API.
//!
//! [tokio-console]: https://github.com/tokio-rs/console

#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
mod context;
pub mod fs;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
mod macros;
pub mod metrics;
pub mod process;
mod runtime;
mod scheduler;
mod shim;
pub mod signal;
pub mod stream;
pub mod sync;
pub mod task;
pub mod time;

pub use crate::runtime::{
    Builder, EnterGuard, Handle, Runtime, RuntimeFlavor, TryCurrentError, UnhandledPanic,
};
pub use blocking::spawn_blocking;
pub use metrics::{
    HistogramConfiguration, InvalidHistogramConfiguration, LogHistogram, LogHistogramBuilder,
};
pub use runtime_macros::{main, test};
pub use task::{block_in_place, spawn, JoinError, JoinHandle};

/// What the expansions of `select!`, `join!`, `try_join!` and `task_local!`
/// name; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::macros::support::*;
}

/// Async networking: TCP, UDP and Unix-domain sockets, and [`lookup_host`](net::lookup_host)
/// (host names resolve on the blocking pool, never on a worker).
pub mod net {
    pub use runtime_net::{
        lookup_host, tcp, udp, unix, TcpListener, TcpSocket, TcpStream, ToSocketAddrs, UdpSocket,
        UnixDatagram, UnixListener, UnixSocket, UnixStream,
    };
}
