//! tokio-stream's wrappers, for this runtime's types: each turns a
//! receiver, a listener, an interval, a signal or a reader into a
//! [`Stream`], under the name tokio-stream gives it. None allocates per
//! item: each polls the wrapped value's own poll method.
//!
//! | wrapper | wraps | yields | ends |
//! |---|---|---|---|
//! | [`ReceiverStream`] | `sync::mpsc::Receiver<T>` | `T` | every sender gone and the queue drained |
//! | [`UnboundedReceiverStream`] | `sync::mpsc::UnboundedReceiver<T>` | `T` | likewise |
//! | [`BroadcastStream`] | `sync::broadcast::Receiver<T>` | `Result<T, BroadcastStreamRecvError>` | every sender gone, everything read |
//! | [`WatchStream`] | `sync::watch::Receiver<T>` | `T` (the value, cloned) | every sender gone |
//! | [`IntervalStream`] | `time::Interval` | `time::Instant` (when the tick was due) | never |
//! | [`TcpListenerStream`] | `net::TcpListener` | `io::Result<TcpStream>` | never |
//! | [`UnixListenerStream`] | `net::UnixListener` | `io::Result<UnixStream>` | never |
//! | [`SignalStream`] | `signal::unix::Signal` | `()` | never |
//! | [`ReadDirStream`] | `fs::ReadDir` | `io::Result<fs::DirEntry>` | the last entry |
//! | [`LinesStream`] | `io::Lines<R>` | `io::Result<String>` | end of file |
//! | [`SplitStream`] | `io::Split<R>` | `io::Result<Vec<u8>>` | end of file |
//!
//! tokio-stream's `CtrlCStream` and the Windows signal streams are for
//! Windows only; [`SignalStream`] over `signal(SignalKind::interrupt())`
//! is the Unix form.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::Stream;

use crate::fs::{DirEntry, ReadDir};
use crate::io::{AsyncBufRead, Lines, Split};
use crate::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use crate::signal::unix::Signal;
use crate::sync::{broadcast, mpsc, watch};
use crate::time::{Instant, Interval};

/// The errors a [`BroadcastStream`] yields.
pub mod errors {
    use std::fmt;

    /// A [`BroadcastStream`](super::BroadcastStream) fell behind: the
    /// channel overwrote values it had not read.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum BroadcastStreamRecvError {
        /// This many values were lost; the stream goes on with the oldest
        /// the channel still holds.
        Lagged(u64),
    }

    impl fmt::Display for BroadcastStreamRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                BroadcastStreamRecvError::Lagged(n) => write!(f, "stream lagged, {n} values lost"),
            }
        }
    }

    impl std::error::Error for BroadcastStreamRecvError {}
}

use errors::BroadcastStreamRecvError;

/// Defines a wrapper that owns `$inner` and hands it back: `new`,
/// `into_inner`, `AsRef`, `AsMut`, `From`, `Debug`.
macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident $(<$g:ident>)?, $inner:ty, $what:literal) => {
        $(#[$doc])*
        pub struct $name $(<$g>)? {
            inner: $inner,
        }

        impl $(<$g>)? $name $(<$g>)? {
            #[doc = concat!("Wraps ", $what, ".")]
            pub fn new(inner: $inner) -> Self {
                $name { inner }
            }

            #[doc = concat!("Gives back ", $what, ".")]
            pub fn into_inner(self) -> $inner {
                self.inner
            }
        }

        impl $(<$g>)? AsRef<$inner> for $name $(<$g>)? {
            fn as_ref(&self) -> &$inner {
                &self.inner
            }
        }

        impl $(<$g>)? AsMut<$inner> for $name $(<$g>)? {
            fn as_mut(&mut self) -> &mut $inner {
                &mut self.inner
            }
        }

        impl $(<$g>)? From<$inner> for $name $(<$g>)? {
            fn from(inner: $inner) -> Self {
                $name { inner }
            }
        }

        impl $(<$g>)? fmt::Debug for $name $(<$g>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

wrapper!(
    /// An [`mpsc::Receiver`] as a [`Stream`] of its messages, ending once
    /// every sender is gone and the queue is drained.
    ReceiverStream<T>,
    mpsc::Receiver<T>,
    "the receiver"
);

// The receiver is only ever used through `&mut` (its `poll_recv`), never
// pinned: the wrapper may move freely whatever `T` is.
impl<T> Unpin for ReceiverStream<T> {}

impl<T> ReceiverStream<T> {
    /// Closes the channel to new messages; the stream still yields those
    /// queued (see [`mpsc::Receiver::close`]).
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }
}

wrapper!(
    /// An [`mpsc::UnboundedReceiver`] as a [`Stream`] of its messages.
    UnboundedReceiverStream<T>,
    mpsc::UnboundedReceiver<T>,
    "the receiver"
);

// As for `ReceiverStream`.
impl<T> Unpin for UnboundedReceiverStream<T> {}

impl<T> UnboundedReceiverStream<T> {
    /// Closes the channel to new messages; the stream still yields those
    /// queued.
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl<T> Stream for UnboundedReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }
}

/// A [`broadcast::Receiver`] as a [`Stream`]: each value sent, or
/// [`Lagged(n)`](BroadcastStreamRecvError::Lagged) where `n` values were
/// overwritten before it read them (then it goes on with the oldest still
/// held); it ends once every sender is gone and it has read everything.
pub struct BroadcastStream<T> {
    inner: broadcast::Receiver<T>,
}

impl<T: Clone + Send + 'static> BroadcastStream<T> {
    /// Wraps the receiver.
    pub fn new(inner: broadcast::Receiver<T>) -> BroadcastStream<T> {
        BroadcastStream { inner }
    }
}

