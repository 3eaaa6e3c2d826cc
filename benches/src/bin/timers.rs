//! `timers`: timer benchmarks of `runtime` side by side with tokio, in one
//! process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin timers -- \
//!     [--workers 2] [--rounds 10] [--quick] [--case sleeps_spread,insert_cancel]
//! ```
//!
//! Both runtimes are built with the same worker count (tokio with all
//! drivers enabled), warmed up with one round, then measured for `--rounds`
//! rounds, taking turns round by round. The tables give the median wall
//! time and the median process CPU time (all threads) of one round, and the
//! ratio tokio / runtime: above 1 means `runtime` is faster (or cheaper).
//!
//! Cases (the amounts of the default run; `--quick` divides the counts by
//! ten and runs 3 rounds):
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
//!   `--workers` tasks at once (contention on the timer structures).
//! - `interval_1ms`: one task ticks a 1 ms `interval` 200 times (wall time
//!   about 200 ms for both; the CPU time is what differs).
//! - `intervals_1ms_x1000`: 1,000 tasks each tick their own 1 ms interval
//!   50 times (1,000 timers firing every millisecond).
//!
//! Completion is signalled through [`Latch`], the same `std`-only code for
//! both runtimes.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use runtime_benches::args::Args;
use runtime_benches::chan::Latch;
use runtime_benches::report::{fmt_duration, fmt_ratio, Table};
use runtime_benches::rt::{AnyRuntime, BenchRuntime, RuntimeKind, Spawner};
use runtime_benches::stats::{measure, median, Sample};

const USAGE: &str = "\
usage: timers [--workers N] [--rounds N] [--quick] [--case L]

  --workers N   worker threads of both runtimes (default 2)
  --rounds N    measured rounds per runtime and case (default 10)
  --quick       3 rounds, a tenth of the work (a smoke test)
  --case L      run only these cases: sleeps_spread, insert_cancel,
                insert_cancel_parallel, interval_1ms, intervals_1ms_x1000";

/// The timer API of one runtime, so that each case is written once.
trait Time: 'static {
    /// `sleep(d)`.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;

    /// `timeout(d, f)`, `true` if it timed out.
    fn timeout<F: Future + Send>(d: Duration, f: F) -> impl Future<Output = bool> + Send;

    /// `interval(period)`.
    fn interval(period: Duration) -> impl Ticker;
}

/// An interval's `tick`.
trait Ticker: Send + 'static {
    fn tick(&mut self) -> impl Future<Output = ()> + Send + '_;
}

/// `runtime::time`.
struct OurTime;

impl Time for OurTime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        runtime::time::sleep(d)
    }

    async fn timeout<F: Future + Send>(d: Duration, f: F) -> bool {
        runtime::time::timeout(d, f).await.is_err()
    }

    fn interval(period: Duration) -> impl Ticker {
        runtime::time::interval(period)
    }
}

impl Ticker for runtime::time::Interval {
    async fn tick(&mut self) {
        runtime::time::Interval::tick(self).await;
    }
}

/// `tokio::time`.
struct TokioTime;

impl Time for TokioTime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }

    async fn timeout<F: Future + Send>(d: Duration, f: F) -> bool {
        tokio::time::timeout(d, f).await.is_err()
    }

    fn interval(period: Duration) -> impl Ticker {
        tokio::time::interval(period)
    }
}

impl Ticker for tokio::time::Interval {
    async fn tick(&mut self) {
        tokio::time::Interval::tick(self).await;
    }
}

/// The benchmark cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    SleepsSpread,
    InsertCancel,
    InsertCancelParallel,
    Interval1ms,
    Intervals1msX1000,
}

impl Case {
    const ALL: [Case; 5] = [
        Case::SleepsSpread,
        Case::InsertCancel,
        Case::InsertCancelParallel,
        Case::Interval1ms,
        Case::Intervals1msX1000,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::SleepsSpread => "sleeps_spread",
            Case::InsertCancel => "insert_cancel",
            Case::InsertCancelParallel => "insert_cancel_parallel",
            Case::Interval1ms => "interval_1ms",
            Case::Intervals1msX1000 => "intervals_1ms_x1000",
        }
    }
}

/// How much work each case does.
#[derive(Debug, Clone, Copy)]
struct Params {
    sleeps: usize,
    spread: Duration,
    insert_cancel: usize,
    insert_cancel_per_task: usize,
    interval_ticks: usize,
    interval_tasks: usize,
    interval_tasks_ticks: usize,
}

