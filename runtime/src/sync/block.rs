//! Blocking the current (non-runtime) thread on a future, for the
//! `blocking_*` methods of the channels.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::context::{self, EnterRuntime};

/// Wakes the thread blocked in [`block_on`].
struct ThreadWaker {
    thread: Thread,
    /// Set by a wake, cleared by the blocked thread before it polls again, so
    /// a wake between a poll and the park is not lost (`park` returns at
    /// once if unparked since).
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }
}

/// Panics if this thread drives a runtime: blocking it would stall the very
/// tasks that could complete the wait.
#[track_caller]
pub(crate) fn assert_not_in_runtime(what: &str) {
    if context::entered() != EnterRuntime::NotEntered {
        panic!(
            "`{what}` called from inside an asynchronous execution context: it would block the \
             thread that runs the tasks which could end the wait. Use the async method with \
             `.await` instead, or call it from `spawn_blocking` or a plain thread."
        );
    }
}

/// Runs `future` to completion on this thread, parking between polls.
///
/// # Panics
///
/// If the thread drives a runtime (see [`assert_not_in_runtime`]).
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    assert_not_in_runtime(what);
    let mut future = pin!(future);
    let unparker = Arc::new(ThreadWaker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        while !unparker.notified.swap(false, Ordering::AcqRel) {
            thread::park();
        }
    }
}
