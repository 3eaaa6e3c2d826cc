//! `sched`: scheduler micro-benchmarks of `runtime` side by side with tokio
//! and smol, in one process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin sched -- \
//!     [--workers 2] [--rounds 15] [--quick] [--no-smol] \
//!     [--runtimes runtime,tokio,smol] [--case spawn_many,ping_pong]
//! ```
//!
//! For each case every runtime is built once (with the same worker count),
//! warmed up with one round, then measured for `--rounds` rounds. The
//! runtimes take turns round by round (the starting one rotates, so none
//! always runs right after another), and each round times a fixed amount of
//! work: some repetitions of the case (20 of `spawn_many`, 8 of
//! `yield_many`, 60 of `ping_pong`, 600 of `chained_spawn`, 30 of
//! `remote_spawn`: tens of milliseconds each), each one a `block_on`. The table
//! gives the median time of one repetition and the ratio of tokio's (and
//! smol's) median to ours: above 1 means `runtime` is faster. A second table
//! gives the process CPU time (all threads) per repetition.
//!
//! Cases (the counts of the default run; `--quick` divides them by ten and
//! runs 3 rounds of one repetition):
//!
//! - `spawn_many`: from inside `block_on`, spawn 10,000 trivial tasks and
//!   wait until all have run;
//! - `yield_many`: 200 tasks each call the runtime's `yield_now` 1,000 times;
//! - `ping_pong`: 1,000 pairs of tasks pass a counter back and forth 10
//!   times through one-slot mailboxes;
//! - `chained_spawn`: a chain of 1,000 tasks, each spawning the next;
//! - `remote_spawn`: a plain thread (not a runtime thread) spawns 10,000
//!   tasks through a handle while `block_on` waits for them all.
//!
//! The cases live in the library (`runtime_benches::sched`), shared with
//! the `compare` binary. Completion is signalled through a latch, and
//! messages travel through one-slot mailboxes: the same `std`-only code for
//! every runtime.

use std::process::ExitCode;
use std::time::Duration;

use runtime_benches::args::Args;
use runtime_benches::report::{fmt_duration, fmt_ratio, Table};
use runtime_benches::rt::{AnyRuntime, RuntimeKind};
use runtime_benches::sched::{Case, Params, Round};
use runtime_benches::stats::median;

const USAGE: &str = "\
usage: sched [--workers N] [--rounds N] [--quick] [--no-smol] [--runtimes L] [--case L]

  --workers N   worker threads of every runtime (default 2)
  --rounds N    measured rounds per runtime and case (default 15)
  --quick       3 rounds, a tenth of the work (a smoke test)
  --no-smol     compare with tokio only
  --runtimes L  which runtimes, comma-separated, the first being the one the
                others are compared to (default runtime,tokio,smol)
  --case L      run only these cases: spawn_many, yield_many, ping_pong,
                chained_spawn, remote_spawn";

/// The medians of one case on one runtime.
#[derive(Debug, Clone, Copy)]
struct Medians {
    wall: Duration,
    cpu: Duration,
}

fn bench_case(
    case: Case,
    kinds: &[RuntimeKind],
    workers: usize,
    rounds: usize,
    params: &Params,
) -> std::io::Result<Vec<Medians>> {
    let rts: Vec<AnyRuntime> = kinds
        .iter()
        .map(|k| k.build(workers))
        .collect::<std::io::Result<_>>()?;
    for rt in &rts {
        rt.visit(Round { case, params });
    }
    let mut samples = vec![Vec::with_capacity(rounds); rts.len()];
    for round in 0..rounds {
        for i in 0..rts.len() {
            let which = (round + i) % rts.len();
            samples[which].push(rts[which].visit(Round { case, params }));
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
            eprintln!("sched: {e}\n\n{USAGE}");
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
    let no_smol = args.flag("--no-smol");
    let workers: usize = args.value("--workers")?.unwrap_or(2);
    let rounds: usize = args
        .value("--rounds")?
        .unwrap_or(if quick { 3 } else { 15 });
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
    let kinds: Vec<RuntimeKind> = match args.value::<String>("--runtimes")? {
        None => RuntimeKind::ALL.to_vec(),
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
    };
    let kinds: Vec<RuntimeKind> = kinds
        .into_iter()
        .filter(|&k| !(no_smol && k == RuntimeKind::Smol))
        .collect();
    if kinds.is_empty() {
        return Err("no runtime left to run".into());
    }
    args.finish()?;
    let params = if quick {
        Params::quick()
    } else {
        Params::full()
    };

    println!(
        "sched: {workers} workers, {rounds} rounds, {} work; median time per repetition; \
         ratio = other / {base} (> 1: {base} is faster)\n",
        if quick { "quick" } else { "full" },
        base = kinds[0],
    );
    let mut header = vec!["case".to_owned()];
    header.extend(kinds.iter().map(|k| k.name().to_owned()));
    header.extend(kinds[1..].iter().map(|k| format!("{k}/{}", kinds[0])));
    let mut wall = Table::new(header.clone());
    let mut cpu = Table::new(header);
    for case in cases {
        eprintln!("running {} ...", case.name());
        let m = bench_case(case, &kinds, workers, rounds, &params)?;
        let row = |pick: fn(&Medians) -> Duration| {
            let mut cells = vec![case.name().to_owned()];
            cells.extend(m.iter().map(|m| fmt_duration(pick(m))));
            cells.extend(m[1..].iter().map(|o| fmt_ratio(pick(o), pick(&m[0]))));
            cells
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

    /// Every case completes on every runtime (with the `--quick` amounts).
    #[test]
    fn every_case_runs_on_every_runtime() {
        let params = Params::quick();
        for kind in RuntimeKind::ALL {
            let rt = kind.build(2).unwrap();
            for case in Case::ALL {
                let s = rt.visit(Round {
                    case,
                    params: &params,
                });
                assert!(s.wall > Duration::ZERO, "{kind} {}", case.name());
            }
        }
    }
}