impl Params {
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

/// Runs one round of `case` on `rt`, with the timer API `T`.
fn run_once<T: Time, R: BenchRuntime>(rt: &R, case: Case, p: &Params, workers: usize) -> Sample {
    let s = rt.spawner();
    let ((), sample) = measure(|| match case {
        Case::SleepsSpread => rt.block_on(sleeps_spread::<T, _>(s, p.sleeps, p.spread)),
        // On a worker, like server code (tokio's timers need its context).
        Case::InsertCancel => rt.block_on(insert_cancel_parallel::<T, _>(s, 1, p.insert_cancel)),
        Case::InsertCancelParallel => rt.block_on(insert_cancel_parallel::<T, _>(
            s,
            workers,
            p.insert_cancel_per_task,
        )),
        Case::Interval1ms => rt.block_on(intervals::<T, _>(s, 1, p.interval_ticks)),
        Case::Intervals1msX1000 => rt.block_on(intervals::<T, _>(
            s,
            p.interval_tasks,
            p.interval_tasks_ticks,
        )),
    });
    sample
}

fn run_round(rt: &AnyRuntime, case: Case, p: &Params, workers: usize) -> Sample {
    match rt {
        AnyRuntime::Runtime(r) => run_once::<OurTime, _>(r, case, p, workers),
        AnyRuntime::Tokio(r) => run_once::<TokioTime, _>(r, case, p, workers),
        AnyRuntime::Smol(_) => unreachable!("smol is not compared here"),
    }
}

/// The medians of one case on one runtime.
#[derive(Debug, Clone, Copy)]
struct Medians {
    wall: Duration,
    cpu: Duration,
}

fn bench_case(
    case: Case,
    workers: usize,
    rounds: usize,
    params: &Params,
) -> std::io::Result<Vec<Medians>> {
    let kinds = [RuntimeKind::Runtime, RuntimeKind::Tokio];
    let rts: Vec<AnyRuntime> = kinds
        .iter()
        .map(|k| k.build(workers))
        .collect::<std::io::Result<_>>()?;
    for rt in &rts {
        run_round(rt, case, params, workers);
    }
    let mut samples = vec![Vec::with_capacity(rounds); rts.len()];
    for round in 0..rounds {
        for i in 0..rts.len() {
            let which = (round + i) % rts.len();
            samples[which].push(run_round(&rts[which], case, params, workers));
        }
    }
    Ok(samples
        .iter()
        .map(|s| {
            let wall: Vec<Duration> = s.iter().map(|s| s.wall).collect();
            let cpu: Vec<Duration> = s.iter().map(|s| s.cpu).collect();
            Medians {
                wall: median(&wall),
                cpu: median(&cpu),
            }
        })
        .collect())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("timers: {e}\n\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    if args.flag("--help") || args.flag("-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let quick = args.flag("--quick");
    let workers: usize = args.value("--workers")?.unwrap_or(2);
    let rounds: usize = args
        .value("--rounds")?
        .unwrap_or(if quick { 3 } else { 10 });
    let cases: Vec<Case> = match args.value::<String>("--case")? {
        None => Case::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|name| {
                Case::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or_else(|| format!("unknown case {name:?}"))
            })
            .collect::<Result<_, _>>()?,
    };
    if workers == 0 || rounds == 0 {
        return Err("--workers and --rounds must be at least 1".into());
    }
    args.finish()?;
    let params = if quick {
        Params::quick()
    } else {
        Params::full()
    };

    println!(
        "timers: {workers} workers, {rounds} rounds, {} work; median per round; \
         ratio = tokio / runtime (> 1: runtime is faster)\n",
        if quick { "quick" } else { "full" },
    );
    let header = ["case", "runtime", "tokio", "tokio/runtime"];
    let mut wall = Table::new(header);
    let mut cpu = Table::new(header);
    for case in cases {
        eprintln!("running {} ...", case.name());
        let m = bench_case(case, workers, rounds, &params)?;
        let row = |pick: fn(&Medians) -> Duration| {
            [
                case.name().to_owned(),
                fmt_duration(pick(&m[0])),
                fmt_duration(pick(&m[1])),
                fmt_ratio(pick(&m[1]), pick(&m[0])),
            ]
        };
        wall.row(row(|m| m.wall));
        cpu.row(row(|m| m.cpu));
    }
    println!("wall time\n\n{wall}\nCPU time (process, all threads)\n\n{cpu}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case completes on both runtimes (with the `--quick` amounts).
    #[test]
    fn every_case_runs_on_both_runtimes() {
        let params = Params::quick();
        for kind in [RuntimeKind::Runtime, RuntimeKind::Tokio] {
            let rt = kind.build(2).unwrap();
            for case in Case::ALL {
                let s = run_round(&rt, case, &params, 2);
                assert!(s.wall > Duration::ZERO, "{kind} {}", case.name());
            }
        }
    }
}
