//! Streams: the [`Stream`] trait (`futures-core`'s, which every stream
//! combinator crate uses) and, in [`wrappers`], tokio-stream's wrappers for
//! this runtime's receivers, listeners, timers and readers.
//!
//! The combinators (`next`, `map`, `filter`, `buffer_unordered`, ...) are
//! `futures-util`'s `StreamExt`; `futures_util::stream::{iter, once,
//! empty, pending}` make streams from values.
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

pub mod wrappers;

pub use futures_util::Stream;
