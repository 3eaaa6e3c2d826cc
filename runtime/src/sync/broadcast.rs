//! A multi-producer, multi-consumer broadcast channel: every value sent is
//! seen by every receiver alive when it was sent.
//!
//! The channel keeps the last `capacity` values (rounded up to a power of
//! two, as tokio does). A receiver that falls further behind loses the
//! oldest ones: its next `recv` returns [`RecvError::Lagged`]
//! with how many it missed, and the one after resumes at the oldest value
//! still kept. `recv` returns [`RecvError::Closed`]
//! once every sender is gone and the receiver has seen everything. Values
//! are cloned out to each receiver. The semantics are tokio's.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::broadcast;
//!
//! #[runtime::main]
//! async fn main() {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send(10).unwrap();
//!     assert_eq!(rx1.recv().await, Ok(10));
//!     assert_eq!(rx2.recv().await, Ok(10));
//! }
//! ```
//!
//! # Implementation
//!
//! A ring of `capacity` slots, each behind its own `parking_lot` mutex and
//! holding its position in the stream and how many receivers have yet to
//! see it (the value is dropped as soon as the last one has), and one more
//! mutex for the channel's state: the tail, the counts, and a slab of
//! wakers where a waiting receiver keeps one entry. Each receiver keeps its
//! own next position. A receive first locks only that position's slot; if
//! the slot holds it, that is the whole receive, so receivers on different
//! workers reading different positions mostly touch different cache lines.
//! Otherwise (not sent yet, or overwritten: lagged) it locks the state. A
//! send moves the tail and writes the slot under the state lock, so under
//! that lock a receiver's "nothing new, register" and a sender's "store,
//! wake everyone" cannot interleave, and no wake-up is lost. Wakers are
//! woken and evicted values dropped after the locks are released.
//!
//! Measured (`cargo run --release -p runtime-benches --bin sync_chan`: one
//! sender fans 2,000 values out to 100 receiver tasks, 2 workers, shared
//! 2-core machine): with one lock for everything, receivers on the two
//! workers fought over it (the lock's `cmpxchg` and `parking_lot`'s slow
//! path led the profile) and the channel did 46-52 M values/s
//! against tokio's 61-70 M; with a lock per slot, 101-118 M (1.5-1.9 x
//! tokio), over ten rounds of each. No runtime-agnostic crate has tokio's
//! lag semantics, so it is written here.

use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::shim::{Arc, Mutex};

/// The errors of a broadcast channel, as tokio's.
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// A send found no receiver; the value comes back.
    #[derive(Debug)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T: fmt::Debug> Error for SendError<T> {}

    /// Why [`recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender is gone and every value was seen.
        Closed,
        /// The receiver fell behind and this many values were lost to it;
        /// the next receive returns the oldest value still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl Error for RecvError {}

    /// Why [`try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// Nothing new now.
        Empty,
        /// Every sender is gone and every value was seen.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl Error for TryRecvError {}
}

use crate::sync::waker::{add_waker_once, set_keyed_waker};
use error::{RecvError, SendError, TryRecvError};

/// A broadcast channel keeping the last `capacity` values (rounded up to a
/// power of two).
///
/// # Panics
///
/// If `capacity` is 0 or above `usize::MAX / 2`.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast::{self, error::RecvError};
///
/// # #[runtime::main]
/// # async fn main() {
/// let (tx, mut rx) = broadcast::channel(2);
/// for i in 0..3 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
/// assert_eq!(rx.recv().await, Ok(1));
/// # }
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeded `usize::MAX / 2`"
    );
    let cap = capacity.next_power_of_two();
    let shared = Arc::new(Shared {
        ring: (0..cap).map(|_| Mutex::new(None)).collect(),
        state: Mutex::new(State {
            tail: 0,
            rx_count: 1,
            tx_count: 1,
            weak_count: 0,
            waiters: Slab::new(),
            tx_closed_waiters: Vec::new(),
        }),
    });
    let rx = Receiver {
        shared: shared.clone(),
        next: 0,
        key: None,
    };
    (Sender { shared }, rx)
}

