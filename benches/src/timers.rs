//! The timer benchmark cases, shared by the `timers` and `compare`
//! binaries: each is written once, generic over [`BenchRuntime`] and its
//! timer API [`BenchRuntime::Time`] (`runtime::time`, `tokio::time`, or
//! async-io's `Timer` for smol; see [`Time`]), and runs the same code on
//! every runtime (a [`MicroCase`] set).
//!
//! Cases (the amounts of [`Params::full`]; [`Params::quick`] divides the
//! counts and the spread by ten):
//!
//! - `sleeps_spread`: from inside `block_on`, spawn 100,000 tasks, task `i`
//!   sleeping `(i * 7919) % 100,000` µs (deadlines spread over 100 ms, over
//!   many wheel slots and two levels), and wait until all have woken. Wall
//!   time is at least 100 ms by construction; what it shows beyond that is
//!   the cost of spawning, inserting and firing (and lateness).
//! - `insert_cancel`: timeouts that never fire, the common case in
//!   servers: one task builds a `timeout(10 s, f)` around a future `f` that
//!   is pending on its first poll and ready on its second, polls it twice
//!   (the first poll registers the timer, the second completes and the drop
//!   cancels it), 200,000 times in a row, all inside one task poll (no
//!   scheduling in the measured loop).
//! - `insert_cancel_parallel`: the same, 100,000 times in each of
//!   `workers` tasks at once (contention on the timer structures).
//! - `interval_1ms`: one task ticks a 1 ms `interval` 200 times (wall time
//!   about 200 ms for every runtime; the CPU time is what differs).
//! - `intervals_1ms_x1000`: 1,000 tasks each tick their own 1 ms interval
//!   50 times (1,000 timers firing every millisecond).
//!
//! Each round runs a case once, in one `block_on`. Completion is signalled
//! through [`Latch`], the same `std`-only code for every runtime.
//!
//! smol has no `Interval`: its interval is async-io's
//! `Timer::interval_at(now, period)`, which has no `MissedTickBehavior`; it
//! re-arms at the previous deadline plus the period, so late ticks fire back
//! to back like tokio's (and `runtime`'s) default, `Burst` (see
//! [`SmolTime`](crate::rt::SmolTime)).

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::chan::Latch;
use crate::micro::{Amounts, MicroCase};
use crate::rt::{BenchRuntime, Spawner, Ticker, Time};
use crate::stats::{measure, Sample};

/// The benchmark cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Many tasks sleep, deadlines spread over [`Params::spread`].
    SleepsSpread,
    /// Timeouts registered and cancelled back to back in one task.
    InsertCancel,
    /// The same in one task per worker at once.
    InsertCancelParallel,
    /// One task ticks a 1 ms interval.
    Interval1ms,
    /// Many tasks tick their own 1 ms interval.
    Intervals1msX1000,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 5] = [
        Case::SleepsSpread,
        Case::InsertCancel,
        Case::InsertCancelParallel,
        Case::Interval1ms,
        Case::Intervals1msX1000,
    ];

    /// The case's name (`sleeps_spread`, …).
    pub fn name(self) -> &'static str {
        match self {
            Case::SleepsSpread => "sleeps_spread",
            Case::InsertCancel => "insert_cancel",
            Case::InsertCancelParallel => "insert_cancel_parallel",
            Case::Interval1ms => "interval_1ms",
            Case::Intervals1msX1000 => "intervals_1ms_x1000",
        }
    }

    /// Whether the case's wall time is mostly set by the sleeping or
    /// ticking itself (a floor every runtime shares: 100 ms of spread,
    /// 200 or 50 ticks of 1 ms), so that CPU time is the figure that tells
    /// the runtimes apart; the insert/cancel cases never wait for a timer.
    pub fn waits_on_clock(self) -> bool {
        matches!(
            self,
            Case::SleepsSpread | Case::Interval1ms | Case::Intervals1msX1000
        )
    }
}

/// How much work each case does.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Tasks (one sleep each) in `sleeps_spread`.
    pub sleeps: usize,
    /// The span the `sleeps_spread` deadlines cover.
    pub spread: Duration,
    /// Timeouts registered and cancelled in `insert_cancel`.
    pub insert_cancel: usize,
    /// The same per task in `insert_cancel_parallel`.
    pub insert_cancel_per_task: usize,
    /// Ticks of the one interval in `interval_1ms`.
    pub interval_ticks: usize,
    /// Tasks (one interval each) in `intervals_1ms_x1000`.
    pub interval_tasks: usize,
    /// Ticks per task in `intervals_1ms_x1000`.
    pub interval_tasks_ticks: usize,
}

