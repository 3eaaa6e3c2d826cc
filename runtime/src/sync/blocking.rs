//! Waiting on a future from a thread that is not driving a runtime, for the
//! `blocking_*` methods.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes by unparking the blocked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parking between polls.
///
/// # Panics
///
/// If this thread drives a runtime (inside a task or a `block_on`): blocking
/// it would stall every task on it.
#[track_caller]
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let _entered = crate::context::enter_runtime(false);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}
