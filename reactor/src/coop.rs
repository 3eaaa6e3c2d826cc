//! The cooperative budget: how many reactor-backed operations one task poll
//! may complete before it must yield.
//!
//! An always-ready socket would otherwise let one task loop forever inside a
//! single `poll`, starving every other task on its worker (and timers). The
//! scheduler, which knows nothing of sockets, calls [`budget`] around each task
//! poll; the I/O layer, which knows nothing of schedulers, calls
//! [`poll_proceed`] before each operation. The counter is a thread-local here,
//! in the lowest crate both sides share.
//!
//! Outside a budgeted poll (a plain `block_on` of a foreign executor, say)
//! operations are unconstrained.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units granted to each task poll.
pub const BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained. `Some(n)`: `n` operations left in this poll.
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with a fresh budget of [`BUDGET`] units,
/// restoring the previous budget afterwards (polls may nest).
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|r| r.replace(Some(BUDGET))));
    f()
}

/// Runs `f` without a budget (operations inside never yield for budget).
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|r| r.replace(None)));
    f()
}

/// Consumes one unit. When the budget is spent, wakes the task (so it is
/// polled again after the others) and returns `Pending`.
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    REMAINING.with(|r| match r.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            r.set(Some(n - 1));
            Poll::Ready(())
        }
    })
}

/// Whether the current poll still has budget (or is unconstrained).
pub fn has_budget_remaining() -> bool {
    REMAINING.with(|r| r.get() != Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_runs_out_and_is_restored() {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            poll_proceed(&mut cx).is_ready(),
            "unconstrained outside a budget"
        );
        budget(|| {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut cx).is_ready());
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
            unconstrained(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(poll_proceed(&mut cx).is_pending());
        });
        assert!(has_budget_remaining());
    }
}
