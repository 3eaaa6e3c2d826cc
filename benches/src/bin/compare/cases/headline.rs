//! `headline`: echo and HTTP keep-alive at one fixed offered rate, servers
//! and generator pinned apart; the report opens with this table.

use std::collections::BTreeMap;
use std::sync::Arc;

use runtime_benches::contender::{http_hello, Contender, Service};
use runtime_benches::loadgen::{Mode, Protocol};
use runtime_benches::procfs;
use runtime_benches::report::fmt_duration;

use super::echo::echo_label;
use super::http::{HTTP_CONNS, HTTP_REQUEST};
use crate::child::start_servers;
use crate::figures::fmt_rate;
use crate::results::{LoadStats, Report, CPU_TARGET};
use crate::rounds::{alternate, load_table};
use crate::settings::Settings;
use crate::Res;

/// Where the headline cases pin servers and generator: on exactly 2 CPUs
/// every server on CPU 1 and the generator on CPU 0; on 4 or more the
/// halves the other sections use; otherwise nowhere.
fn headline_cpus(s: &Settings) -> (Option<Vec<usize>>, Option<Vec<usize>>) {
    if procfs::cpus() == 2 {
        (Some(vec![1]), Some(vec![0]))
    } else {
        (s.server_cpus.clone(), s.gen_cpus.clone())
    }
}

/// One case of the headline: its servers, the alternating rounds at the
/// headline rate, and the metrics (server CPU per `cpu_metric`'s unit, p99).
fn headline_case(
    sub: &Settings,
    report: &mut Report,
    service: Service,
    label: String,
    conns: usize,
    protocol: Protocol,
    cpu_metric: &'static str,
) -> Res<(String, BTreeMap<Contender, LoadStats>)> {
    // Only the contenders that serve this service (raw-epoll is echo only).
    let mut only = sub.clone();
    only.contenders.retain(|c| c.serves(service));
    let sub = &only;
    let servers = start_servers(sub, service, sub.workers)?;
    let rate = sub.headline_rate;
    let stats = alternate(sub, report, &label, &servers, |srv| {
        sub.spec(srv, conns, protocol.clone(), Mode::Open { rate })
    });
    report.cpu_metric(&label, cpu_metric, &stats, CPU_TARGET);
    report.pct_metric(&label, "p99", 99.0, &stats, None);
    for (_, srv) in servers {
        srv.proc.close();
    }
    Ok((label, stats))
}

/// The headline: echo (100 connections × 64 B) and HTTP keep-alive (100
/// connections) at the same fixed offered rate, low enough for the pinned
/// generator to deliver whichever server answers, servers and generator
/// pinned apart, at least 5 rounds alternating; server CPU per message is
/// the figure.
pub(crate) fn headline_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("headline: pinned, fixed rate");
    let (server_cpus, gen_cpus) = headline_cpus(s);
    let sub = Settings {
        rounds: if s.quick {
            s.rounds.max(3)
        } else {
            s.rounds.max(5)
        },
        gen_threads: gen_cpus.as_ref().map_or(1, |c| c.len().min(8)),
        server_cpus,
        gen_cpus,
        ..s.clone()
    };
    let rate = s.headline_rate;
    let (conns, size) = (100, 64);
    let echo = headline_case(
        &sub,
        report,
        Service::Echo,
        format!("{} @ {}/s, pinned", echo_label(conns, size), fmt_rate(rate)),
        conns,
        Protocol::Echo { size },
        "server CPU/msg",
    )?;
    let http = headline_case(
        &sub,
        report,
        Service::Http,
        format!(
            "http keep-alive {HTTP_CONNS} conns @ {}/s, pinned",
            fmt_rate(rate)
        ),
        HTTP_CONNS,
        Protocol::Fixed {
            request: Arc::from(HTTP_REQUEST),
            response: Arc::from(http_hello::HELLO),
            unchecked: http_hello::HELLO_DATE,
        },
        "server CPU/request",
    )?;
    let rows = vec![echo, http];
    let pinning = match (&sub.server_cpus, &sub.gen_cpus) {
        (Some(a), Some(b)) => format!(
            "every server process pinned to CPU{} {}, the generator ({} thread{}) to CPU{} {}",
            if a.len() == 1 { "" } else { "s" },
            procfs::format_cpus(a),
            sub.gen_threads,
            if sub.gen_threads == 1 { "" } else { "s" },
            if b.len() == 1 { "" } else { "s" },
            procfs::format_cpus(b)
        ),
        _ => format!("**not pinned** ({} CPUs: too few to split)", procfs::cpus()),
    };
    let how = format!(
        "Echo ({conns} connections × {size} B) and HTTP keep-alive ({HTTP_CONNS} \
         connections, built-in generator) at a fixed offered rate of {}/s, scheduled \
         whatever the responses do (open loop), {pinning}; {} rounds per runtime, \
         alternating, {} window each; medians. The rate is one the generator delivers \
         whichever server answers, so every runtime does the same work and the server's \
         CPU time per message (user + system, over the window) is the cost to compare. \
         **CPU vs tokio** > 1: cheaper than tokio.",
        fmt_rate(rate),
        sub.rounds,
        fmt_duration(sub.window),
    );
    report.headline = Some((load_table(&rows, &s.contenders, "msg"), how));
    Ok(())
}
