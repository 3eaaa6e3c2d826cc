//! Blocking the current (non-runtime) thread on a future, for the
//! `blocking_*` methods of the channels.

use std::future::Future;

use crate::context::{self, EnterRuntime};

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

/// Runs `future` to completion on this thread, parking between polls (the
/// scheduler's own [`park_block_on`](crate::scheduler::park::park_block_on)).
///
/// # Panics
///
/// If the thread drives a runtime (see [`assert_not_in_runtime`]).
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    assert_not_in_runtime(what);
    crate::scheduler::park::park_block_on(future)
}
