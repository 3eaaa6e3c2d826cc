//! Streams: the [`Stream`] trait (`futures-core`'s, which every stream
//! combinator crate uses); in [`wrappers`], tokio-stream's wrappers for
//! this runtime's receivers, listeners, timers and readers; tokio-stream's
//! [`StreamMap`]; and its timed adapters in [`StreamExt`]
//! ([`timeout`](StreamExt::timeout),
//! [`timeout_repeating`](StreamExt::timeout_repeating),
//! [`throttle`](StreamExt::throttle),
//! [`chunks_timeout`](StreamExt::chunks_timeout)).
//!
//! The other combinators (`next`, `map`, `filter`, `buffer_unordered`,
//! ...) are `futures-util`'s `StreamExt`, which shares no method name with
//! ours: import both. `futures_util::stream::{iter, once, empty, pending}`
//! make streams from values.
//!
//! ```
//! use futures_util::StreamExt;
//! use runtime::stream::wrappers::ReceiverStream;
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let (tx, rx) = runtime::sync::mpsc::channel(8);
//! runtime::spawn(async move {
//!     for i in 0..3 {
//!         tx.send(i).await.unwrap();
//!     }
//! });
//! let doubled: Vec<i32> = ReceiverStream::new(rx).map(|i| i * 2).collect().await;
//! assert_eq!(doubled, [0, 2, 4]);
//! # });
//! ```

mod map;
mod time;
pub mod wrappers;

pub use futures_util::Stream;
pub use map::StreamMap;
pub use time::{ChunksTimeout, StreamExt, Throttle, Timeout, TimeoutRepeating};
