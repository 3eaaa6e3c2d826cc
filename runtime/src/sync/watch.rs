//! A single-value channel whose receivers see the latest value: senders
//! replace (or modify) it, receivers read it and wait for it to change.
//!
//! Each receiver remembers the version it has seen; [`Receiver::changed`]
//! completes once a newer one is there (and marks it seen), and fails once
//! every sender is gone with nothing new. Intermediate values may be
//! skipped: a receiver sees the newest, not every one. The semantics are
//! tokio's.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::watch;
//!
//! #[runtime::main]
//! async fn main() {
//!     let (tx, mut rx) = watch::channel("starting");
//!     runtime::spawn(async move {
//!         tx.send("ready").unwrap();
//!     });
//!     rx.changed().await.unwrap();
//!     assert_eq!(*rx.borrow_and_update(), "ready");
//! }
//! ```
//!
//! # Implementation
//!
//! The value sits behind a read-write lock (so any number of receivers may
//! hold a [`Ref`] at once); the version, the counts and the wakers of the
//! waiting receivers sit behind one small mutex. A sender bumps the version
//! while it still holds the write lock, so a reader, which reads the
//! version while it holds the read lock, always pairs a value with its own
//! version. The lock order is value, then state. As with tokio, holding a
//! [`Ref`] across an `.await`, or while sending on the same thread,
//! deadlocks. Written here (no runtime-agnostic crate has this shape); not
//! benchmarked yet.

use std::fmt;
use std::future::poll_fn;
use std::ops::Deref;
use std::task::{Poll, Waker};

use slab::Slab;

use crate::shim::{Arc, Mutex};

#[cfg(not(runtime_loom))]
type RwLock<T> = parking_lot::RwLock<T>;
#[cfg(not(runtime_loom))]
type ReadGuard<'a, T> = parking_lot::RwLockReadGuard<'a, T>;
#[cfg(runtime_loom)]
type RwLock<T> = loom::sync::RwLock<T>;
#[cfg(runtime_loom)]
type ReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;

fn read<T>(lock: &RwLock<T>) -> ReadGuard<'_, T> {
    #[cfg(not(runtime_loom))]
    return lock.read();
    #[cfg(runtime_loom)]
    return lock.read().unwrap();
}

/// The errors of a watch channel, as tokio's.
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// A send found no receiver; the value comes back (and was not
    /// stored).
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> Error for SendError<T> {}

    /// Every sender is gone (and, for `changed`, nothing new is there).
    #[derive(Debug, Clone)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl Error for RecvError {}
}

use crate::sync::waker::{add_waker_once, set_keyed_waker};
use error::{RecvError, SendError};

struct Shared<T> {
    value: RwLock<T>,
    state: Mutex<State>,
}

struct State {
    /// Bumped by every send (under the value's write lock).
    version: u64,
    /// Every sender is gone.
    closed: bool,
    rx_count: usize,
    tx_count: usize,
    /// Receivers waiting in `changed`, by their [`Receiver::key`].
    rx_waiters: Slab<Option<Waker>>,
    /// `Sender::closed` futures waiting for the last receiver to go.
    tx_waiters: Vec<Waker>,
}

/// A new channel holding `init`.
///
/// # Examples
///
/// ```
/// let (tx, rx) = runtime::sync::watch::channel(0);
/// tx.send(1).unwrap();
/// assert_eq!(*rx.borrow(), 1);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: Mutex::new(State {
            version: 0,
            closed: false,
            rx_count: 1,
            tx_count: 1,
            rx_waiters: Slab::new(),
            tx_waiters: Vec::new(),
        }),
    });
    let rx = Receiver {
        shared: shared.clone(),
        version: 0,
        key: None,
    };
    (Sender { shared }, rx)
}

/// Replaces or modifies the value; clone it for more senders.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Reads the value and waits for it to change; clone it for more
/// receivers (a clone has seen what this one has).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    version: u64,
    /// Its entry in [`State::rx_waiters`], once it has waited.
    key: Option<usize>,
}

