//! Runtime-agnostic synchronisation for the benchmark cases.
//!
//! Built on `std` and [`Waker`] only, so that it costs the same under every
//! runtime: what a case measures is the scheduler, not the channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Locks `m`, ignoring poisoning (a panicking case aborts the run anyway).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores `cx`'s waker in `slot` unless an equivalent one is already there.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// A countdown latch: [`wait`](Latch::wait) completes once
/// [`count_down`](Latch::count_down) has been called `n` times.
///
/// One task may wait at a time (the last waker registered is the one woken).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime_benches::chan::Latch;
///
/// let latch = Arc::new(Latch::new(2));
/// for _ in 0..2 {
///     let l = latch.clone();
///     std::thread::spawn(move || l.count_down());
/// }
/// smol::block_on(latch.wait());
/// ```
#[derive(Debug)]
pub struct Latch {
    count: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Latch {
    /// A latch that opens after `n` calls to [`count_down`](Latch::count_down).
    pub fn new(n: usize) -> Latch {
        Latch {
            count: AtomicUsize::new(n),
            waker: Mutex::new(None),
        }
    }

    /// Counts one down; the last one wakes the waiter.
    ///
    /// # Panics
    ///
    /// If called more often than the latch's count (in debug builds).
    pub fn count_down(&self) {
        let prev = self.count.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(prev > 0, "Latch counted down below zero");
        if prev == 1 {
            let waker = lock(&self.waker).take();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Completes when the count has reached zero.
    pub fn wait(&self) -> LatchWait<'_> {
        LatchWait { latch: self }
    }
}

/// The future returned by [`Latch::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct LatchWait<'a> {
    latch: &'a Latch,
}

impl Future for LatchWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let latch = self.latch;
        if latch.count.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        let mut waker = lock(&latch.waker);
        register(&mut waker, cx);
        // Checked again under the lock: a `count_down` that reached zero
        // before we stored the waker is seen here, one after finds it.
        if latch.count.load(Ordering::Acquire) == 0 {
            waker.take();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// A reusable one-slot channel between one sender and one receiver: the
/// building block of the ping-pong case.
///
/// # Examples
///
/// ```
/// use runtime_benches::chan::Mailbox;
///
/// let mb = Mailbox::new();
/// mb.send(7).unwrap();
/// assert_eq!(mb.send(8), Err(8)); // full
/// assert_eq!(smol::block_on(mb.recv()), 7);
/// ```
#[derive(Debug)]
pub struct Mailbox<T> {
    state: Mutex<Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox::new()
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox.
    pub fn new() -> Mailbox<T> {
        Mailbox {
            state: Mutex::new(Slot {
                value: None,
                waker: None,
            }),
        }
    }

    /// Puts `value` in the slot and wakes the receiver.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the slot is still full.
    pub fn send(&self, value: T) -> Result<(), T> {
        let waker = {
            let mut slot = lock(&self.state);
            if slot.value.is_some() {
                return Err(value);
            }
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Completes with the next value put in the slot.
    pub fn recv(&self) -> Recv<'_, T> {
        Recv { mailbox: self }
    }
}

/// The future returned by [`Mailbox::recv`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    mailbox: &'a Mailbox<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = lock(&self.mailbox.state);
        if let Some(v) = slot.value.take() {
            return Poll::Ready(v);
        }
        register(&mut slot.waker, cx);
        Poll::Pending
    }
}
