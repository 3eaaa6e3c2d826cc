//! The bounded channel: [`channel`], [`Sender`], [`Receiver`], [`Permit`],
//! [`OwnedPermit`], [`WeakSender`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use super::chan::{wake, Acquire, Chan, Rx};
use super::error::{SendError, SendTimeoutError, TrySendError};
use super::receiver::{receiver_methods, sender_handles};
use crate::shim::Arc;

/// A bounded channel of `buffer` permits: at most `buffer` messages are
/// queued or reserved at a time, and a sender waits (in FIFO order) for
/// capacity when none is free.
///
/// # Panics
///
/// If `buffer` is 0.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// #[runtime::main]
/// async fn main() {
///     let (tx, mut rx) = mpsc::channel(8);
///     runtime::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// }
/// ```
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let chan = Arc::new(Chan::new(Some(buffer)));
    (
        Sender { chan: chan.clone() },
        Receiver { rx: Rx::new(chan) },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
///
/// The channel ends (the receiver's `recv` returns `None` once drained)
/// when every `Sender` is dropped.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade)
/// it to send.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// One reserved slot of capacity: [`send`](Self::send) uses it (without
/// waiting), dropping it gives it back.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// A reserved slot of capacity that owns its [`Sender`] (from
/// [`Sender::reserve_owned`]), so it can move into another task.
pub struct OwnedPermit<T> {
    /// `None` once used.
    sender: Option<Sender<T>>,
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    rx: Rx<T>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for capacity if none is free. Fails, handing
    /// `value` back, if the receiver is closed or gone.
    ///
    /// # Cancel safety
    ///
    /// Waiting senders are served in FIFO order; a `send` dropped while it
    /// waits loses its place in the queue, and `value`, but no capacity
    /// (a permit granted to it just before is passed on). If it is dropped
    /// before completing, `value` was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// tx.send("hello").await.unwrap();
    /// assert_eq!(rx.recv().await, Some("hello"));
    /// drop(rx);
    /// assert_eq!(tx.send("lost").await.unwrap_err().0, "lost");
    /// # }
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut acquire = Acquire::new(&self.chan);
        let mut value = Some(value);
        poll_fn(|cx| {
            acquire
                .poll_acquire(cx)
                .map(|r| push_acquired(r, value.take().expect("polled after completion")))
        })
        .await
    }

    /// As [`send`](Self::send), but gives up (handing `value` back) if no
    /// capacity comes free within `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] when the time ran out,
    /// [`SendTimeoutError::Closed`] when the receiver is closed or gone.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::sync::mpsc::{self, error::SendTimeoutError};
    ///
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, _rx) = mpsc::channel(1);
    /// tx.send(1).await.unwrap();
    /// let err = tx.send_timeout(2, Duration::from_millis(10)).await;
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// # }
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut acquire = Acquire::new(&self.chan);
        let mut value = Some(value);
        let mut sleep = pin!(crate::time::sleep(timeout));
        poll_fn(|cx| {
            if let Poll::Ready(r) = acquire.poll_acquire(cx) {
                let value = value.take().expect("polled after completion");
                return Poll::Ready(
                    push_acquired(r, value).map_err(|SendError(v)| SendTimeoutError::Closed(v)),
                );
            }
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(SendTimeoutError::Timeout(
                    value.take().expect("polled after completion"),
                ))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Sends `value` if capacity is free now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when no capacity is free,
    /// [`TrySendError::Closed`] when the receiver is closed or gone; both
    /// hand `value` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, _rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if st.permits == 0 {
            return Err(TrySendError::Full(value));
        }
        st.permits -= 1;
        match st.push(value) {
            Ok(w) => {
                drop(st);
                wake(w);
                Ok(())
            }
            Err(value) => {
                let w = st.release();
                drop(st);
                wake(w);
                Err(TrySendError::Closed(value))
            }
        }
    }

    /// Sends `value` from a thread outside any runtime, blocking it while
    /// capacity is full.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`): use [`send`](Self::send) there.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// let t = std::thread::spawn(move || tx.blocking_send(7).unwrap());
    /// let rt = runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rx.recv()), Some(7));
    /// t.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::block::block_on("Sender::blocking_send", self.send(value))
    }

    /// Waits for a slot of capacity and reserves it.
    ///
    /// # Errors
    ///
    /// If the receiver is closed or gone.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send): a dropped `reserve` loses its place in the
    /// queue but no capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// assert_eq!(tx.capacity(), 0);
    /// permit.send(5);
    /// assert_eq!(rx.recv().await, Some(5));
    /// # }
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        let mut acquire = Acquire::new(&self.chan);
        poll_fn(|cx| acquire.poll_acquire(cx).map(|r| r.map(drop)))
            .await
            .map_err(|()| SendError(()))?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` slots of capacity and reserves them all at once (the
    /// wait keeps its place in the FIFO queue while it collects them).
    ///
    /// # Errors
    ///
    /// If the receiver is closed or gone, or `n` exceeds
    /// [`max_capacity`](Self::max_capacity).
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve): a dropped wait passes on the permits
    /// it had collected.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(4);
    /// for (i, permit) in tx.reserve_many(3).await.unwrap().enumerate() {
    ///     permit.send(i);
    /// }
    /// assert_eq!(rx.len(), 3);
    /// # }
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        if n > 0 {
            let mut acquire = Acquire::many(&self.chan, n);
            poll_fn(|cx| acquire.poll_acquire(cx).map(|r| r.map(drop)))
                .await
                .map_err(|()| SendError(()))?;
        } else if self.is_closed() {
            return Err(SendError(()));
        }
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Reserves `n` slots if they are all free now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if fewer are free (or `n` exceeds
    /// [`max_capacity`](Self::max_capacity)), [`TrySendError::Closed`] if
    /// the receiver is closed or gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(2);
    /// let permits = tx.try_reserve_many(2).unwrap();
    /// assert_eq!(permits.len(), 2);
    /// assert!(tx.try_reserve_many(1).is_err());
    /// ```
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(TrySendError::Closed(()));
        }
        if n > self.max_capacity() || st.permits < n {
            return Err(TrySendError::Full(()));
        }
        st.permits -= n;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// As [`reserve`](Self::reserve), but the permit owns this sender.
    ///
    /// # Errors
    ///
    /// If the receiver is closed or gone (the sender is dropped).
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// runtime::spawn(async move { permit.send(1) });
    /// assert_eq!(rx.recv().await, Some(1));
    /// # }
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        {
            let mut acquire = Acquire::new(&self.chan);
            poll_fn(|cx| acquire.poll_acquire(cx).map(|r| r.map(drop)))
                .await
                .map_err(|()| SendError(()))?;
        }
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Reserves a slot if one is free now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], holding `()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.try_reserve().is_err());
    /// drop(permit);
    /// assert!(tx.try_reserve().is_ok());
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.try_take_permit()?;
        Ok(Permit { chan: &self.chan })
    }

    /// As [`try_reserve`](Self::try_reserve), but the permit owns this
    /// sender; on failure the sender comes back in the error.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], holding `self`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.try_take_permit() {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    fn try_take_permit(&self) -> Result<(), TrySendError<()>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(TrySendError::Closed(()));
        }
        if st.permits == 0 {
            return Err(TrySendError::Full(()));
        }
        st.permits -= 1;
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
    /// let (tx, rx) = runtime::sync::mpsc::channel::<()>(1);
    /// runtime::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&self) {
        Closed::new(&self.chan).await
    }

    /// Whether the receiver is closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::mpsc::channel::<()>(1);
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// The capacity free now: the bound less the queued messages and the
    /// outstanding permits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel(4);
    /// tx.try_send(()).unwrap();
    /// assert_eq!((tx.capacity(), tx.max_capacity()), (3, 4));
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.lock().permits
    }

    /// The bound given to [`channel`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<()>(4);
    /// assert_eq!(tx.max_capacity(), 4);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.bound.unwrap_or(usize::MAX)
    }
}

sender_handles!(Sender, WeakSender, "channel::<()>(1)");

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("max_capacity", &self.max_capacity())
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::closed`]: its waiter entry is removed on drop.
pub(super) struct Closed<'a, T> {
    chan: &'a Chan<T>,
    key: Option<usize>,
}