struct Shared<T> {
    /// Position `p` lives in `ring[p % len]`; `None` once dropped (seen by
    /// every receiver counted) or never written. Each slot has its own
    /// lock; a sender takes it inside the `state` lock (never the other
    /// way round).
    ring: Box<[Mutex<Option<Slot<T>>>]>,
    state: Mutex<State>,
}

struct State {
    /// The next position to be written. A sender moves it and writes the
    /// slot under this lock, so a receiver holding it sees every position
    /// below `tail` in the ring (or overwritten, below `head`).
    tail: u64,
    /// Live receivers.
    rx_count: usize,
    /// Live senders.
    tx_count: usize,
    /// Live weak senders.
    weak_count: usize,
    /// Receivers waiting for a value (by their [`Receiver::key`]); a send
    /// takes every waker, leaving the entries.
    waiters: Slab<Option<Waker>>,
    /// `Sender::closed` futures waiting for the last receiver to go.
    tx_closed_waiters: Vec<Waker>,
}

struct Slot<T> {
    pos: u64,
    value: T,
    /// Receivers that have yet to see it.
    remaining: usize,
}

/// One receiver is done with the value in `slot`: returns it to drop if
/// that receiver was the last.
fn release<T>(slot: &mut Option<Slot<T>>) -> Option<T> {
    let s = slot.as_mut()?;
    s.remaining -= 1;
    if s.remaining == 0 {
        slot.take().map(|s| s.value)
    } else {
        None
    }
}

impl<T> Shared<T> {
    fn slot(&self, pos: u64) -> &Mutex<Option<Slot<T>>> {
        // The length is a power of two.
        &self.ring[(pos & (self.ring.len() as u64 - 1)) as usize]
    }

    /// The oldest position still in the ring; `st` is the locked state.
    fn head(&self, st: &State) -> u64 {
        st.tail.saturating_sub(self.ring.len() as u64)
    }

    /// One receiver is done with position `pos`: returns the value to drop
    /// if it was the last.
    fn seen(&self, pos: u64) -> Option<T> {
        let mut slot = self.slot(pos).lock();
        if slot.as_ref()?.pos != pos {
            return None;
        }
        release(&mut slot)
    }

    /// Values retained (not yet seen by all their receivers); `st` is the
    /// locked state.
    fn len(&self, st: &State) -> usize {
        (self.head(st)..st.tail)
            .filter(|&p| self.slot(p).lock().as_ref().is_some_and(|s| s.pos == p))
            .count()
    }
}

impl<T: Clone> Shared<T> {
    /// Position `pos`'s value, if its slot holds it, counting this receiver
    /// as done with it; with the value to drop if it was the last.
    fn read(&self, pos: u64) -> Option<(T, Option<T>)> {
        let mut slot = self.slot(pos).lock();
        let value = slot.as_ref().filter(|s| s.pos == pos)?.value.clone();
        Some((value, release(&mut slot)))
    }
}

/// Sends values to every receiver; clone it for more senders.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open;
/// [`upgrade`](Self::upgrade) it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> WeakSender<T> {
    /// A [`Sender`], unless every sender is gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut st = self.shared.state.lock();
        if st.tx_count == 0 {
            return None;
        }
        st.tx_count += 1;
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// Live senders.
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().tx_count
    }

    /// Live weak senders.
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_count
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().weak_count += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.state.lock().weak_count -= 1;
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::WeakSender")
    }
}

/// Receives every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The next position this receiver reads.
    next: u64,
    /// Its entry in [`State::waiters`], once it has waited.
    key: Option<usize>,
}

impl<T: Clone> Sender<T> {
    /// A sender with no receiver yet (subscribe some with
    /// [`subscribe`](Self::subscribe)), keeping `capacity` values as
    /// [`channel`] does.
    ///
    /// # Panics
    ///
    /// As [`channel`].
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        let (tx, rx) = channel(capacity);
        drop(rx);
        tx
    }
}

