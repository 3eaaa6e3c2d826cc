//! Small probes: wake-ups of a waker, drops of a future, polls of a future,
//! and the message of a panic payload.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// Counts how often its wakers are woken.
#[derive(Debug, Default)]
pub struct WakeCounter {
    wakes: AtomicUsize,
}

impl WakeCounter {
    /// A new counter and a waker that increments it.
    pub fn new() -> (Arc<WakeCounter>, Waker) {
        let counter = Arc::new(WakeCounter::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    /// How many wake-ups so far.
    pub fn count(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts drops of the [`DropGuard`]s it hands out.
#[derive(Clone, Debug, Default)]
pub struct DropCounter {
    drops: Arc<AtomicUsize>,
}

impl DropCounter {
    /// A counter at zero.
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A guard that increments this counter when dropped.
    pub fn guard(&self) -> DropGuard {
        DropGuard {
            drops: self.drops.clone(),
        }
    }

    /// How many guards were dropped so far.
    pub fn count(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

/// Increments its [`DropCounter`] when dropped; move it into a future to
/// count that future's drops.
#[derive(Debug)]
pub struct DropGuard {
    drops: Arc<AtomicUsize>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that counts how often it is polled (in a shared counter), to
/// check that a parked operation is not polled in a loop.
#[derive(Debug)]
pub struct PollCounter<F> {
    inner: std::pin::Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> PollCounter<F> {
    /// Wraps `inner`; returns the wrapper and its counter.
    pub fn new(inner: F) -> (PollCounter<F>, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        (
            PollCounter {
                inner: Box::pin(inner),
                polls: polls.clone(),
            },
            polls,
        )
    }
}

impl<F: Future> Future for PollCounter<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// The message of a panic payload (`&str` or `String`), if it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}