impl<'a, T> Closed<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Closed<'a, T> {
        Closed { chan, key: None }
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.chan.poll_closed(&mut this.key, cx)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.chan.drop_closed(self.key.take());
    }
}

pub(super) use Closed as ClosedFuture;

impl<T> Permit<'_, T> {
    /// Sends `value` in the reserved slot, without waiting. If the receiver
    /// was dropped meanwhile, `value` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// tx.reserve().await.unwrap().send(3);
    /// assert_eq!(rx.recv().await, Some(3));
    /// # }
    /// ```
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        send_with_permit(chan, value);
    }
}

/// Pushes `value` with the permit an [`Acquire`] took (its lock still
/// held), or hands it back if none could be taken.
fn push_acquired<T>(
    acquired: Result<crate::shim::MutexGuard<'_, super::chan::State<T>>, ()>,
    value: T,
) -> Result<(), SendError<T>> {
    match acquired {
        Ok(mut st) => match st.push(value) {
            Ok(w) => {
                drop(st);
                wake(w);
                Ok(())
            }
            Err(value) => {
                let w = st.release();
                drop(st);
                wake(w);
                Err(SendError(value))
            }
        },
        Err(()) => Err(SendError(value)),
    }
}

/// Pushes `value` with a permit already held; drops it (giving the permit
/// back) if the receiver is gone.
fn send_with_permit<T>(chan: &Chan<T>, value: T) {
    drop(push_acquired(Ok(chan.lock()), value));
}

/// Gives a permit back.
fn release_permit<T>(chan: &Chan<T>) {
    let w = chan.lock().release();
    wake(w);
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        release_permit(self.chan);
    }
}

/// Permits reserved together by [`Sender::reserve_many`] or
/// [`Sender::try_reserve_many`]: each item is one [`Permit`]; those not
/// taken are given back when it is dropped.
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    /// Permits not yet handed out.
    n: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            let wakers = self.chan.lock().release_many(self.n);
            wakers.into_iter().for_each(std::task::Waker::wake);
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("remaining", &self.n)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` in the reserved slot, without waiting, and returns the
    /// sender. If the receiver was dropped meanwhile, `value` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// let tx = tx.reserve_owned().await.unwrap().send(1);
    /// assert_eq!(rx.recv().await, Some(1));
    /// tx.send(2).await.unwrap();
    /// # }
    /// ```
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("an unused permit has its sender");
        send_with_permit(&sender.chan, value);
        sender
    }

    /// Gives the slot back unused and returns the sender.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<()>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// assert_eq!(permit.release().capacity(), 1);
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("an unused permit has its sender");
        release_permit(&sender.chan);
        sender
    }

    /// Whether both permits (or their senders) feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.sender, &other.sender) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            release_permit(&sender.chan);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    receiver_methods!("Receiver", "channel(4)", "tx.try_send(1).unwrap();");

    /// The capacity free now (see [`Sender::capacity`]).
    pub fn capacity(&self) -> usize {
        self.rx.chan.lock().permits
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.rx.chan.bound.unwrap_or(usize::MAX)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("max_capacity", &self.max_capacity())
            .finish_non_exhaustive()
    }
}
