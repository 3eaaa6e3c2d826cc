//! The driver of the in-process case families (`sched`, `timers`): one
//! `--micro` child per contender, fed case names on standard input, rounds
//! alternating, a "time" and a "CPU time" metric per case.

use std::collections::BTreeMap;
use std::io;

use runtime_benches::contender::Contender;
use runtime_benches::micro::MicroCase;
use runtime_benches::procfs;
use runtime_benches::report::Table;

use crate::child::ChildProc;
use crate::figures::{fmt_us, opt};
use crate::results::{median, ratio_cell, Better, Report};
use crate::settings::Settings;
use crate::Res;

/// Runs one round of `case` in a micro child: (time, CPU) in µs.
fn micro_round(child: &mut ChildProc, case: &str) -> io::Result<(f64, f64)> {
    child.send(case)?;
    let line = child.expect("")?;
    let mut it = line.split_whitespace().map(|x| x.parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(w)), Some(Ok(c))) => Ok((w / 1e3, c / 1e3)),
        _ => Err(io::Error::other(format!("micro child said {line:?}"))),
    }
}

/// The targets of one micro-benchmark case: (on its time, on its CPU time).
pub(crate) type MicroTargets = (Option<(f64, &'static str)>, Option<(f64, &'static str)>);

/// Runs every case of `C` in `--micro` children (one per contender, each
/// case warmed up once, then `micro_rounds` rounds, the contenders
/// alternating), adds a "time" and a "CPU time" metric per case with the
/// targets `targets` gives, and returns the section's table.
pub(crate) fn micro_cases<C: MicroCase>(
    s: &Settings,
    report: &mut Report,
    targets: impl Fn(C) -> MicroTargets,
) -> Res<Table> {
    let mut children: BTreeMap<Contender, ChildProc> = BTreeMap::new();
    for &c in &s.contenders {
        let mut args = vec![
            "--micro".into(),
            c.name().into(),
            "--workers".into(),
            s.workers.to_string(),
        ];
        if s.quick {
            args.push("--quick".into());
        }
        if let Some(cpus) = &s.server_cpus {
            args.extend(["--cpus".into(), procfs::format_cpus(cpus)]);
        }
        children.insert(c, ChildProc::spawn(&args)?);
    }
    let mut t = Table::new([
        "case",
        "runtime",
        "time",
        "CPU",
        "vs tokio (time)",
        "vs tokio (CPU)",
    ]);
    for &case in C::ALL {
        let name = case.name();
        let mut wall: BTreeMap<Contender, Vec<f64>> = BTreeMap::new();
        let mut cpu: BTreeMap<Contender, Vec<f64>> = BTreeMap::new();
        let mut broken = Vec::new();
        for (c, child) in children.iter_mut() {
            if let Err(e) = micro_round(child, name) {
                broken.push((*c, e));
            }
        }
        for r in 0..s.micro_rounds {
            for c in s.order(r) {
                let Some(child) = children.get_mut(&c) else {
                    continue;
                };
                if broken.iter().any(|(b, _)| *b == c) {
                    continue;
                }
                match micro_round(child, name) {
                    Ok((w, cp)) => {
                        wall.entry(c).or_default().push(w);
                        cpu.entry(c).or_default().push(cp);
                    }
                    Err(e) => broken.push((c, e)),
                }
            }
        }
        for (c, e) in broken {
            report.fail(format!("{name} on {c}: {e}"));
            if let Some(child) = children.remove(&c) {
                child.close();
            }
        }
        let wall_rounds = wall.clone();
        let cpu_rounds = cpu.clone();
        let wall: BTreeMap<Contender, f64> = wall
            .iter()
            .filter_map(|(c, v)| Some((*c, median(v)?)))
            .collect();
        let cpu: BTreeMap<Contender, f64> = cpu
            .iter()
            .filter_map(|(c, v)| Some((*c, median(v)?)))
            .collect();
        eprintln!(
            "  {name}: {}",
            wall.iter()
                .map(|(c, w)| format!("{c} {}", fmt_us(*w)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for &c in &s.contenders {
            t.row([
                name.to_owned(),
                c.name().to_owned(),
                opt(wall.get(&c).copied(), fmt_us),
                opt(cpu.get(&c).copied(), fmt_us),
                ratio_cell(&wall, c, Better::Lower),
                ratio_cell(&cpu, c, Better::Lower),
            ]);
        }
        let (time_target, cpu_target) = targets(case);
        report
            .metric(name, "time", Better::Lower, wall, time_target)
            .with_rounds(wall_rounds);
        report
            .metric(name, "CPU time", Better::Lower, cpu, cpu_target)
            .with_rounds(cpu_rounds);
    }
    for (_, child) in children {
        child.close();
    }
    Ok(t)
}
