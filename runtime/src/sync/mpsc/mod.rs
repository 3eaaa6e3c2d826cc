//! Multi-producer, single-consumer channels: a bounded one ([`channel`]),
//! whose capacity counts permits and whose senders wait when it is full, and
//! an unbounded one ([`unbounded_channel`]).
//!
//! The semantics are tokio's: [`Receiver::recv`] returns `None` once every
//! sender is gone and the queue is drained; [`Receiver::close`] refuses new
//! messages but lets the queued ones (and those sent through permits already
//! held) be received; senders waiting for capacity are served in FIFO order,
//! and a dropped [`Sender::reserve`] or [`Sender::send`] future loses no
//! capacity. Every receive and every wait for capacity takes part in the
//! cooperative budget.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::mpsc;
//!
//! #[runtime::main]
//! async fn main() {
//!     let (tx, mut rx) = mpsc::channel(16);
//!     for id in 0..4 {
//!         let tx = tx.clone();
//!         runtime::spawn(async move { tx.send(id).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut sum = 0;
//!     while let Some(id) = rx.recv().await {
//!         sum += id;
//!     }
//!     assert_eq!(sum, 6);
//! }
//! ```
//!
//! # Implementation
//!
//! One `parking_lot` mutex around a `VecDeque`, the permit count, the
//! waiting senders (a slab plus a FIFO of keys, so a wait allocates nothing
//! once the slab has grown) and the receiver's waker; the protocol is in
//! `chan.rs`. The receiver of an unbounded channel takes the whole queue in
//! one lock and then receives from its own buffer, so a busy consumer
//! contends once per batch. Written here rather than on `async-channel`
//! (which has no permits, weak senders or `close`-then-drain, and whose
//! bounded queue is fixed-size up front); measured with
//! `cargo run --release -p runtime-benches --bin sync_chan` (see
//! `benches/src/sync_chan.rs` for the figures against tokio).

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

#[cfg(all(test, runtime_loom))]
mod tests;
