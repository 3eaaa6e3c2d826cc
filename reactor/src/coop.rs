//! The cooperative budget: how many operations that made progress one task
//! poll may complete before it must yield.
//!
//! An always-ready socket would otherwise let one task loop forever inside a
//! single `poll`, starving every other task on its worker (and timers). The
//! scheduler, which knows nothing of sockets, calls [`budget`] around each task
//! poll; the I/O layer, which knows nothing of schedulers, calls
//! [`poll_proceed`] before each operation. The counter is a thread-local here,
//! in the lowest crate both sides share.
//!
//! # Only progress is charged
//!
//! [`poll_proceed`] takes a unit and hands back a [`RestoreOnPending`] guard.
//! The operation calls [`made_progress`](RestoreOnPending::made_progress) when
//! it completes (with a value or an error); if it returns `Pending` instead,
//! the guard gives the unit back when dropped. So a task that polls many idle
//! sockets in one poll (a `select` over 500 reads) spends nothing and parks,
//! while one that keeps completing operations runs out after [`BUDGET`] of
//! them and yields. Charging every poll, ready or not, made the first task
//! spin: after 128 idle reads it was woken at once, only to poll the same 128
//! idle reads again. tokio's `coop::poll_proceed` has the same contract.
//!
//! Outside a budgeted poll (a plain `block_on` of a foreign executor, say) and
//! inside [`unconstrained`], operations never yield for budget.

use std::cell::Cell;
use std::fmt;
use std::task::{Context, Poll};

/// Units granted to each task poll.
pub const BUDGET: u8 = 128;

/// Polls that [`poll_proceed`] ended for want of budget, in the process
/// (rare: at most one per 128 operations of a task's poll).
static FORCED_YIELDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times an operation found its task's budget spent and made it
/// yield, in the whole process, since it started.
pub fn forced_yield_count() -> u64 {
    FORCED_YIELDS.load(std::sync::atomic::Ordering::Relaxed)
}

thread_local! {
    /// `None`: unconstrained. `Some(n)`: `n` operations left in this poll.
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Sets the budget to `value` until dropped, then puts the previous one back
/// (so budgeted and unconstrained polls may nest).
struct SetBudget(Option<u8>);

impl SetBudget {
    fn new(value: Option<u8>) -> SetBudget {
        SetBudget(REMAINING.with(|r| r.replace(value)))
    }
}

impl Drop for SetBudget {
    fn drop(&mut self) {
        REMAINING.with(|r| r.set(self.0));
    }
}

/// Runs `f` (one task poll) with a fresh budget of [`BUDGET`] units,
/// restoring the previous budget afterwards (polls may nest).
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    let _restore = SetBudget::new(Some(BUDGET));
    f()
}

/// Runs `f` without a budget (operations inside never yield for budget),
/// restoring the previous budget afterwards.
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    let _restore = SetBudget::new(None);
    f()
}

/// Takes one unit of the budget for an operation about to be attempted.
///
/// When the budget is spent, wakes the task (so it is polled again after the
/// others) and returns `Pending`. Otherwise the unit is taken and the guard
/// returned: call [`RestoreOnPending::made_progress`] if the operation
/// completes; dropping the guard without it gives the unit back.
///
/// # Examples
///
/// ```
/// use std::task::{ready, Context, Poll};
/// use runtime_reactor::coop;
///
/// fn poll_op(cx: &mut Context<'_>, ready_now: bool) -> Poll<()> {
///     let coop = ready!(coop::poll_proceed(cx));
///     if !ready_now {
///         return Poll::Pending; // `coop` gives its unit back
///     }
///     coop.made_progress();
///     Poll::Ready(())
/// }
/// # let mut cx = Context::from_waker(std::task::Waker::noop());
/// # assert!(poll_op(&mut cx, true).is_ready());
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    // A thread being torn down has no budget left to consult: unconstrained.
    let taken = REMAINING.try_with(|r| match r.get() {
        None => Some(false),
        Some(0) => None,
        Some(n) => {
            r.set(Some(n - 1));
            Some(true)
        }
    });
    match taken {
        Ok(None) => {
            FORCED_YIELDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Ok(Some(taken)) => Poll::Ready(RestoreOnPending {
            taken: Cell::new(taken),
        }),
        Err(_) => Poll::Ready(RestoreOnPending {
            taken: Cell::new(false),
        }),
    }
}

