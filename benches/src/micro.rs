//! What the micro-benchmark case sets ([`sched`](crate::sched) and
//! [`timers`](crate::timers)) have in common, and the in-process driver of
//! the `sched` and `timers` binaries.
//!
//! A case set implements [`MicroCase`]: its names, its amounts and one
//! measured round on any [`BenchRuntime`] (which `compare`'s `--micro`
//! children call by case name); [`Round`] is that round as a [`Visit`], for
//! code that picks the runtime at run time.
//!
//! [`cli`] builds every runtime once in this process, warms each up with
//! one round, then measures `--rounds` rounds per runtime, the runtimes
//! taking turns round by round (the starting one rotates, so none always
//! runs right after another), and prints the median wall time and process
//! CPU time of one repetition with the ratios to the first runtime.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use crate::args::Args;
use crate::report::{fmt_duration, fmt_ratio, Table};
use crate::rt::{AnyRuntime, BenchRuntime, RuntimeKind, Visit};
use crate::stats::{median, Sample};

/// How much work a set of cases does: the default amounts, or a tenth of
/// them for `--quick`.
pub trait Amounts: Sized {
    /// The amounts of the default run.
    fn full() -> Self;

    /// A tenth of the work (a smoke test).
    fn quick() -> Self;
}

/// A set of micro-benchmark cases.
pub trait MicroCase: Copy + Eq + fmt::Debug + 'static {
    /// How much work each case does.
    type Params: Amounts + fmt::Debug;

    /// Every case, in report order.
    const ALL: &'static [Self];

    /// The case's name, as given on command lines (`spawn_many`, …).
    fn name(self) -> &'static str;

    /// The case called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The amounts of the default run, or of `--quick` (a tenth of the work).
    fn params(quick: bool) -> Self::Params {
        if quick {
            Self::Params::quick()
        } else {
            Self::Params::full()
        }
    }

    /// Runs one measured round of this case on `rt`, with `workers` the
    /// worker count the runtime was built with; returns the wall and
    /// process CPU time of one repetition.
    fn round<R: BenchRuntime>(self, rt: &R, params: &Self::Params, workers: usize) -> Sample;
}

/// One round of a case, as a [`Visit`].
#[derive(Debug)]
pub struct Round<'a, C: MicroCase> {
    /// The case.
    pub case: C,
    /// Its amounts.
    pub params: &'a C::Params,
    /// The worker count the runtime was built with.
    pub workers: usize,
}

impl<C: MicroCase> Visit for Round<'_, C> {
    type Output = Sample;

    fn visit<R: BenchRuntime>(self, rt: &R) -> Sample {
        self.case.round(rt, self.params, self.workers)
    }
}

/// Defaults of a binary built on [`cli`].
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The binary's name, for messages.
    pub name: &'static str,
    /// Measured rounds per runtime and case without `--quick`.
    pub rounds: usize,
}

/// The `main` of the `sched` and `timers` binaries: parses
/// `[--workers N] [--rounds N] [--quick] [--no-smol] [--runtimes L] [--case L]`
/// (`--help` explains them), runs the cases of `C` and prints the two
/// tables.
pub fn cli<C: MicroCase>(d: Defaults) -> ExitCode {
    match run::<C>(d) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}\n\n{}", d.name, usage::<C>(d));
            ExitCode::FAILURE
        }
    }
}

/// The `--help` text of a binary built on [`cli`].
fn usage<C: MicroCase>(d: Defaults) -> String {
    // The case names, comma-separated, on lines of their own under the
    // option texts (the first word breaks the line).
    let mut cases = String::new();
    let mut line = 60;
    for (i, c) in C::ALL.iter().enumerate() {
        let sep = if i + 1 < C::ALL.len() { "," } else { "" };
        let word = format!("{}{sep}", c.name());
        if line + 1 + word.len() > 60 {
            cases.push_str("\n                ");
            line = 0;
        } else {
            cases.push(' ');
            line += 1;
        }
        cases.push_str(&word);
        line += word.len();
    }
    format!(
        "usage: {name} [--workers N] [--rounds N] [--quick] [--no-smol] [--runtimes L] [--case L]

  --workers N   worker threads of every runtime (default 2)
  --rounds N    measured rounds per runtime and case (default {rounds})
  --quick       3 rounds, a tenth of the work (a smoke test)
  --no-smol     compare with tokio only
  --runtimes L  which runtimes, comma-separated, the first being the one the
                others are compared to (default runtime,tokio,smol)
  --case L      run only these cases, comma-separated:{cases}",
        name = d.name,
        rounds = d.rounds,
    )
}

/// The medians of one case on one runtime.
#[derive(Debug, Clone, Copy)]
struct Medians {
    wall: Duration,
    cpu: Duration,
}

fn bench_case<C: MicroCase>(
    case: C,
    kinds: &[RuntimeKind],
    workers: usize,
    rounds: usize,
    params: &C::Params,
) -> std::io::Result<Vec<Medians>> {
    let rts: Vec<AnyRuntime> = kinds
        .iter()
        .map(|k| k.build(workers))
        .collect::<std::io::Result<_>>()?;
    let round = |rt: &AnyRuntime| {
        rt.visit(Round {
            case,
            params,
            workers,
        })
    };
    for rt in &rts {
        round(rt);
    }
    let mut samples = vec![Vec::with_capacity(rounds); rts.len()];
    for r in 0..rounds {
        for i in 0..rts.len() {
            let which = (r + i) % rts.len();
            samples[which].push(round(&rts[which]));
        }
    }
    Ok(samples
        .iter()
        .map(|s: &Vec<Sample>| {
            let wall: Vec<Duration> = s.iter().map(|s| s.wall).collect();
            let cpu: Vec<Duration> = s.iter().map(|s| s.cpu).collect();
            Medians {
                wall: median(&wall),
                cpu: median(&cpu),
            }
        })
        .collect())
}

fn run<C: MicroCase>(d: Defaults) -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    if args.flag("--help") || args.flag("-h") {
        println!("{}", usage::<C>(d));
        return Ok(());
    }
    let quick = args.flag("--quick");
    let no_smol = args.flag("--no-smol");
    let workers: usize = args.value("--workers")?.unwrap_or(2);
    let rounds: usize = args
        .value("--rounds")?
        .unwrap_or(if quick { 3 } else { d.rounds });
    let cases: Vec<C> = match args.value::<String>("--case")? {
        None => C::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|name| C::from_name(name).ok_or_else(|| format!("unknown case {name:?}")))
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
    let params = C::params(quick);

    println!(
        "{}: {workers} workers, {rounds} rounds, {} work; median time per repetition; \
         ratio = other / {base} (> 1: {base} is faster)\n",
        d.name,
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

/// Runs every case of `C` once, with the `--quick` amounts, on each of the
/// set-ups `compare` runs that are runtimes (which include the three of
/// [`RuntimeKind`]).
#[cfg(test)]
pub(crate) fn every_case_runs_on_every_contender<C: MicroCase>() {
    use crate::contender::Contender;

    let params = C::params(true);
    // raw-epoll is an echo server, not a runtime: it has no micro cases.
    for c in Contender::ALL.into_iter().filter(|c| c.in_section("sched")) {
        for &case in C::ALL {
            let s = c
                .visit(
                    2,
                    Round {
                        case,
                        params: &params,
                        workers: 2,
                    },
                )
                .unwrap();
            assert!(s.wall > Duration::ZERO, "{c} {}", case.name());
        }
    }
}
