//! The load generator: it belongs to no runtime under test.
//!
//! [`run`] drives many TCP connections from its own threads, each with its
//! own `epoll` instance over non-blocking sockets (raw `libc` calls, level
//! triggered), sends requests, and checks **every byte** that comes back
//! against what was expected. It measures:
//!
//! - messages completed during a measurement window (after a warm-up);
//! - the round-trip time of each message into a [`Histogram`]: in the
//!   closed loop from the moment the message was sent, in the open loop from
//!   the moment it was *scheduled*, so a server (or generator) that falls
//!   behind is charged for the whole delay (no coordinated omission);
//! - the server's CPU time over exactly the window (`/proc/<pid>/stat`,
//!   sampled by the calling thread at the window's edges).
//!
//! Two protocols: echo (each message is a slice of a fixed random table,
//! starting at an offset that depends on the connection and the message
//! number, so a lost, repeated or reordered chunk is caught) and a fixed
//! request/response pair (HTTP). Two modes: closed loop (each connection
//! keeps `depth` messages in flight) and open loop (a fixed total rate,
//! spread evenly over the connections).
//!
//! [`Herd`] is the other tool: thousands of mostly idle connections on
//! blocking sockets (for the memory and connection-scale cases).
//!
//! Every generator socket closes with `SO_LINGER` 0 (a reset, no
//! `TIME_WAIT`), so back-to-back runs never run out of ephemeral ports.
//!
//! # Layout
//!
//! This file holds what callers see ([`Spec`], [`Protocol`], [`Mode`],
//! [`Outcome`]); the rest, by concern:
//!
//! - `window`: [`run`] and [`run_observed`], which start the generator
//!   threads, open and close the measurement window, and sample the
//!   server's CPU time at its edges;
//! - `worker`: one generator thread's event loop (its own epoll instance
//!   over its share of the connections), closed loop and open loop;
//! - `payload`: what each message is and what must come back;
//! - `socket`: [`connect`] and the raw socket calls under it;
//! - `herd`: [`Herd`], the idle connections on blocking sockets.

mod herd;
mod payload;
mod socket;
#[cfg(test)]
mod tests;
mod window;
mod worker;

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::hist::Histogram;

pub use herd::{Herd, HERD_MESSAGE};
pub use payload::{date_value, HTTP_DATE_LEN};
pub use socket::connect;
pub(crate) use socket::with_sockaddr;
pub use window::{run, run_observed, Edge};

/// What travels on each connection.
#[derive(Debug, Clone)]
pub enum Protocol {
    /// Messages of `size` bytes, echoed back unchanged.
    Echo {
        /// Bytes per message.
        size: usize,
    },
    /// The same request every time, answered by the same response (but
    /// for the bytes in `unchecked`).
    Fixed {
        /// The bytes sent.
        request: Arc<[u8]>,
        /// The bytes expected back: exactly these, and as many, except at
        /// the positions in `unchecked`.
        response: Arc<[u8]>,
        /// Positions in `response` where any byte is accepted (the value
        /// of a `Date` header, which changes every second but keeps its
        /// length); empty to check every byte.
        unchecked: Range<usize>,
    },
}

impl Protocol {
    /// A fixed HTTP exchange: `request` sent, `response` expected back, but
    /// for the value of its `Date` header (found by [`date_value`]), which
    /// may be any date of the same length; every byte is checked when the
    /// response has none.
    pub fn http(request: &[u8], response: &[u8]) -> Protocol {
        Protocol::Fixed {
            request: Arc::from(request),
            response: Arc::from(response),
            unchecked: date_value(response).unwrap_or(0..0),
        }
    }
}

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Each connection keeps `depth` messages in flight (1: request,
    /// response, next request).
    Closed {
        /// Messages in flight per connection (pipelining depth).
        depth: usize,
    },
    /// Messages are scheduled at `rate` per second in total, whatever the
    /// responses do.
    Open {
        /// Messages per second, all connections together.
        rate: f64,
    },
}

/// One load run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server.
    pub addr: SocketAddr,
    /// Connections, spread round-robin over the threads.
    pub conns: usize,
    /// Generator threads (each with its own epoll instance).
    pub threads: usize,
    /// What is sent.
    pub protocol: Protocol,
    /// How it is sent.
    pub mode: Mode,
    /// Load before the window (not measured).
    pub warmup: Duration,
    /// The measurement window.
    pub window: Duration,
    /// CPUs to pin the generator threads to (`None`: no pinning).
    pub cpus: Option<Vec<usize>>,
    /// The server process, whose CPU time is sampled over the window.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Messages whose response completed inside the window.
    pub completed: u64,
    /// The window's length.
    pub window: Duration,
    /// Round-trip times (see the module docs for the starting point).
    pub latency: Histogram,
    /// Server CPU time (user + system) over the window.
    pub server_cpu: Option<Duration>,
    /// The system (kernel) part of `server_cpu`.
    pub server_system: Option<Duration>,
    /// Open loop: messages scheduled in the window still unanswered when
    /// the drain period ended (recorded in `latency` with the time waited
    /// so far, a lower bound).
    pub unfinished: u64,
    /// Messages completed between the return of the window's
    /// [`Edge::Start`] callback and its end (see [`run_observed`]; the
    /// window's count when the callback returns at once).
    pub observed: u64,
}

impl Outcome {
    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.window.as_secs_f64()
    }

    /// Server CPU per message, in microseconds.
    pub fn cpu_per_msg_us(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.completed > 0).then(|| cpu.as_secs_f64() * 1e6 / self.completed as f64)
    }

    /// The share of the server's CPU time that the kernel spent (0 to 1).
    pub fn kernel_share(&self) -> Option<f64> {
        let cpu = self.server_cpu?.as_secs_f64();
        let sys = self.server_system?.as_secs_f64();
        (cpu > 0.0).then(|| sys / cpu)
    }
}
