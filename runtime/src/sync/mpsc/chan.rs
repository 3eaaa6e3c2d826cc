//! The state both halves of an mpsc channel share, bounded or not.
//!
//! # Protocol
//!
//! One lock ([`Chan::state`]) guards the queue, the permit count, the
//! waiting senders and the receiver's waker, so every decision ("is there a
//! permit?", "is the queue empty and every sender gone?") is taken on one
//! consistent snapshot and no wake-up can fall between a check and the
//! registration of a waker: a receiver that finds the queue empty stores its
//! waker before it unlocks, and a sender pushes and takes that waker under
//! the same lock. Wakers are woken, and values dropped, only after the lock
//! is released (a value's `Drop` may touch this very channel).
//!
//! The critical sections are a few instructions long; the receiver of an
//! unbounded channel moves the whole queue out in one lock (see
//! [`Rx::local`]), so a busy consumer takes the lock once per batch, not
//! once per message.
//!
//! # Permits (bounded channels)
//!
//! `permits` is the capacity not held by a queued message, a [`Permit`]
//! or a sender granted permits but not yet polled. A released permit goes
//! to the oldest waiting sender first (FIFO, as in tokio), so a newcomer can
//! take one only when nobody waits; a sender waiting for several
//! (`reserve_many`) collects them one by one at the head of the queue. A
//! waiting sender is an entry of `waiters`, its key in `wait_queue` until it
//! has all it asked for; the future that owns the entry removes it when it
//! completes or is dropped, and a dropped future passes the permits it had
//! collected on: no capacity is lost.
//!
//! Loom models: `loom_*` in `super::tests`.
//!
//! [`Permit`]: super::Permit

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::error::TryRecvError;
use crate::shim::{Arc, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::sync::waker::{set_keyed_waker, set_waker};

/// The shared part of a channel.
pub(super) struct Chan<T> {
    /// Everything the two sides decide on (see the module's protocol).
    pub(super) state: Mutex<State<T>>,
    /// `Some(capacity)` for a bounded channel.
    pub(super) bound: Option<usize>,
    /// Live strong senders. Once zero it stays zero (`upgrade` never
    /// resurrects it), and the sender that made it zero sets
    /// [`State::tx_gone`].
    tx_count: AtomicUsize,
    /// Live weak senders, for `weak_count`.
    tx_weak: AtomicUsize,
}

/// What [`Chan::state`] guards.
pub(super) struct State<T> {
    /// Sent, not yet received.
    pub(super) queue: VecDeque<T>,
    /// The receiver, when it found nothing to receive.
    rx_waker: Option<Waker>,
    /// `close()` was called or the receiver dropped: sends fail.
    pub(super) rx_closed: bool,
    /// The receiver is gone: a value sent through an outstanding permit is
    /// dropped at once.
    rx_dropped: bool,
    /// Every strong sender is gone.
    pub(super) tx_gone: bool,
    /// Bounded: capacity free for the taking.
    pub(super) permits: usize,
    /// Bounded: senders waiting for a permit, or granted one.
    waiters: Slab<Waiter>,
    /// Keys of the `waiters` not yet granted, oldest first.
    wait_queue: VecDeque<usize>,
    /// `Sender::closed` futures waiting for the receiver to close.
    closed_waiters: Slab<Option<Waker>>,
}

/// A sender waiting for a permit.
struct Waiter {
    waker: Option<Waker>,
    /// Permits it asked for.
    needed: usize,
    /// Permits handed to it so far (it owns them); complete at `needed`.
    granted: usize,
}

impl<T> State<T> {
    /// Gives one permit back: to the oldest waiter, or to the pool. Returns
    /// the waker to wake once unlocked.
    pub(super) fn release(&mut self) -> Option<Waker> {
        if !self.rx_closed {
            if let Some(&key) = self.wait_queue.front() {
                let waiter = &mut self.waiters[key];
                waiter.granted += 1;
                if waiter.granted < waiter.needed {
                    return None;
                }
                let w = waiter.waker.take();
                self.wait_queue.pop_front();
                return w;
            }
        }
        self.permits += 1;
        // After `close`, the receiver waits for the outstanding permits to
        // be used or dropped before it reports the end.
        if self.rx_closed {
            self.rx_waker.take()
        } else {
            None
        }
    }

    /// Gives `n` permits back, as [`release`](Self::release) does each.
    pub(super) fn release_many(&mut self, n: usize) -> Vec<Waker> {
        (0..n).filter_map(|_| self.release()).collect()
    }

    /// Pushes `value` (whose permit, if bounded, is already taken) and
    /// returns the receiver's waker; or hands `value` back if the receiver
    /// is gone.
    pub(super) fn push(&mut self, value: T) -> Result<Option<Waker>, T> {
        if self.rx_dropped {
            return Err(value);
        }
        self.queue.push_back(value);
        Ok(self.rx_waker.take())
    }
}

/// Wakes `w` if there is one.
pub(super) fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl<T> Chan<T> {
    /// A channel with one strong sender; `bound` as in [`Chan::bound`].
    pub(super) fn new(bound: Option<usize>) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                rx_waker: None,
                rx_closed: false,
                rx_dropped: false,
                tx_gone: false,
                permits: bound.unwrap_or(0),
                waiters: Slab::new(),
                wait_queue: VecDeque::new(),
                closed_waiters: Slab::new(),
            }),
            bound,
            tx_count: AtomicUsize::new(1),
            tx_weak: AtomicUsize::new(0),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    /// A new strong sender (a clone of a live one).
    pub(super) fn inc_tx(&self) {
        self.tx_count.fetch_add(1, Ordering::Relaxed);
    }

    /// A strong sender is dropped: the last one ends the stream.
    pub(super) fn dec_tx(&self) {
        if self.tx_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let w = {
                let mut st = self.lock();
                st.tx_gone = true;
                st.rx_waker.take()
            };
            wake(w);
        }
    }

    /// A new strong sender from a weak one, unless every strong one is gone.
    pub(super) fn try_inc_tx(&self) -> bool {
        let mut n = self.tx_count.load(Ordering::Acquire);
        loop {
            if n == 0 {
                return false;
            }
            match self
                .tx_count
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
    }

    pub(super) fn strong_count(&self) -> usize {
        self.tx_count.load(Ordering::Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.tx_weak.load(Ordering::Acquire)
    }

    pub(super) fn inc_weak(&self) {
        self.tx_weak.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn dec_weak(&self) {
        self.tx_weak.fetch_sub(1, Ordering::Relaxed);
    }

    /// Closes the receiving side (`close`, or the receiver's drop): sends
    /// fail from now on, waiting senders and `closed()` futures wake.
    fn close_locked(st: &mut State<T>) -> Vec<Waker> {
        st.rx_closed = true;
        let mut wakers = Vec::new();
        for key in st.wait_queue.drain(..) {
            if let Some(w) = st.waiters[key].waker.take() {
                wakers.push(w);
            }
        }
        for (_, slot) in st.closed_waiters.iter_mut() {
            if let Some(w) = slot.take() {
                wakers.push(w);
            }
        }
        wakers
    }

    pub(super) fn close(&self) {
        let wakers = Self::close_locked(&mut self.lock());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The receiver is dropped: close, and drop what is queued (outside the
    /// lock), giving its permits back.
    pub(super) fn rx_drop(&self, local: VecDeque<T>) {
        let (wakers, queued) = {
            let mut st = self.lock();
            let wakers = Self::close_locked(&mut st);
            st.rx_dropped = true;
            st.rx_waker = None;
            let queued = std::mem::take(&mut st.queue);
            if self.bound.is_some() {
                st.permits += queued.len() + local.len();
            }
            (wakers, queued)
        };
        wakers.into_iter().for_each(Waker::wake);
        drop(local);
        drop(queued);
    }

    pub(super) fn is_rx_closed(&self) -> bool {
        self.lock().rx_closed
    }

    /// Whether the receiver should report the end of the stream: nothing
    /// queued (the caller checked), and either no sender can send again or
    /// the receiver closed and no permit is outstanding.
    fn ended(&self, st: &State<T>) -> bool {
        st.tx_gone
            || (st.rx_closed
                && match self.bound {
                    Some(cap) => st.permits == cap,
                    None => true,
                })
    }

    /// Registers the receiver's waker (after finding nothing).
    fn park_rx(st: &mut State<T>, cx: &Context<'_>) {
        set_waker(&mut st.rx_waker, cx);
    }

    /// Polls a `Sender::closed` future whose waiter key is `key`.
    pub(super) fn poll_closed(&self, key: &mut Option<usize>, cx: &Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if st.rx_closed {
            if let Some(k) = key.take() {
                st.closed_waiters.remove(k);
            }
            return Poll::Ready(());
        }
        set_keyed_waker(&mut st.closed_waiters, key, cx);
        Poll::Pending
    }

    /// A `Sender::closed` future is dropped.
    pub(super) fn drop_closed(&self, key: Option<usize>) {
        if let Some(k) = key {
            self.lock().closed_waiters.remove(k);
        }
    }
}

/// A bounded sender's wait for one permit: its entry in
/// [`State::waiters`], removed when it completes or is dropped.
pub(super) struct Acquire<'a, T> {
    pub(super) chan: &'a Chan<T>,
    key: Option<usize>,
    /// Permits to take (at least 1).
    n: usize,
}

impl<'a, T> Acquire<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Acquire<'a, T> {
        Acquire::many(chan, 1)
    }

    /// A wait for `n` (>= 1, at most the bound) permits at once.
    pub(super) fn many(chan: &'a Chan<T>, n: usize) -> Acquire<'a, T> {
        Acquire { chan, key: None, n }
    }

    /// Takes the permits (returning the lock still held, so the caller may
    /// push at once), or `Err` once the receiver is closed.
    pub(super) fn poll_acquire(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<MutexGuard<'a, State<T>>, ()>> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        let mut st = self.chan.lock();
        if let Some(key) = self.key {
            let waiter = &st.waiters[key];
            if waiter.granted == waiter.needed {
                st.waiters.remove(key);
                self.key = None;
                coop.made_progress();
                return Poll::Ready(Ok(st));
            }
            if st.rx_closed {
                // `close` already took the key out of the queue; what it had
                // collected goes back to the pool.
                let waiter = st.waiters.remove(key);
                st.permits += waiter.granted;
                self.key = None;
                let w = st.rx_waker.take();
                drop(st);
                wake(w);
                coop.made_progress();
                return Poll::Ready(Err(()));
            }
            set_waker(&mut st.waiters[key].waker, cx);
            return Poll::Pending;
        }
        if st.rx_closed {
            coop.made_progress();
            return Poll::Ready(Err(()));
        }
        if st.permits >= self.n {
            st.permits -= self.n;
            coop.made_progress();
            return Poll::Ready(Ok(st));
        }
        // Take what is free (nobody waits, or it would be 0) and queue for
        // the rest.
        let granted = std::mem::take(&mut st.permits);
        let key = st.waiters.insert(Waiter {
            waker: Some(cx.waker().clone()),
            needed: self.n,
            granted,
        });
        st.wait_queue.push_back(key);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<T> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let wakers = {
            let mut st = self.chan.lock();
            let waiter = st.waiters.remove(key);
            if waiter.granted < waiter.needed {
                if let Some(pos) = st.wait_queue.iter().position(|&k| k == key) {
                    st.wait_queue.remove(pos);
                }
            }
            // Pass the permits it collected on: a dropped wait loses no
            // capacity.
            st.release_many(waiter.granted)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The receiving end's own state, shared by `Receiver` and
/// `UnboundedReceiver`.
pub(super) struct Rx<T> {
    pub(super) chan: Arc<Chan<T>>,
    /// Unbounded only: messages moved out of the shared queue in one lock,
    /// received from here without locking. (A bounded channel releases a
    /// permit per message, which needs the lock anyway, so it does not
    /// batch.)
    pub(super) local: VecDeque<T>,
}

impl<T> Rx<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Rx<T> {
        Rx {
            chan,
            local: VecDeque::new(),
        }
    }

    /// Receives up to `limit` (>= 1) messages into `out` (`None`: one,
    /// returned). Returns the count received, 0 at the end of the stream.
    fn poll_take(
        &mut self,
        cx: &mut Context<'_>,
        mut out: Option<(&mut Vec<T>, usize)>,
    ) -> Poll<Result<usize, Option<T>>> {
        let coop = std::task::ready!(runtime_reactor::coop::poll_proceed(cx));
        if !self.local.is_empty() {
            coop.made_progress();
            return Poll::Ready(match out {
                None => Err(self.local.pop_front()),
                Some((buf, limit)) => {
                    let n = limit.min(self.local.len());
                    buf.extend(self.local.drain(..n));
                    Ok(n)
                }
            });
        }
        let mut st = self.chan.lock();
        if st.queue.is_empty() {
            if self.chan.ended(&st) {
                coop.made_progress();
                return Poll::Ready(match out {
                    None => Err(None),
                    Some(_) => Ok(0),
                });
            }
            Chan::park_rx(&mut st, cx);
            return Poll::Pending;
        }
        coop.made_progress();
        if self.chan.bound.is_none() {
            std::mem::swap(&mut self.local, &mut st.queue);
            drop(st);
            return Poll::Ready(match out.take() {
                None => Err(self.local.pop_front()),
                Some((buf, limit)) => {
                    let n = limit.min(self.local.len());
                    buf.extend(self.local.drain(..n));
                    Ok(n)
                }
            });
        }
        match out {
            None => {
                let v = st.queue.pop_front();
                let w = st.release();
                drop(st);
                wake(w);
                Poll::Ready(Err(v))
            }
            Some((buf, limit)) => {
                let n = limit.min(st.queue.len());
                let mut wakers = Vec::new();
                for _ in 0..n {
                    let v = st.queue.pop_front().expect("counted");
                    buf.push(v);
                    if let Some(w) = st.release() {
                        wakers.push(w);
                    }
                }
                drop(st);
                wakers.into_iter().for_each(Waker::wake);
                Poll::Ready(Ok(n))
            }
        }
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_take(cx, None).map(|r| match r {
            Err(v) => v,
            Ok(_) => unreachable!("a single receive returns its value"),
        })
    }

    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        self.poll_take(cx, Some((buf, limit))).map(|r| match r {
            Ok(n) => n,
            Err(_) => unreachable!("a batch receive returns a count"),
        })
    }

    /// A queued message, or why there is none.
    pub(super) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(v) = self.local.pop_front() {
            return Ok(v);
        }
        let mut st = self.chan.lock();
        match st.queue.pop_front() {
            Some(v) => {
                let w = if self.chan.bound.is_some() {
                    st.release()
                } else {
                    std::mem::swap(&mut self.local, &mut st.queue);
                    None
                };
                drop(st);
                wake(w);
                Ok(v)
            }
            None if self.chan.ended(&st) => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.local.len() + self.chan.lock().queue.len()
    }

    pub(super) fn is_closed(&self) -> bool {
        let st = self.chan.lock();
        st.rx_closed || st.tx_gone
    }
}

impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.chan.rx_drop(std::mem::take(&mut self.local));
    }
}
