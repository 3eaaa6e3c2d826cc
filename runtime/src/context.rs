//! The thread-local view of "which runtime am I in".

use std::cell::{Cell, RefCell};

use crate::scheduler;

thread_local! {
    /// The handle of the runtime whose thread (or `block_on`) this is.
    static CURRENT: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
    /// Whether this thread is inside `block_on` or is a worker: blocking
    /// here again would deadlock.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// Restores the previous handle when dropped.
#[derive(Debug)]
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Makes `handle` the current runtime of this thread until the guard drops.
///
/// During the thread's TLS destruction (a `Runtime` owned by a thread-local
/// and dropped by its destructor, after `CURRENT` is gone) this does
/// nothing: the caller runs without a current runtime instead of panicking
/// in a TLS destructor, which would abort the process.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CURRENT
        .try_with(|c| c.borrow_mut().replace(handle.clone()))
        .ok()
        .flatten();
    SetCurrentGuard { prev }
}

/// The current runtime's handle, if any.
pub(crate) fn current() -> Option<scheduler::Handle> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Marks the thread as driving a runtime until the guard drops.
#[derive(Debug)]
pub(crate) struct EnterRuntimeGuard {
    _private: (),
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = IN_RUNTIME.try_with(|c| c.set(false));
    }
}

/// Enters "runtime mode" on this thread.
///
/// # Panics
///
/// If the thread already drives a runtime: blocking it would stall every
/// task on it (and could deadlock), so this is refused loudly.
#[track_caller]
pub(crate) fn enter_runtime() -> EnterRuntimeGuard {
    if IN_RUNTIME.with(|c| c.replace(true)) {
        panic!(
            "cannot block on a future from inside a runtime: this thread is already driving \
             asynchronous tasks (a `block_on` inside a task or inside another `block_on`). \
             Use `.await` instead, or `spawn_blocking` to run blocking code elsewhere."
        );
    }
    EnterRuntimeGuard { _private: () }
}

/// Whether this thread drives a runtime now.
pub(crate) fn in_runtime() -> bool {
    IN_RUNTIME.try_with(Cell::get).unwrap_or(false)
}

/// Temporarily leaves runtime mode (for `block_in_place`).
pub(crate) fn exit_runtime<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = IN_RUNTIME.try_with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(IN_RUNTIME.with(|c| c.replace(false)));
    f()
}