/// Takes one unit for an operation that always completes at once (an
/// in-memory reader or writer): [`poll_proceed`] followed by
/// [`made_progress`](RestoreOnPending::made_progress).
pub fn poll_proceed_and_make_progress(cx: &mut Context<'_>) -> Poll<()> {
    poll_proceed(cx).map(|coop| coop.made_progress())
}

/// Whether the current poll still has budget (or is unconstrained).
pub fn has_budget_remaining() -> bool {
    REMAINING.try_with(|r| r.get() != Some(0)).unwrap_or(true)
}

/// One unit of budget taken by [`poll_proceed`]: given back when dropped,
/// unless [`made_progress`](RestoreOnPending::made_progress) was called.
#[must_use = "dropping the guard at once gives the unit back: keep it until the operation \
              completes and call `made_progress`"]
pub struct RestoreOnPending {
    /// Whether a unit is still owed back: set when one was taken from a
    /// budget (not when unconstrained), cleared by `made_progress`.
    taken: Cell<bool>,
}

impl RestoreOnPending {
    /// The operation completed (with a value or an error): keep the unit
    /// spent.
    pub fn made_progress(&self) {
        self.taken.set(false);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if !self.taken.get() {
            return;
        }
        // Give the unit back to the budget in force now. The guard is not
        // `Send` and lives inside one poll, so that is the budget it came
        // from; inside an `unconstrained` section there is nothing to refund.
        let _ = REMAINING.try_with(|r| {
            if let Some(n) = r.get() {
                r.set(Some(n.saturating_add(1).min(BUDGET)));
            }
        });
    }
}

impl fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreOnPending")
            .field("owed", &self.taken.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn remaining() -> Option<u8> {
        REMAINING.with(Cell::get)
    }

    /// Spends one unit as a completed operation does.
    fn spend(cx: &mut Context<'_>) -> bool {
        match poll_proceed(cx) {
            Poll::Ready(coop) => {
                coop.made_progress();
                true
            }
            Poll::Pending => false,
        }
    }

    #[test]
    fn budget_runs_out_and_is_restored() {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(spend(&mut cx), "unconstrained outside a budget");
        budget(|| {
            for _ in 0..BUDGET {
                assert!(spend(&mut cx));
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
            unconstrained(|| assert!(spend(&mut cx)));
            assert!(poll_proceed(&mut cx).is_pending());
        });
        assert!(has_budget_remaining());
        assert_eq!(remaining(), None);
    }

    #[test]
    fn a_pending_operation_gives_its_unit_back() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            // Far more idle operations than the budget: none is charged.
            for _ in 0..10 * BUDGET as usize {
                let Poll::Ready(coop) = poll_proceed(&mut cx) else {
                    panic!("an idle operation spent the budget");
                };
                assert_eq!(
                    remaining(),
                    Some(BUDGET - 1),
                    "the unit is taken while held"
                );
                drop(coop);
                assert_eq!(remaining(), Some(BUDGET), "and given back on drop");
            }
            // Progress is charged.
            assert!(spend(&mut cx));
            assert_eq!(remaining(), Some(BUDGET - 1));
        });
    }

    #[test]
    fn a_spent_budget_wakes_the_task_and_a_refund_lets_it_proceed() {
        let (counter, waker) = wake_counter();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            for _ in 0..BUDGET - 1 {
                assert!(spend(&mut cx));
            }
            let Poll::Ready(last) = poll_proceed(&mut cx) else {
                panic!("the last unit was refused");
            };
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(counter.get(), 1, "a spent budget wakes the task");
            drop(last);
            assert!(has_budget_remaining(), "the held unit came back");
            assert!(spend(&mut cx));
            assert_eq!(counter.get(), 1);
        });
    }

    #[test]
    fn a_guard_taken_unconstrained_refunds_nothing() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            assert!(spend(&mut cx));
            let coop = unconstrained(|| match poll_proceed(&mut cx) {
                Poll::Ready(coop) => coop,
                Poll::Pending => unreachable!("unconstrained"),
            });
            drop(coop);
            assert_eq!(remaining(), Some(BUDGET - 1));
            assert!(poll_proceed_and_make_progress(&mut cx).is_ready());
            assert_eq!(remaining(), Some(BUDGET - 2));
        });
    }

    /// Counts the wake-ups of the waker made by [`wake_counter`].
    struct WakeCount(std::sync::atomic::AtomicUsize);

    impl WakeCount {
        fn get(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl std::task::Wake for WakeCount {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn wake_counter() -> (std::sync::Arc<WakeCount>, Waker) {
        let count = std::sync::Arc::new(WakeCount(std::sync::atomic::AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }
}
