//! `scaling`: echo with 1 to 16 workers (meant for many-core machines;
//! not run unless asked for).

use runtime_benches::contender::{Contender, Service};
use runtime_benches::loadgen::{Mode, Protocol};
use runtime_benches::procfs;
use runtime_benches::report::Table;

use super::echo::echo_label;
use crate::child::start_servers;
use crate::figures::{fmt_rate, fmt_us, opt};
use crate::results::{by_contender, ratio_cell, Better, LoadStats, Report};
use crate::rounds::alternate;
use crate::settings::Settings;
use crate::Res;

pub(crate) fn scaling_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("scaling");
    let (conns, size) = (1000, 64);
    let mut t = Table::new([
        "workers",
        "runtime",
        "msgs/s",
        "p99",
        "server CPU/msg",
        "rate vs tokio",
    ]);
    for workers in [1, 2, 4, 8, 16] {
        let contenders: Vec<Contender> = s
            .contenders
            .iter()
            .copied()
            .filter(|c| !matches!(c, Contender::TokioCt | Contender::RuntimeCt))
            .collect();
        let sub = Settings {
            contenders,
            ..s.clone()
        };
        let servers = start_servers(&sub, Service::Echo, workers)?;
        let label = format!("{} with {workers} workers", echo_label(conns, size));
        let stats = alternate(&sub, report, &label, &servers, |srv| {
            sub.spec(
                srv,
                conns,
                Protocol::Echo { size },
                Mode::Closed { depth: 1 },
            )
        });
        let rates = by_contender(&stats, LoadStats::rate);
        for &c in &sub.contenders {
            let st = stats.get(&c);
            t.row([
                workers.to_string(),
                c.name().to_owned(),
                opt(st.and_then(LoadStats::rate), fmt_rate),
                opt(st.and_then(|x| x.pct(99.0)), fmt_us),
                opt(st.and_then(LoadStats::cpu), fmt_us),
                ratio_cell(&rates, c, Better::Higher),
            ]);
        }
        for (_, srv) in servers {
            srv.proc.close();
        }
    }
    report.sections.push((
        "Multi-core scaling".into(),
        format!(
            "Echo, {conns} connections × {size} B, closed loop, with 1 to 16 worker threads \
             per runtime ({} CPUs; {}).\n\n{t}",
            procfs::cpus(),
            match &s.server_cpus {
                Some(c) => format!("server pinned to CPUs {}", procfs::format_cpus(c)),
                None => "not pinned".into(),
            }
        ),
    ));
    Ok(())
}