impl<T> Sender<T> {
    /// A [`WeakSender`] of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::broadcast::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.state.lock().weak_count += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// Live senders.
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().tx_count
    }

    /// Live weak senders.
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_count
    }

    /// Sends `value` to every live receiver and returns how many there are.
    ///
    /// # Errors
    ///
    /// If there is no receiver; `value` comes back.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::broadcast::channel(4);
    /// assert_eq!(tx.send(1).unwrap(), 1);
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (n, evicted, wakers) = {
            let mut st = self.shared.state.lock();
            if st.rx_count == 0 {
                return Err(SendError(value));
            }
            let pos = st.tail;
            let remaining = st.rx_count;
            st.tail += 1;
            let evicted = self.shared.slot(pos).lock().replace(Slot {
                pos,
                value,
                remaining,
            });
            let wakers: Vec<Waker> = st
                .waiters
                .iter_mut()
                .filter_map(|(_, w)| w.take())
                .collect();
            (remaining, evicted, wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
        drop(evicted);
        Ok(n)
    }

    /// A new receiver, which sees the values sent from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = self.shared.state.lock();
        st.rx_count += 1;
        Receiver {
            shared: self.shared.clone(),
            next: st.tail,
            key: None,
        }
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().rx_count
    }

    /// Values kept that some receiver has yet to see.
    pub fn len(&self) -> usize {
        let st = self.shared.state.lock();
        self.shared.len(&st)
    }

    /// Whether every value sent was seen by every receiver (or evicted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes when there is no receiver left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        poll_fn(|cx| {
            let mut st = self.shared.state.lock();
            if st.rx_count == 0 {
                return Poll::Ready(());
            }
            add_waker_once(&mut st.tx_closed_waiters, cx);
            Poll::Pending
        })
        .await
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().tx_count += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let wakers: Vec<Waker> = {
            let mut st = self.shared.state.lock();
            st.tx_count -= 1;
            if st.tx_count > 0 {
                return;
            }
            st.waiters
                .iter_mut()
                .filter_map(|(_, w)| w.take())
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Sender")
    }
}

impl<T> Receiver<T> {
    /// Values sent that this receiver has yet to read (including those it
    /// will find lost to lag).
    pub fn len(&self) -> usize {
        (self.shared.state.lock().tail - self.next) as usize
    }

    /// Whether there is nothing new for this receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (values may remain to be read).
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().tx_count == 0
    }

    /// Whether both receivers are of the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.state.lock().tx_count
    }

    /// A new receiver of the same channel, starting at the values sent from
    /// now on (not at this one's position).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx2.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut st = self.shared.state.lock();
        st.rx_count += 1;
        Receiver {
            shared: self.shared.clone(),
            next: st.tail,
            key: None,
        }
    }
}

impl<T: Clone> Receiver<T> {
    /// One step: the next value, a lag report, the end, or (with `cx`) a
    /// registered wait.
    fn poll_step(&mut self, cx: Option<&Context<'_>>) -> Poll<Result<T, TryRecvError>> {
        // Most receives find their value in its slot: one slot lock, not
        // the channel's. A slot that does not hold the position (not sent
        // yet, or overwritten) sends it to the state lock to find out which.
        if let Some((value, last)) = self.shared.read(self.next) {
            self.next += 1;
            drop(last);
            return Poll::Ready(Ok(value));
        }
        let (out, drop_value) = {
            let mut st = self.shared.state.lock();
            let head = self.shared.head(&st);
            if self.next < head {
                let missed = head - self.next;
                // The values it skips no longer count it as a reader: they
                // were overwritten, so there is nothing to release.
                self.next = head;
                return Poll::Ready(Err(TryRecvError::Lagged(missed)));
            }
            if self.next == st.tail {
                if st.tx_count == 0 {
                    return Poll::Ready(Err(TryRecvError::Closed));
                }
                if let Some(cx) = cx {
                    set_keyed_waker(&mut st.waiters, &mut self.key, cx);
                    return Poll::Pending;
                }
                return Poll::Ready(Err(TryRecvError::Empty));
            }
            // Sent since the slot was looked at: with the state locked, a
            // position between head and tail is in its slot.
            let Some(read) = self.shared.read(self.next) else {
                unreachable!("a position between head and tail is kept")
            };
            self.next += 1;
            read
        };
        drop(drop_value);
        Poll::Ready(Ok(out))
    }

