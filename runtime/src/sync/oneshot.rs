//! A one-shot channel: one value, sent once, from one task to another.
//!
//! The [`Receiver`] is itself the future of the value: it completes with
//! `Ok(value)`, or with [`RecvError`] if the [`Sender`]
//! is dropped without sending. The sender learns when the receiver goes away
//! ([`Sender::closed`], [`Sender::is_closed`]) and can then stop computing
//! a value nobody waits for. The semantics are tokio's.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::oneshot;
//!
//! #[runtime::main]
//! async fn main() {
//!     let (tx, rx) = oneshot::channel();
//!     runtime::spawn(async move {
//!         let _ = tx.send(6 * 7);
//!     });
//!     assert_eq!(rx.await, Ok(42));
//! }
//! ```
//!
//! # Implementation
//!
//! Both halves share one small `parking_lot` mutex around the value, the
//! two wakers and two flags (the sender is done, the receiver is closed):
//! every transition is decided on one snapshot, so no wake-up can be lost
//! between a check and a waker's registration, and wakers are woken (and a
//! refused value dropped) after the lock is released. An uncontended lock is
//! two atomic operations, about what a lock-free state word costs. Round
//! trips through a spawned task per second (`cargo run --release -p
//! runtime-benches --bin sync_chan`, two runs, shared 2-core machine):
//! 1.8-4.9 M here, 0.8-3.3 M for tokio's oneshot on tokio (1.5-2.3x; the
//! spawn dominates). No runtime-agnostic crate offers this shape, so it is
//! written here. Loom models: `loom_*` at the end of this file.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::shim::{Arc, Mutex};

/// The errors of a one-shot channel, as tokio's.
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// The sender was dropped without sending (from awaiting the
    /// [`Receiver`](super::Receiver)).
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no
    /// value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub enum TryRecvError {
        /// Nothing sent yet.
        Empty,
        /// The sender was dropped without sending, or the value was already
        /// received.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "channel empty",
                TryRecvError::Closed => "channel closed",
            })
        }
    }

    impl Error for TryRecvError {}
}

use crate::sync::waker::set_waker;
use error::{RecvError, TryRecvError};

/// A new one-shot channel.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = runtime::sync::oneshot::channel();
/// tx.send("done").unwrap();
/// assert_eq!(rx.try_recv(), Ok("done"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            rx_waker: None,
            tx_waker: None,
            tx_done: false,
            rx_closed: false,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

/// What both halves share.
struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Sent, not yet received.
    value: Option<T>,
    /// The receiver, waiting for the value.
    rx_waker: Option<Waker>,
    /// The sender, waiting in `closed`.
    tx_waker: Option<Waker>,
    /// The sender sent or was dropped: no value will come after `value`.
    tx_done: bool,
    /// The receiver closed or was dropped: `send` fails.
    rx_closed: bool,
}

/// Sends the value; consumed by [`send`](Sender::send).
pub struct Sender<T> {
    /// `None` once sent.
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value: await it, or [`try_recv`](Receiver::try_recv).
pub struct Receiver<T> {
    /// `None` once the value (or the error) was returned.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, without waiting.
    ///
    /// # Errors
    ///
    /// If the receiver is closed or dropped, `value` comes back.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(3), Err(3));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("an unsent sender has its channel");
        let mut st = inner.state.lock();
        if st.rx_closed {
            return Err(value);
        }
        st.value = Some(value);
        st.tx_done = true;
        let w = st.rx_waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
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
    /// let (mut tx, rx) = runtime::sync::oneshot::channel::<()>();
    /// runtime::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.state.lock().rx_closed,
            None => true,
        }
    }

    /// The poll form of [`closed`](Self::closed): `Ready` once the receiver
    /// is closed or dropped; otherwise registers `cx`'s waker.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        let Some(inner) = &self.inner else {
            coop.made_progress();
            return Poll::Ready(());
        };
        let mut st = inner.state.lock();
        if st.rx_closed {
            coop.made_progress();
            return Poll::Ready(());
        }
        set_waker(&mut st.tx_waker, cx);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let w = {
            let mut st = inner.state.lock();
            st.tx_done = true;
            st.rx_waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing was sent yet,
    /// [`TryRecvError::Closed`] if the sender was dropped without sending
    /// or the value was already taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let result = {
            let mut st = inner.state.lock();
            match st.value.take() {
                Some(v) => Ok(v),
                None if st.tx_done || st.rx_closed => Err(TryRecvError::Closed),
                None => return Err(TryRecvError::Empty),
            }
        };
        self.inner = None;
        result
    }

    /// Closes the channel: a later `send` fails. A value sent before can
    /// still be taken with [`try_recv`](Self::try_recv) (or by awaiting);
    /// if none was, both report the channel closed at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        let Some(inner) = &self.inner else { return };
        let w = {
            let mut st = inner.state.lock();
            st.rx_closed = true;
            st.tx_waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Whether no value is waiting to be taken now (none sent yet, or
    /// already taken).
    pub fn is_empty(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.state.lock().value.is_none(),
            None => true,
        }
    }

    /// Whether this receiver has returned its value or its error: awaiting
    /// it again would panic.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Waits for the value on a thread outside any runtime.
    ///
    /// # Errors
    ///
    /// If the sender was dropped without sending.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime: await the receiver
    /// there.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.blocking_recv(), Ok(5));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::sync::block::block_on("oneshot::Receiver::blocking_recv", self)
    }
}

/// Awaiting the receiver waits for the value.
///
/// # Cancel safety
///
/// Cancel safe: a dropped wait took nothing (the value, if sent, is dropped
/// with the receiver).
///
/// # Panics
///
/// If polled again after it completed.
impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        let inner = self
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after completion");
        let result = {
            let mut st = inner.state.lock();
            match st.value.take() {
                Some(v) => Ok(v),
                None if st.tx_done || st.rx_closed => Err(RecvError(())),
                None => {
                    set_waker(&mut st.rx_waker, cx);
                    return Poll::Pending;
                }
            }
        };
        coop.made_progress();
        self.inner = None;
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let (w, value) = {
            let mut st = inner.state.lock();
            st.rx_closed = true;
            st.rx_waker = None;
            (st.tx_waker.take(), st.value.take())
        };
        if let Some(w) = w {
            w.wake();
        }
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(all(test, runtime_loom))]
mod tests {
    use loom::future::block_on;
    use loom::thread;

    use super::channel;

    /// Send from another thread against the receiver's wait.
    #[test]
    fn loom_send_vs_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u8>();
            let t = thread::spawn(move || tx.send(1).unwrap());
            assert_eq!(block_on(rx), Ok(1));
            t.join().unwrap();
        });
    }

    /// The sender dropped unsent against the receiver's wait.
    #[test]
    fn loom_sender_drop_vs_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u8>();
            let t = thread::spawn(move || drop(tx));
            assert!(block_on(rx).is_err());
            t.join().unwrap();
        });
    }

    /// The receiver dropped against the sender's `closed` wait.
    #[test]
    fn loom_receiver_drop_vs_closed() {
        loom::model(|| {
            let (mut tx, rx) = channel::<u8>();
            let t = thread::spawn(move || drop(rx));
            block_on(tx.closed());
            assert_eq!(tx.send(1), Err(1));
            t.join().unwrap();
        });
    }
}
