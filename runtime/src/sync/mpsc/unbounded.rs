//! The unbounded channel: [`unbounded_channel`], [`UnboundedSender`],
//! [`UnboundedReceiver`], [`WeakUnboundedSender`].

use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};

use super::bounded::ClosedFuture;
use super::chan::{wake, Chan, Rx};
use super::error::{SendError, TryRecvError};
use crate::shim::Arc;

/// A channel with no bound: [`send`](UnboundedSender::send) never waits.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// #[runtime::main]
/// async fn main() {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     runtime::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// }
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(None));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { rx: Rx::new(chan) },
    )
}

/// The sending half of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// A sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    rx: Rx<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// If the receiver is closed or gone; `value` comes back.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(SendError(value));
        }
        match st.push(value) {
            Ok(w) => {
                drop(st);
                wake(w);
                Ok(())
            }
            Err(value) => Err(SendError(value)),
        }
    }

    /// Completes when the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, rx) = runtime::sync::mpsc::unbounded_channel::<()>();
    /// runtime::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// # }
    /// ```
    pub async fn closed(&self) {
        ClosedFuture::new(&self.chan).await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// A [`WeakUnboundedSender`] of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<()>();
    /// let weak = tx.downgrade();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.inc_weak();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// Live strong senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.inc_tx();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.dec_tx();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`], unless every strong sender is gone.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.try_inc_tx().then(|| UnboundedSender {
            chan: self.chan.clone(),
        })
    }

    /// Live strong senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.inc_weak();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.dec_weak();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message; `None` once every sender is gone (or the
    /// receiver closed) and the queue is drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting for at least
    /// one; returns how many, 0 at the end of the stream (or when `limit` is
    /// 0).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
    }

    /// Receives a message if one is queued now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is queued but more may come,
    /// [`TryRecvError::Disconnected`] at the end of the stream.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv().map_err(|ended| {
            if ended {
                TryRecvError::Disconnected
            } else {
                TryRecvError::Empty
            }
        })
    }

    /// Receives from a thread outside any runtime, blocking it until a
    /// message comes or the stream ends.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
    /// let t = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(9).unwrap();
    /// assert_eq!(t.join().unwrap(), Some(9));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::block::block_on("UnboundedReceiver::blocking_recv", self.recv())
    }

    /// As [`recv_many`](Self::recv_many), blocking a thread outside any
    /// runtime.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        crate::sync::block::block_on(
            "UnboundedReceiver::blocking_recv_many",
            self.recv_many(buffer, limit),
        )
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// The poll form of [`recv_many`](Self::recv_many).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.rx.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel to new messages; the queued ones can still be
    /// received.
    pub fn close(&mut self) {
        self.rx.chan.close();
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`close`](Self::close) was called or every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    /// Live strong senders of this channel.
    pub fn sender_strong_count(&self) -> usize {
        self.rx.chan.strong_count()
    }

    /// Live weak senders of this channel.
    pub fn sender_weak_count(&self) -> usize {
        self.rx.chan.weak_count()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").finish_non_exhaustive()
    }
}
