//! `Builder::unhandled_panic(UnhandledPanic::ShutdownRuntime)`: the first
//! spawned task whose poll panics shuts the runtime down, on either
//! flavor.
//!
//! The task's harness calls [`Schedule::unhandled_panic`] before it
//! completes the task; the first such call
//! [shuts the runtime down](PanicShutdown::shut_down): it cancels every
//! task the scheduler owns (closing the list, so later spawns are dropped
//! at once), and then marks the runtime's [`PanicShutdown`] fired. Each `block_on` of such a runtime
//! runs its future inside [`AbortOnPanic`], whose waker is registered here:
//! finishing wakes it, and its next poll (also the first poll of any later
//! `block_on`) panics instead of polling the future. Tasks that were idle
//! are gone by then; one running on another worker is cancelled when its
//! poll returns.
//!
//! [`Schedule::unhandled_panic`]: crate::task::Schedule::unhandled_panic

use crate::shim::{AtomicBool, Ordering};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::task::OwnedTasks;
use slab::Slab;

/// What `block_on` panics with once a spawned task has panicked.
pub(crate) const MESSAGE: &str =
    "a spawned task panicked and the runtime is configured to shut down on unhandled panic";

/// One runtime's record of an unhandled panic, and the `block_on` calls
/// to wake when it happens.
pub(crate) struct PanicShutdown {
    /// Taken by the first panic.
    claimed: AtomicBool,
    /// Set once the tasks are cancelled: `block_on` panics from then on.
    fired: AtomicBool,
    /// The wakers of the `block_on` futures running now, one slot each.
    waiters: Mutex<Slab<Waker>>,
}

impl PanicShutdown {
    pub(crate) fn new() -> PanicShutdown {
        PanicShutdown {
            claimed: AtomicBool::new(false),
            fired: AtomicBool::new(false),
            waiters: Mutex::new(Slab::new()),
        }
    }

    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// A spawned task of the scheduler owning `owned` panicked: the first
    /// time, cancels every task in `owned` (closing it to new ones) and
    /// then makes every `block_on` panic.
    pub(crate) fn shut_down(&self, owned: &OwnedTasks) {
        if !self.claimed.swap(true, Ordering::AcqRel) {
            owned.close_and_shutdown();
            self.finish();
        }
    }

    /// The tasks are cancelled: every `block_on` panics from now on, and
    /// those waiting are woken to do so.
    fn finish(&self) {
        self.fired.store(true, Ordering::Release);
        let wakers: Vec<Waker> = self.waiters.lock().drain().collect();
        for w in wakers {
            w.wake();
        }
    }
}

/// A `block_on` future of a runtime that shuts down on unhandled panics.
pub(crate) struct AbortOnPanic<'a, F> {
    future: F,
    state: &'a PanicShutdown,
    /// This future's slot in `state.waiters`, once registered.
    slot: Option<usize>,
}

impl<'a, F: Future> AbortOnPanic<'a, F> {
    pub(crate) fn new(future: F, state: &'a PanicShutdown) -> AbortOnPanic<'a, F> {
        AbortOnPanic {
            future,
            state,
            slot: None,
        }
    }
}

impl<F: Future> Future for AbortOnPanic<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is pinned structurally: never moved out of a
        // pinned `self` (the `Drop` below touches only `state` and `slot`).
        let me = unsafe { self.get_unchecked_mut() };
        if me.state.fired() {
            panic!("{MESSAGE}");
        }
        {
            let mut waiters = me.state.waiters.lock();
            match me.slot {
                Some(i) if waiters.contains(i) => {
                    if !waiters[i].will_wake(cx.waker()) {
                        waiters[i] = cx.waker().clone();
                    }
                }
                _ => me.slot = Some(waiters.insert(cx.waker().clone())),
            }
        }
        // Fired between the check and the registration: its wake-up may
        // have missed this waker.
        if me.state.fired() {
            panic!("{MESSAGE}");
        }
        // SAFETY: as above.
        unsafe { Pin::new_unchecked(&mut me.future) }.poll(cx)
    }
}

impl<F> Drop for AbortOnPanic<'_, F> {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let mut waiters = self.state.waiters.lock();
            if waiters.contains(i) {
                waiters.remove(i);
            }
        }
    }
}
