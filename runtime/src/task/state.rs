//! The task state word: one atomic `usize` holding the lifecycle bits and the
//! reference count.
//!
//! | bit | name | set by | meaning |
//! |---|---|---|---|
//! | 0 | `RUNNING` | the thread that polls (or cancels) the task | it alone may touch the future |
//! | 1 | `COMPLETE` | that thread, when the future is gone | the output (or the `JoinError`) is stored |
//! | 2 | `NOTIFIED` | a wake | a `Notified` for the task exists, or will be made when the running poll ends |
//! | 3 | `CANCELLED` | `abort()` or shutdown | the next poll drops the future instead |
//! | 4 | `JOIN_INTEREST` | spawn; cleared when the `JoinHandle` drops | whoever is last of handle and task drops the output |
//! | 5 | `JOIN_WAKER` | the `JoinHandle` after writing its waker | the task may read the join waker (and the handle may not write it) |
//! | 6.. | refcount | | one per `Task`/`Notified`/`Waker`/`JoinHandle` and one held by the owned-task list |
//!
//! A task starts with three references (the owned-task list, the
//! `JoinHandle`, the first `Notified`) and `JOIN_INTEREST | NOTIFIED`.

use crate::shim::{AtomicUsize, Ordering};

pub(crate) const RUNNING: usize = 1 << 0;
pub(crate) const COMPLETE: usize = 1 << 1;
pub(crate) const NOTIFIED: usize = 1 << 2;
pub(crate) const CANCELLED: usize = 1 << 3;
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
pub(crate) const JOIN_WAKER: usize = 1 << 5;
const REF_SHIFT: usize = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// The atomic state of one task.
#[derive(Debug)]
pub(crate) struct State(AtomicUsize);

/// A copy of the state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn has(self, bit: usize) -> bool {
        self.0 & bit != 0
    }
    #[cfg(test)]
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

/// What the caller of [`State::transition_to_running`] must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Success,
    /// The task was cancelled: drop the future and complete.
    Cancelled,
    /// Already running or complete: drop the `Notified`'s reference.
    Failed,
}

/// What the caller of [`State::transition_to_idle`] must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Drop the reference the poll held.
    Ok,
    /// Woken while running: submit the reference as a new `Notified`.
    OkNotified,
    /// Cancelled while running: still `RUNNING`; drop the future and complete.
    Cancelled,
}

