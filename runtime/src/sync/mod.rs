//! Synchronisation between tasks: channels (and, beside them, locks), with
//! tokio's names and semantics, so `tokio::sync` can be swapped for
//! `runtime::sync` without other changes.
//!
//! # Channels
//!
//! - [`mpsc`]: multi-producer, single-consumer queues, bounded
//!   ([`mpsc::channel`], whose capacity counts permits) or not
//!   ([`mpsc::unbounded_channel`]);
//! - [`oneshot`]: one value, sent once, from one task to another;
//! - [`broadcast`]: every value to every receiver, with lagging receivers
//!   told how many values they lost;
//! - [`watch`]: the latest value, and a wait for it to change.
//!
//! Every receive (and every wait for capacity) takes part in the
//! cooperative budget: a task looping on an always-ready receiver still
//! yields to the others. They work under any executor; the `blocking_*`
//! methods let a plain thread take part.

mod block;
pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;