/// A read of the value: the lock is held while it lives, so keep it short
/// (never across an `.await`).
pub struct Ref<'a, T> {
    guard: ReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was one the receiver had not seen when it read
    /// it (always `false` from [`Sender::borrow`]). Only
    /// [`Receiver::borrow_and_update`] (and `wait_for`) also mark it seen.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> Sender<T> {
    /// A sender with no receiver yet (subscribe some with
    /// [`subscribe`](Self::subscribe)).
    pub fn new(init: T) -> Sender<T> {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Replaces the value and notifies the receivers.
    ///
    /// # Errors
    ///
    /// If there is no receiver: `value` comes back and is not stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// assert_eq!(*tx.borrow(), 1);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.state.lock().rx_count == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place and notifies the receivers, whether or
    /// not there are any.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value in place; notifies the receivers only if `modify`
    /// returns `true`, which is also returned.
    ///
    /// # Panics
    ///
    /// If `modify` panics, the panic goes on with nothing notified; the
    /// value may have been partly modified.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(1);
    /// assert!(!tx.send_if_modified(|v| false));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| { *v = 2; true }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let wakers: Vec<Waker> = {
            #[cfg(not(runtime_loom))]
            let mut guard = self.shared.value.write();
            #[cfg(runtime_loom)]
            let mut guard = self.shared.value.write().unwrap();
            if !modify(&mut guard) {
                return false;
            }
            let mut st = self.shared.state.lock();
            st.version = st.version.wrapping_add(1);
            let wakers = st
                .rx_waiters
                .iter_mut()
                .filter_map(|(_, w)| w.take())
                .collect();
            drop(st);
            drop(guard);
            wakers
        };
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// Replaces the value, notifies the receivers (whether or not there are
    /// any) and returns the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let tx = runtime::sync::watch::Sender::new(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|v| std::mem::swap(v, &mut value));
        value
    }

    /// Reads the value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: read(&self.shared.value),
            has_changed: false,
        }
    }

    /// Whether there is no receiver.
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().rx_count == 0
    }

    /// Completes when there is no receiver left.
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
    /// let (tx, rx) = runtime::sync::watch::channel(());
    /// runtime::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// # }
    /// ```
    pub async fn closed(&self) {
        poll_fn(|cx| {
            let mut st = self.shared.state.lock();
            if st.rx_count == 0 {
                return Poll::Ready(());
            }
            add_waker_once(&mut st.tx_waiters, cx);
            Poll::Pending
        })
        .await
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = self.shared.state.lock();
        st.rx_count += 1;
        Receiver {
            shared: self.shared.clone(),
            version: st.version,
            key: None,
        }
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().rx_count
    }

    /// Live senders.
    pub fn sender_count(&self) -> usize {
        self.shared.state.lock().tx_count
    }

    /// Whether both senders are of the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
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
            st.closed = true;
            st.rx_waiters
                .iter_mut()
                .filter_map(|(_, w)| w.take())
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Reads the value without marking it seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(0);
    /// tx.send(5).unwrap();
    /// assert_eq!(*rx.borrow(), 5);
    /// assert!(rx.has_changed().unwrap(), "still unseen");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = read(&self.shared.value);
        let has_changed = self.shared.state.lock().version != self.version;
        Ref { guard, has_changed }
    }

    /// Reads the value and marks it seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::watch::channel(0);
    /// tx.send(5).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = read(&self.shared.value);
        let version = self.shared.state.lock().version;
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// Whether a value this receiver has not seen is there.
    ///
    /// # Errors
    ///
    /// If every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let st = self.shared.state.lock();
        if st.closed {
            return Err(RecvError(()));
        }
        Ok(st.version != self.version)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed
    }

    /// Marks the current value unseen: the next [`changed`](Self::changed)
    /// completes at once.
    pub fn mark_changed(&mut self) {
        self.version = self.shared.state.lock().version.wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state.lock().version;
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    ///
    /// # Errors
    ///
    /// If every sender is gone and nothing new is there.
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
    /// let (tx, mut rx) = runtime::sync::watch::channel(0);
    /// runtime::spawn(async move { tx.send(1).unwrap() });
    /// rx.changed().await.unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// assert!(rx.changed().await.is_err(), "the sender is gone");
    /// # }
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        changed(&self.shared, &mut self.version, &mut self.key).await
    }

    /// [`changed`](Self::changed) as a poll (for
    /// `stream::wrappers::WatchStream`).
    pub(crate) fn poll_changed(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<(), RecvError>> {
        poll_changed(&self.shared, &mut self.version, &mut self.key, cx)
    }

    /// Waits until the value satisfies `f` (checking the current one
    /// first), marks it seen and returns it.
    ///
    /// # Errors
    ///
    /// If every sender is gone before a value satisfies `f`.
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
    /// let (tx, mut rx) = runtime::sync::watch::channel(0);
    /// runtime::spawn(async move {
    ///     for i in 1..=5 {
    ///         tx.send(i).unwrap();
    ///         runtime::task::yield_now().await;
    ///     }
    /// });
    /// assert!(*rx.wait_for(|v| *v >= 3).await.unwrap() >= 3);
    /// # }
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Split the borrow: the returned guard borrows `shared` while the
        // waits update `version` and `key`.
        let Receiver {
            shared,
            version,
            key,
        } = self;
        let shared: &Shared<T> = shared;
        let mut closed = false;
        loop {
            {
                let guard = read(&shared.value);
                let now = shared.state.lock().version;
                let has_changed = now != *version;
                *version = now;
                if (!closed || has_changed) && f(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            closed = changed(shared, version, key).await.is_err();
        }
    }

    /// Whether both receivers are of the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// [`Receiver::changed`] on the receiver's fields, so that `wait_for` can
/// hold a read of the value between waits.
async fn changed<T>(
    shared: &Shared<T>,
    version: &mut u64,
    key: &mut Option<usize>,
) -> Result<(), RecvError> {
    poll_fn(|cx| poll_changed(shared, version, key, cx)).await
}

fn poll_changed<T>(
    shared: &Shared<T>,
    version: &mut u64,
    key: &mut Option<usize>,
    cx: &mut std::task::Context<'_>,
) -> Poll<Result<(), RecvError>> {
    let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
    let mut st = shared.state.lock();
    if st.version != *version {
        *version = st.version;
        coop.made_progress();
        return Poll::Ready(Ok(()));
    }
    if st.closed {
        coop.made_progress();
        return Poll::Ready(Err(RecvError(())));
    }
    set_keyed_waker(&mut st.rx_waiters, key, cx);
    Poll::Pending
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().rx_count += 1;
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
            key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let wakers = {
            let mut st = self.shared.state.lock();
            st.rx_count -= 1;
            if let Some(k) = self.key.take() {
                st.rx_waiters.remove(k);
            }
            if st.rx_count == 0 {
                std::mem::take(&mut st.tx_waiters)
            } else {
                Vec::new()
            }
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(all(test, runtime_loom))]
mod tests {
    use loom::future::block_on;
    use loom::thread;

    use super::channel;

    /// A send from another thread against `changed`, then the sender's
    /// drop: the receiver sees the value with its own version, then the end.
    #[test]
    fn loom_send_vs_changed() {
        loom::model(|| {
            let (tx, mut rx) = channel(0u8);
            let t = thread::spawn(move || tx.send(1).unwrap());
            block_on(rx.changed()).unwrap();
            assert_eq!(*rx.borrow_and_update(), 1);
            assert!(block_on(rx.changed()).is_err());
            t.join().unwrap();
        });
    }
}