    /// Receives the next value.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] if values were lost to this receiver (the next
    /// call resumes at the oldest kept), [`RecvError::Closed`] once every
    /// sender is gone and everything was read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `recv` read nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// let (tx, mut rx) = runtime::sync::broadcast::channel(4);
    /// runtime::spawn(async move { tx.send("hi").unwrap() });
    /// assert_eq!(rx.recv().await, Ok("hi"));
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll (for `stream::wrappers::BroadcastStream`):
    /// the waker waits under this receiver's key.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        let out = std::task::ready!(self.poll_step(Some(cx)));
        coop.made_progress();
        Poll::Ready(out.map_err(|e| match e {
            TryRecvError::Lagged(n) => RecvError::Lagged(n),
            _ => RecvError::Closed,
        }))
    }

    /// Receives the next value if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is new, otherwise as
    /// [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.poll_step(None) {
            Poll::Ready(out) => out,
            Poll::Pending => unreachable!("no context, no wait"),
        }
    }

    /// Receives on a thread outside any runtime, blocking it until a value
    /// comes.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        crate::sync::block::block_on("broadcast::Receiver::blocking_recv", self.recv())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (dropped, wakers) = {
            let mut st = self.shared.state.lock();
            st.rx_count -= 1;
            if let Some(k) = self.key.take() {
                st.waiters.remove(k);
            }
            // Release the values this receiver had yet to read.
            let from = self.next.max(self.shared.head(&st));
            let dropped: Vec<T> = (from..st.tail)
                .filter_map(|p| self.shared.seen(p))
                .collect();
            let wakers = if st.rx_count == 0 {
                std::mem::take(&mut st.tx_closed_waiters)
            } else {
                Vec::new()
            };
            (dropped, wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
        drop(dropped);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Receiver")
    }
}

#[cfg(all(test, runtime_loom))]
mod tests {
    use loom::future::block_on;
    use loom::sync::Arc;
    use loom::thread;

    use super::channel;
    use super::error::TryRecvError;

    /// A send from another thread against a receiver's wait, then the
    /// sender's drop.
    #[test]
    fn loom_send_vs_recv_then_close() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u8>(2);
            let t = thread::spawn(move || {
                tx.send(1).unwrap();
            });
            assert_eq!(block_on(rx.recv()), Ok(1));
            assert!(block_on(rx.recv()).is_err());
            t.join().unwrap();
        });
    }

    /// A receive from the slot against a send that overwrites that slot
    /// (capacity 1): the receiver reads the old value or is told it lagged,
    /// never anything else, and then reads the new one.
    #[test]
    fn loom_slot_read_vs_overwriting_send() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u8>(1);
            tx.send(1).unwrap();
            let t = thread::spawn(move || {
                tx.send(2).unwrap();
            });
            match rx.try_recv() {
                Ok(1) | Err(TryRecvError::Lagged(1)) => {}
                other => panic!("unexpected {other:?}"),
            }
            t.join().unwrap();
            assert_eq!(rx.try_recv(), Ok(2));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        });
    }

    /// Two receivers on two threads read one value from its slot: the
    /// channel's copy is dropped exactly once, by whichever is last.
    #[test]
    fn loom_last_reader_drops_the_value() {
        loom::model(|| {
            let (tx, mut rx1) = channel::<Arc<()>>(2);
            let mut rx2 = tx.subscribe();
            let value = Arc::new(());
            tx.send(value.clone()).unwrap();
            let t = thread::spawn(move || {
                drop(rx1.try_recv().unwrap());
            });
            drop(rx2.try_recv().unwrap());
            t.join().unwrap();
            assert_eq!(Arc::strong_count(&value), 1);
            drop(tx);
        });
    }
}
