//! `echo` and `echo-rate`: TCP echo at four sizes, closed loop and at a
//! fixed offered rate (a fraction of tokio's closed-loop rate).

use std::collections::BTreeMap;

use runtime_benches::contender::{Contender, Service};
use runtime_benches::loadgen::{self, Mode, Protocol};

use crate::child::start_servers;
use crate::figures::fmt_rate;
use crate::results::{LoadStats, Report, CPU_TARGET, P99_TARGET};
use crate::rounds::{alternate, load_table};
use crate::settings::Settings;
use crate::syscalls::syscall_rounds;
use crate::Res;

/// The echo configurations: (connections, message bytes).
const ECHO_CASES: [(usize, usize); 4] = [(100, 64), (100, 4096), (1000, 64), (1000, 4096)];

pub(crate) fn echo_label(conns: usize, size: usize) -> String {
    format!(
        "echo {conns} conns × {}",
        if size >= 1024 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        }
    )
}

pub(crate) fn echo_section(
    s: &Settings,
    report: &mut Report,
    tokio_rates: &mut BTreeMap<(usize, usize), f64>,
) -> Res<()> {
    let servers = start_servers(s, Service::Echo, s.workers)?;
    let order: Vec<Contender> = s.contenders.clone();
    if s.wants("echo") {
        eprintln!("echo, closed loop");
        let mut rows = Vec::new();
        for (conns, size) in ECHO_CASES {
            let label = echo_label(conns, size);
            let stats = alternate(s, report, &label, &servers, |srv| {
                s.spec(
                    srv,
                    conns,
                    Protocol::Echo { size },
                    Mode::Closed { depth: 1 },
                )
            });
            if let Some(r) = stats.get(&Contender::Tokio).and_then(LoadStats::rate) {
                tokio_rates.insert((conns, size), r);
            }
            syscall_rounds(s, report, &label, &servers, |srv| {
                s.spec(
                    srv,
                    conns,
                    Protocol::Echo { size },
                    Mode::Closed { depth: 1 },
                )
            });
            report.rate_and_cpu(&label, &stats, "messages/s", "server CPU/msg");
            report.pct_metric(&label, "p99 (closed loop)", 99.0, &stats, None);
            rows.push((label, stats));
        }
        report.sections.push((
            "Echo, closed loop".into(),
            format!(
                "Each connection sends one message, waits for all of it to come back \
                 (every byte checked), sends the next. Latency from send to last byte \
                 back; CPU is the server process's user + system time over the window \
                 divided by the messages completed in it.\n\n{}",
                load_table(&rows, &order, "msg")
            ),
        ));
    }
    if s.wants("echo-rate") {
        eprintln!("echo, fixed offered rate");
        let mut rows = Vec::new();
        for (conns, size) in ECHO_CASES {
            let base = echo_label(conns, size);
            // A fraction of tokio's closed-loop rate, measured above or now.
            let max = match tokio_rates.get(&(conns, size)) {
                Some(&r) => r,
                None => {
                    let tokio = servers
                        .get(&Contender::Tokio)
                        .or_else(|| servers.values().next());
                    let Some(srv) = tokio else { continue };
                    loadgen::run(&s.spec(
                        srv,
                        conns,
                        Protocol::Echo { size },
                        Mode::Closed { depth: 1 },
                    ))?
                    .rate()
                }
            };
            let rate = (max * s.rate_fraction).max(100.0);
            let label = format!("{base} @ {}/s", fmt_rate(rate));
            let stats = alternate(s, report, &label, &servers, |srv| {
                s.spec(srv, conns, Protocol::Echo { size }, Mode::Open { rate })
            });
            report.pct_metric(&label, "p50", 50.0, &stats, None);
            report.pct_metric(&label, "p99", 99.0, &stats, P99_TARGET);
            report.pct_metric(&label, "p99.9", 99.9, &stats, None);
            report.cpu_metric(&label, "server CPU/msg", &stats, CPU_TARGET);
            rows.push((label, stats));
        }
        report.sections.push((
            "Echo, fixed offered rate (open loop)".into(),
            format!(
                "Messages are scheduled at {:.0} % of tokio's closed-loop rate for the case \
                 ({}), spread evenly over the connections, whatever the responses do; latency \
                 counts from the *scheduled* send time, so falling behind is charged in \
                 full (no coordinated omission). Messages still unanswered 2 s after the \
                 window are counted with the time waited so far.\n\n{}",
                s.rate_fraction * 100.0,
                if s.server_cpus.is_some() {
                    "server and generator on CPUs of their own"
                } else {
                    "server and generator share the CPUs, and the open loop costs both more \
                     per message than the closed loop; at half the rate the machine is close \
                     to saturation and every latency is queueing noise, hence less"
                },
                load_table(&rows, &order, "msg")
            ),
        ));
    }
    for (_, srv) in servers {
        srv.proc.close();
    }
    Ok(())
}
