//! Parking a scheduler thread, and blocking a thread on one future.
//!
//! The parker itself is the reactor crate's
//! ([`runtime_reactor::drive::Parker`]): a thread may park inside the
//! reactor, so parking is part of the driving protocol written down (and
//! modelled with loom) there. This module adds [`park_block_on`], which
//! blocks a thread that runs no tasks on one future.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

pub(crate) use runtime_reactor::drive::{Parker, Unparker};

use std::sync::Arc;

use crate::shim::{AtomicBool, Ordering};

/// The waker of a `block_on` future: a flag, then an unpark.
pub(crate) struct MainWaker {
    pub(crate) woken: AtomicBool,
    pub(crate) unparker: Unparker,
}

impl MainWaker {
    /// A waker whose first poll is due (`woken` is set).
    pub(crate) fn new(unparker: Unparker) -> Arc<MainWaker> {
        Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            unparker,
        })
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.unparker.unpark();
    }
}

/// Blocks the thread on `future` without running any tasks.
pub(crate) fn park_block_on<F: Future>(future: F) -> F::Output {
    let parker = Parker::new();
    let main = MainWaker::new(parker.unparker());
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if main.woken.swap(false, Ordering::AcqRel) {
            // Budgeted like a task poll, so an always-ready operation in the
            // future yields and a `timeout` around it can fire.
            if let Poll::Ready(v) = runtime_reactor::coop::budget(|| future.as_mut().poll(&mut cx))
            {
                return v;
            }
        } else {
            parker.park();
        }
    }
}
