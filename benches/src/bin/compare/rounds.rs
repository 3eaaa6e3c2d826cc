//! Running a load case: every contender for `--rounds` rounds, taking
//! turns (A B C, B C A, …), each round logged and failed rounds reported
//! and skipped; and the table every load section prints its results in.

use std::collections::BTreeMap;
use std::io;

use runtime_benches::contender::Contender;
use runtime_benches::loadgen::{self, Spec};
use runtime_benches::report::{fmt_duration, Table};

use crate::child::Server;
use crate::figures::{fmt_rate, fmt_us, opt};
use crate::results::{by_contender, ratio_cell, Better, LoadStats, Report};
use crate::settings::Settings;

/// Runs `spec_of(server)` on every contender for `s.rounds` rounds,
/// alternating; failed runs are reported and skipped.
pub(crate) fn alternate(
    s: &Settings,
    report: &mut Report,
    label: &str,
    servers: &BTreeMap<Contender, Server>,
    spec_of: impl Fn(&Server) -> Spec,
) -> BTreeMap<Contender, LoadStats> {
    alternate_runs(s, report, label, "", "msg", servers, |srv| {
        loadgen::run(&spec_of(srv))
    })
}

/// Runs `run(server)` on every contender for `s.rounds` rounds, alternating
/// (A B C, B C A, …), logging each outcome (`tag` after the round number,
/// CPU per `per`); failed runs are reported and skipped.
pub(crate) fn alternate_runs(
    s: &Settings,
    report: &mut Report,
    label: &str,
    tag: &str,
    per: &str,
    servers: &BTreeMap<Contender, Server>,
    run: impl Fn(&Server) -> io::Result<loadgen::Outcome>,
) -> BTreeMap<Contender, LoadStats> {
    let mut stats: BTreeMap<Contender, LoadStats> = BTreeMap::new();
    for r in 0..s.rounds {
        for c in s.order(r) {
            match run(&servers[&c]) {
                Ok(o) => {
                    eprintln!(
                        "  {label} [{c}] round {}{tag}: {}/s, p99 {}, cpu/{per} {}",
                        r + 1,
                        fmt_rate(o.rate()),
                        fmt_duration(o.latency.percentile(99.0)),
                        opt(o.cpu_per_msg_us(), fmt_us)
                    );
                    stats.entry(c).or_default().add(&o);
                }
                Err(e) => report.fail(format!("{label} on {c}{tag}, round {}: {e}", r + 1)),
            }
        }
    }
    stats
}

pub(crate) fn load_table(
    rows: &[(String, BTreeMap<Contender, LoadStats>)],
    order: &[Contender],
    unit: &str,
) -> Table {
    let mut header = vec![
        "case".to_owned(),
        "runtime".to_owned(),
        format!("{unit}/s"),
        "p50".into(),
        "p99".into(),
        "p99.9".into(),
        format!("server CPU/{unit}"),
        "rate vs tokio".into(),
        "CPU vs tokio".into(),
    ];
    // The kernel's own cost, where measured: each CPU figure ÷ raw-epoll's
    // (the cell is dropped by `Table::row` when the column is absent).
    if order.contains(&Contender::RawEpoll) {
        header.push("CPU × raw-epoll".into());
    }
    let mut t = Table::new(header);
    for (label, stats) in rows {
        let rates = by_contender(stats, LoadStats::rate);
        let cpu = by_contender(stats, LoadStats::cpu);
        for &c in order {
            let Some(st) = stats.get(&c) else {
                t.row([label.clone(), c.name().into(), "failed".into()]);
                continue;
            };
            let mut rate = opt(st.rate(), fmt_rate);
            if st.unfinished > 0 {
                rate = format!("{rate} ({} unanswered)", st.unfinished);
            }
            t.row([
                label.clone(),
                c.name().into(),
                rate,
                opt(st.pct(50.0), fmt_us),
                opt(st.pct(99.0), fmt_us),
                opt(st.pct(99.9), fmt_us),
                opt(st.cpu(), fmt_us),
                ratio_cell(&rates, c, Better::Higher),
                ratio_cell(&cpu, c, Better::Lower),
                opt(
                    cpu.get(&c)
                        .zip(cpu.get(&Contender::RawEpoll))
                        .filter(|(_, k)| **k > 0.0)
                        .map(|(v, k)| v / k),
                    |x| format!("{x:.2}"),
                ),
            ]);
        }
    }
    t
}