impl Amounts for Params {
    fn full() -> Params {
        Params {
            sleeps: 100_000,
            spread: Duration::from_millis(100),
            insert_cancel: 200_000,
            insert_cancel_per_task: 100_000,
            interval_ticks: 200,
            interval_tasks: 1_000,
            interval_tasks_ticks: 50,
        }
    }

    fn quick() -> Params {
        Params {
            sleeps: 10_000,
            spread: Duration::from_millis(10),
            insert_cancel: 20_000,
            insert_cancel_per_task: 10_000,
            interval_ticks: 20,
            interval_tasks: 100,
            interval_tasks_ticks: 5,
        }
    }
}

impl MicroCase for Case {
    type Params = Params;

    const ALL: &'static [Case] = &Case::ALL;

    fn name(self) -> &'static str {
        Case::name(self)
    }

    /// One run of the case, timed.
    fn round<R: BenchRuntime>(self, rt: &R, params: &Params, workers: usize) -> Sample {
        let ((), sample) = measure(|| run_once(rt, self, params, workers));
        sample
    }
}

/// Runs `case` once on `rt`; `workers` is the task count of
/// `insert_cancel_parallel`.
pub fn run_once<R: BenchRuntime>(rt: &R, case: Case, p: &Params, workers: usize) {
    let s = rt.spawner();
    match case {
        Case::SleepsSpread => rt.block_on(sleeps_spread::<R::Time, _>(s, p.sleeps, p.spread)),
        // On a worker, like server code (tokio's timers need its context).
        Case::InsertCancel => {
            rt.block_on(insert_cancel_parallel::<R::Time, _>(s, 1, p.insert_cancel))
        }
        Case::InsertCancelParallel => rt.block_on(insert_cancel_parallel::<R::Time, _>(
            s,
            workers,
            p.insert_cancel_per_task,
        )),
        Case::Interval1ms => rt.block_on(intervals::<R::Time, _>(s, 1, p.interval_ticks)),
        Case::Intervals1msX1000 => rt.block_on(intervals::<R::Time, _>(
            s,
            p.interval_tasks,
            p.interval_tasks_ticks,
        )),
    }
}

/// Pending on its first poll (without waking anybody), ready on its second:
/// what a timeout wraps when the operation completes in time.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// `n` timeouts that never fire, registered and cancelled back to back
/// inside one poll.
async fn insert_cancel<T: Time>(n: usize) {
    poll_fn(|cx| {
        for _ in 0..n {
            let mut t = pin!(T::timeout(Duration::from_secs(10), PendingOnce(false)));
            assert!(t.as_mut().poll(cx).is_pending());
            match t.as_mut().poll(cx) {
                Poll::Ready(timed_out) => assert!(!timed_out),
                Poll::Pending => panic!("the inner future was ready"),
            }
        }
        Poll::Ready(())
    })
    .await
}

async fn sleeps_spread<T: Time, S: Spawner>(s: S, n: usize, spread: Duration) {
    let done = Arc::new(Latch::new(n));
    let spread_us = spread.as_micros() as u64;
    for i in 0..n as u64 {
        let done = done.clone();
        s.spawn(async move {
            T::sleep(Duration::from_micros((i * 7919) % spread_us)).await;
            done.count_down();
        });
    }
    done.wait().await;
}

async fn insert_cancel_parallel<T: Time, S: Spawner>(s: S, tasks: usize, n: usize) {
    let done = Arc::new(Latch::new(tasks));
    for _ in 0..tasks {
        let done = done.clone();
        s.spawn(async move {
            insert_cancel::<T>(n).await;
            done.count_down();
        });
    }
    done.wait().await;
}

async fn intervals<T: Time, S: Spawner>(s: S, tasks: usize, ticks: usize) {
    let done = Arc::new(Latch::new(tasks));
    for _ in 0..tasks {
        let done = done.clone();
        s.spawn(async move {
            let mut iv = T::interval(Duration::from_millis(1));
            for _ in 0..ticks {
                iv.tick().await;
            }
            done.count_down();
        });
    }
    done.wait().await;
}

#[cfg(test)]
mod tests {
    use super::Case;
    use crate::micro::MicroCase;

    /// Every case completes on every runtime set-up, smol included (with
    /// the `--quick` amounts).
    #[test]
    fn every_case_runs_on_every_runtime() {
        crate::micro::every_case_runs_on_every_contender::<Case>();
    }

    /// `compare`'s `--micro` children find a case by its name in either
    /// set, so no name may be in both.
    #[test]
    fn timer_and_sched_case_names_differ() {
        for c in Case::ALL {
            assert!(crate::sched::Case::from_name(c.name()).is_none());
        }
    }
}