/// What a waker must do after marking the task notified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Nothing (already notified, running or complete).
    DoNothing,
    /// Submit a `Notified` to the scheduler.
    Submit,
    /// The reference dropped was the last: free the task.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State(AtomicUsize::new((3 * REF_ONE) | JOIN_INTEREST | NOTIFIED))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` until the compare-exchange succeeds; `f` returns the new
    /// value (or `None` to leave it) and a result.
    fn update<R>(&self, mut f: impl FnMut(usize) -> (Option<usize>, R)) -> R {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, res) = f(cur);
            let Some(next) = next else { return res };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return res,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A `Notified` is being run: takes `RUNNING` and clears `NOTIFIED`.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|cur| {
            if cur & (RUNNING | COMPLETE) != 0 {
                return (None, ToRunning::Failed);
            }
            let next = (cur | RUNNING) & !NOTIFIED;
            let res = if cur & CANCELLED != 0 {
                ToRunning::Cancelled
            } else {
                ToRunning::Success
            };
            (Some(next), res)
        })
    }

    /// The poll returned `Pending`: releases `RUNNING` unless cancelled.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|cur| {
            debug_assert!(cur & RUNNING != 0);
            if cur & CANCELLED != 0 {
                return (None, ToIdle::Cancelled);
            }
            let next = cur & !RUNNING & !NOTIFIED;
            if cur & NOTIFIED != 0 {
                // The poll's reference becomes the new `Notified`'s; the bit
                // is set again below so that wakes meanwhile are absorbed.
                (Some(next | NOTIFIED), ToIdle::OkNotified)
            } else {
                (Some(next), ToIdle::Ok)
            }
        })
    }

    /// The future is gone and its result stored: `RUNNING` → `COMPLETE`.
    /// Returns the state before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.has(RUNNING) && !prev.has(COMPLETE));
        prev
    }

    /// A waker consumed by `wake()`: its reference is either handed to a new
    /// `Notified` (`Submit`) or dropped.
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotified {
        self.update(|cur| {
            if cur & RUNNING != 0 {
                // The running poll reschedules; drop the waker's reference
                // (never the last: the poll holds one).
                (Some((cur | NOTIFIED) - REF_ONE), ToNotified::DoNothing)
            } else if cur & (COMPLETE | NOTIFIED) != 0 {
                let next = cur - REF_ONE;
                let res = if next >> REF_SHIFT == 0 {
                    ToNotified::Dealloc
                } else {
                    ToNotified::DoNothing
                };
                (Some(next), res)
            } else {
                // A reference for the `Notified`: the waker keeps its own
                // until `schedule` has returned, since the moment the task
                // is queued another thread may run it to completion and
                // drop every other reference, while `schedule` is still
                // reading the scheduler handle that lives in the task.
                (Some((cur | NOTIFIED) + REF_ONE), ToNotified::Submit)
            }
        })
    }

    /// `wake_by_ref()`: like the above, taking a new reference for `Submit`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.update(|cur| {
            if cur & (COMPLETE | NOTIFIED) != 0 {
                (None, ToNotified::DoNothing)
            } else if cur & RUNNING != 0 {
                (Some(cur | NOTIFIED), ToNotified::DoNothing)
            } else {
                (Some((cur | NOTIFIED) + REF_ONE), ToNotified::Submit)
            }
        })
    }

    /// `abort()`: marks the task cancelled; returns `true` if the caller must
    /// submit a `Notified` (a reference was taken for it) so that a worker
    /// drops the future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.update(|cur| {
            if cur & (COMPLETE | CANCELLED) != 0 {
                (None, false)
            } else if cur & (RUNNING | NOTIFIED) != 0 {
                // Whoever runs next (the current poll, or the queued
                // `Notified`) sees CANCELLED.
                (Some(cur | CANCELLED | NOTIFIED), false)
            } else {
                (Some((cur | CANCELLED | NOTIFIED) + REF_ONE), true)
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled and, if it is idle, takes
    /// `RUNNING` so the caller drops the future. Returns whether it did.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|cur| {
            if cur & (RUNNING | COMPLETE) != 0 {
                (Some(cur | CANCELLED), false)
            } else {
                (Some(cur | CANCELLED | RUNNING), true)
            }
        })
    }

    /// The `JoinHandle` is dropped before completion: clears `JOIN_INTEREST`
    /// and `JOIN_WAKER`. Fails (returns `false`) if the task is complete, in
    /// which case the handle must drop the output itself.
    pub(crate) fn unset_join_interest(&self) -> bool {
        self.update(|cur| {
            if cur & COMPLETE != 0 {
                (None, false)
            } else {
                (Some(cur & !JOIN_INTEREST & !JOIN_WAKER), true)
            }
        })
    }

    /// The `JoinHandle` wrote its waker: publishes it. Fails if complete.
    pub(crate) fn set_join_waker(&self) -> bool {
        self.update(|cur| {
            debug_assert!(cur & JOIN_WAKER == 0);
            if cur & COMPLETE != 0 {
                (None, false)
            } else {
                (Some(cur | JOIN_WAKER), true)
            }
        })
    }

    /// The `JoinHandle` wants to replace its waker: takes back write access.
    /// Fails if complete.
    pub(crate) fn unset_join_waker(&self) -> bool {
        self.update(|cur| {
            if cur & COMPLETE != 0 {
                (None, false)
            } else {
                (Some(cur & !JOIN_WAKER), true)
            }
        })
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        // Overflow would be a use-after-free waiting to happen.
        if prev > usize::MAX / 2 {
            std::process::abort();
        }
    }

    /// Drops `n` references; returns `true` if they were the last.
    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        let prev = self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel);
        debug_assert!(prev >> REF_SHIFT >= n);
        prev >> REF_SHIFT == n
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn wake_while_running_reschedules_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        // Two wakes by ref while running: no submit, bit set.
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(), ToIdle::OkNotified);
        assert!(s.load().has(NOTIFIED) && !s.load().has(RUNNING));
        // A wake while notified does nothing.
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn idle_wake_submits_with_a_reference() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert!(!s.ref_dec_n(1)); // the poll's reference
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::Submit);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn abort_while_running_cancels_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_idle(), ToIdle::Cancelled);
        let prev = s.transition_to_complete();
        assert!(prev.has(JOIN_INTEREST));
        assert!(s.load().has(COMPLETE));
    }

    #[test]
    fn abort_when_idle_submits_and_running_sees_cancel() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert!(s.transition_to_notified_and_cancel());
        assert!(
            !s.transition_to_notified_and_cancel(),
            "second abort is a no-op"
        );
        assert_eq!(s.transition_to_running(), ToRunning::Cancelled);
    }

    #[test]
    fn join_handle_drop_vs_complete() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        s.transition_to_complete();
        assert!(
            !s.unset_join_interest(),
            "after completion the handle drops the output"
        );
        let s = State::new();
        assert!(s.unset_join_interest());
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(
            !s.transition_to_complete().has(JOIN_INTEREST),
            "the task drops the output"
        );
    }

    #[test]
    fn wake_after_complete_is_noop_and_last_ref_deallocs() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        s.transition_to_complete();
        assert!(!s.ref_dec_n(2)); // poll + owned list
        assert!(!s.transition_to_shutdown());
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        s.ref_inc(); // a waker clone
        assert!(!s.ref_dec_n(1));
        assert!(s.ref_dec_n(1), "the JoinHandle's is the last");
    }
}