impl<T> fmt::Debug for BroadcastStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastStream").finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> From<broadcast::Receiver<T>> for BroadcastStream<T> {
    fn from(inner: broadcast::Receiver<T>) -> Self {
        BroadcastStream::new(inner)
    }
}

impl<T: Clone + Send + 'static> Stream for BroadcastStream<T> {
    type Item = Result<T, BroadcastStreamRecvError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(match ready!(self.inner.poll_recv(cx)) {
            Ok(value) => Some(Ok(value)),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                Some(Err(BroadcastStreamRecvError::Lagged(n)))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        })
    }
}

/// A [`watch::Receiver`] as a [`Stream`] of its values (each cloned out
/// and marked seen): a value sent while the stream was not polled is
/// yielded once, the latest of a burst only. It ends once every sender is
/// gone.
pub struct WatchStream<T> {
    inner: watch::Receiver<T>,
    /// Yield the current value before waiting for a change.
    current_first: bool,
}

impl<T: Clone + Send + Sync + 'static> WatchStream<T> {
    /// A stream that yields the current value first, then each change.
    pub fn new(inner: watch::Receiver<T>) -> WatchStream<T> {
        WatchStream {
            inner,
            current_first: true,
        }
    }

    /// A stream that yields only values sent from now on (or a value the
    /// receiver had not seen yet), not the current one.
    pub fn from_changes(inner: watch::Receiver<T>) -> WatchStream<T> {
        WatchStream {
            inner,
            current_first: false,
        }
    }
}

impl<T> fmt::Debug for WatchStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStream").finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> Stream for WatchStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if !std::mem::take(&mut this.current_first) && ready!(this.inner.poll_changed(cx)).is_err()
        {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(this.inner.borrow_and_update().clone()))
    }
}

wrapper!(
    /// An [`Interval`] as a never-ending [`Stream`] of its ticks (the
    /// instant each was due), as its [`tick`](Interval::tick) gives them.
    IntervalStream,
    Interval,
    "the interval"
);

impl Stream for IntervalStream {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.inner.poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

wrapper!(
    /// A [`TcpListener`] as a never-ending [`Stream`] of accepted
    /// connections (an accept error is an item; the stream goes on).
    TcpListenerStream,
    TcpListener,
    "the listener"
);

impl Stream for TcpListenerStream {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_accept(cx)
            .map(|res| Some(res.map(|(stream, _)| stream)))
    }
}

wrapper!(
    /// A [`UnixListener`] as a never-ending [`Stream`] of accepted
    /// connections.
    UnixListenerStream,
    UnixListener,
    "the listener"
);

impl Stream for UnixListenerStream {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_accept(cx)
            .map(|res| Some(res.map(|(stream, _)| stream)))
    }
}

wrapper!(
    /// A [`Signal`] as a [`Stream`] yielding `()` for each delivery
    /// (deliveries between two polls count once, as for `recv`).
    SignalStream,
    Signal,
    "the signal listener"
);

impl Stream for SignalStream {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.inner.poll_recv(cx)
    }
}

wrapper!(
    /// A [`ReadDir`] as a [`Stream`] of its entries.
    ReadDirStream,
    ReadDir,
    "the directory listing"
);

impl Stream for ReadDirStream {
    type Item = io::Result<DirEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_entry(cx).map(Result::transpose)
    }
}

wrapper!(
    /// The [`Lines`] of a reader as a [`Stream`] of lines (without their
    /// `\n` or `\r\n`).
    LinesStream<R>,
    Lines<R>,
    "the line reader"
);

impl<R: AsyncBufRead + Unpin> Stream for LinesStream<R> {
    type Item = io::Result<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

wrapper!(
    /// The [`Split`] of a reader as a [`Stream`] of segments (without the
    /// delimiter).
    SplitStream<R>,
    Split<R>,
    "the segment reader"
);

impl<R: AsyncBufRead + Unpin> Stream for SplitStream<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}
