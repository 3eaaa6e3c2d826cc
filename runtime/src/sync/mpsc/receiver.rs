//! The receiving API and the sender handles that [`Receiver`](super::Receiver) and
//! [`UnboundedReceiver`](super::UnboundedReceiver) share: one definition,
//! expanded into each type's `impl` block, over the type's `rx: Rx<T>`.
//!
//! The arguments: the type's name (for the `blocking_*` panic messages and
//! the docs), the expression that makes a channel in the doc examples, and
//! the statement that sends `1` without waiting (`try_send` on a bounded
//! channel, `send` on an unbounded one).

macro_rules! receiver_methods {
    ($name:literal, $make:literal, $send:literal) => {
        /// Receives the next message; `None` once every sender is gone (or
        /// the receiver closed and no permit is outstanding) and the queue is
        /// drained.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: a `recv` dropped before completing received nothing.
        ///
        /// # Examples
        ///
        /// ```
        /// # #[runtime::main]
        /// # async fn main() {
        #[doc = concat!("let (tx, mut rx) = runtime::sync::mpsc::", $make, ";")]
        #[doc = $send]
        /// drop(tx);
        /// assert_eq!(rx.recv().await, Some(1));
        /// assert_eq!(rx.recv().await, None);
        /// # }
        /// ```
        pub async fn recv(&mut self) -> Option<T> {
            std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
        }

        /// Receives up to `limit` messages into `buffer`, waiting for at
        /// least one; returns how many, 0 at the end of the stream (or when
        /// `limit` is 0).
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
        #[doc = concat!("let (tx, mut rx) = runtime::sync::mpsc::", $make, ";")]
        #[doc = $send]
        #[doc = $send]
        #[doc = $send]
        /// let mut buf = Vec::new();
        /// assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
        /// assert_eq!(buf, [1, 1]);
        /// # }
        /// ```
        pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
            std::future::poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
        }

        /// Receives a message if one is queued now.
        ///
        /// # Errors
        ///
        /// [`TryRecvError::Empty`](super::error::TryRecvError::Empty) when
        /// none is queued but more may come,
        /// [`TryRecvError::Disconnected`](super::error::TryRecvError::Disconnected)
        /// at the end of the stream.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::sync::mpsc::error::TryRecvError;
        ///
        #[doc = concat!("let (tx, mut rx) = runtime::sync::mpsc::", $make, ";")]
        /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        #[doc = $send]
        /// drop(tx);
        /// assert_eq!(rx.try_recv(), Ok(1));
        /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        /// ```
        pub fn try_recv(&mut self) -> Result<T, super::error::TryRecvError> {
            self.rx.try_recv()
        }

        /// Receives from a thread outside any runtime, blocking it until a
        /// message comes or the stream ends.
        ///
        /// # Panics
        ///
        /// If called on a thread that drives a runtime: use
        /// [`recv`](Self::recv) there.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("let (tx, mut rx) = runtime::sync::mpsc::", $make, ";")]
        /// let t = std::thread::spawn(move || rx.blocking_recv());
        #[doc = $send]
        /// assert_eq!(t.join().unwrap(), Some(1));
        /// ```
        #[track_caller]
        pub fn blocking_recv(&mut self) -> Option<T> {
            crate::sync::block::block_on(concat!($name, "::blocking_recv"), self.recv())
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
                concat!($name, "::blocking_recv_many"),
                self.recv_many(buffer, limit),
            )
        }

        /// Polls for the next message: the poll form of [`recv`](Self::recv),
        /// which registers `cx`'s waker when nothing is queued.
        pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
            self.rx.poll_recv(cx)
        }

        /// The poll form of [`recv_many`](Self::recv_many).
        pub fn poll_recv_many(
            &mut self,
            cx: &mut std::task::Context<'_>,
            buffer: &mut Vec<T>,
            limit: usize,
        ) -> std::task::Poll<usize> {
            self.rx.poll_recv_many(cx, buffer, limit)
        }

        /// Closes the channel to new messages: sends (and waiting senders)
        /// fail from now on, while the queued messages, and those sent
        /// through permits already held, can still be received.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("let (tx, mut rx) = runtime::sync::mpsc::", $make, ";")]
        #[doc = $send]
        /// rx.close();
        /// assert!(tx.is_closed());
        /// assert_eq!(rx.try_recv(), Ok(1));
        /// assert!(rx.try_recv().is_err());
        /// ```
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

        /// Whether the channel is closed: [`close`](Self::close) was called,
        /// or every sender is gone. (Queued messages may remain.)
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
    };
}

pub(super) use receiver_methods;

/// The handle plumbing that [`Sender`](super::Sender) /
/// [`WeakSender`](super::WeakSender) and
/// [`UnboundedSender`](super::UnboundedSender) /
/// [`WeakUnboundedSender`](super::WeakUnboundedSender) share: counting
/// clones and drops, downgrading and upgrading, the counts. Both types hold
/// `chan: Arc<Chan<T>>`; `$tx` counts as a sender, `$weak` does not keep
/// the channel open; `$make` makes a channel of `()` in the doc example.
macro_rules! sender_handles {
    ($tx:ident, $weak:ident, $make:literal) => {
        impl<T> $tx<T> {
            #[doc = concat!("A [`", stringify!($weak), "`] of this channel.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = runtime::sync::mpsc::", $make, ";")]
            /// let weak = tx.downgrade();
            /// assert!(weak.upgrade().is_some());
            /// drop(tx);
            /// assert!(weak.upgrade().is_none());
            /// ```
            pub fn downgrade(&self) -> $weak<T> {
                self.chan.inc_weak();
                $weak {
                    chan: self.chan.clone(),
                }
            }

            /// Whether both senders feed the same channel.
            pub fn same_channel(&self, other: &Self) -> bool {
                crate::shim::Arc::ptr_eq(&self.chan, &other.chan)
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

        impl<T> Clone for $tx<T> {
            fn clone(&self) -> Self {
                self.chan.inc_tx();
                $tx {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $tx<T> {
            fn drop(&mut self) {
                self.chan.dec_tx();
            }
        }

        impl<T> $weak<T> {
            #[doc = concat!("A [`", stringify!($tx), "`], unless every strong sender is gone.")]
            pub fn upgrade(&self) -> Option<$tx<T>> {
                self.chan.try_inc_tx().then(|| $tx {
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

        impl<T> Clone for $weak<T> {
            fn clone(&self) -> Self {
                self.chan.inc_weak();
                $weak {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $weak<T> {
            fn drop(&mut self) {
                self.chan.dec_weak();
            }
        }

        impl<T> std::fmt::Debug for $weak<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($weak)).finish_non_exhaustive()
            }
        }
    };
}

pub(super) use sender_handles;
