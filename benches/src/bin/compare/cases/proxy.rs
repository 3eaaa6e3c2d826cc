//! `proxy`: a TCP proxy between the load generator and an echo backend,
//! each runtime's own `copy_bidirectional` ([`runtime_benches::proxy`]):
//! `runtime`'s (`splice(2)` on Linux) against tokio's (an 8 KiB buffer each
//! way). The backend is the raw epoll echo server in a child of its own,
//! the same one for every proxy, so that its CPU is not the proxy's.
//!
//! The figures are per byte rather than per message: throughput in GiB/s
//! and the proxy process's CPU per GiB, counting every byte the proxy
//! forwards (each echoed message crosses it twice, once each way).

use std::collections::BTreeMap;

use runtime_benches::contender::{Contender, Service};
use runtime_benches::loadgen::{Mode, Protocol};
use runtime_benches::report::Table;

use crate::child::{start_servers, Server};
use crate::figures::{fmt_us, opt};
use crate::results::{ratio_cell, Better, LoadStats, Report};
use crate::rounds::alternate;
use crate::settings::Settings;
use crate::syscalls::syscall_rounds;
use crate::Res;

/// Connections through the proxy.
const PROXY_CONNS: usize = 4;

/// Bytes per echoed message.
const PROXY_SIZE: usize = 64 * 1024;

/// Bytes the proxy forwards per message: the message and its echo.
const BYTES_PER_MSG: f64 = 2.0 * PROXY_SIZE as f64;

const GIB: f64 = (1u64 << 30) as f64;

/// GiB per second through the proxy, from messages per second.
fn gib_per_s(st: &LoadStats) -> Option<f64> {
    st.rate().map(|r| r * BYTES_PER_MSG / GIB)
}

/// The proxy's CPU per GiB forwarded, in µs, from its CPU per message.
fn cpu_per_gib_us(st: &LoadStats) -> Option<f64> {
    st.cpu().map(|us| us * GIB / BYTES_PER_MSG)
}

pub(crate) fn proxy_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("proxy");
    let backend = Server::start(
        Contender::RawEpoll,
        1,
        Service::Echo,
        s.server_cpus.as_deref(),
    )?;
    let servers = start_servers(
        s,
        Service::Proxy {
            upstream: backend.addr,
        },
        s.workers,
    )?;
    let label = format!("proxy {PROXY_CONNS} conns × {} KiB", PROXY_SIZE / 1024);
    let spec = |srv: &Server| {
        s.spec(
            srv,
            PROXY_CONNS,
            Protocol::Echo { size: PROXY_SIZE },
            Mode::Closed { depth: 1 },
        )
    };
    let stats = alternate(s, report, &label, &servers, spec);
    let rates: BTreeMap<Contender, f64> = stats
        .iter()
        .filter_map(|(c, st)| Some((*c, gib_per_s(st)?)))
        .collect();
    let cpus: BTreeMap<Contender, f64> = stats
        .iter()
        .filter_map(|(c, st)| Some((*c, cpu_per_gib_us(st)?)))
        .collect();
    report.metric(&label, "GiB/s", Better::Higher, rates.clone(), None);
    report.metric(&label, "proxy CPU/GiB", Better::Lower, cpus.clone(), None);
    syscall_rounds(s, report, &label, &servers, spec);
    let mut t = Table::new([
        "case",
        "runtime",
        "GiB/s",
        "p50",
        "p99",
        "proxy CPU/GiB",
        "rate vs tokio",
        "CPU vs tokio",
    ]);
    for &c in &s.contenders {
        let Some(st) = stats.get(&c) else {
            t.row([label.clone(), c.name().into(), "failed".into()]);
            continue;
        };
        t.row([
            label.clone(),
            c.name().into(),
            opt(rates.get(&c).copied(), |x| format!("{x:.2}")),
            opt(st.pct(50.0), fmt_us),
            opt(st.pct(99.0), fmt_us),
            opt(cpus.get(&c).copied(), fmt_us),
            ratio_cell(&rates, c, Better::Higher),
            ratio_cell(&cpus, c, Better::Lower),
        ]);
    }
    report.sections.push((
        "TCP proxy, copy_bidirectional".into(),
        format!(
            "The load generator → a proxy → the raw epoll echo server (one child of its \
             own, shared by every proxy) and back: {PROXY_CONNS} connections, closed loop, \
             one {} KiB message in flight per connection, every byte checked. Each proxy \
             joins a client to a new upstream connection with its runtime's \
             `copy_bidirectional` (`runtime_benches::proxy`): `runtime::io::copy_bidirectional`, \
             `splice(2)` through a pipe per direction; `tokio::io::copy_bidirectional`, an \
             8 KiB buffer each way. GiB/s and CPU/GiB count every byte the proxy forwards \
             (each message crosses it twice: 2 × {} KiB per message); CPU is the proxy \
             process's user + system time over the window; latency is the message's round \
             trip through proxy and backend. vs tokio > 1: faster, or less CPU, than tokio.\n\n{t}",
            PROXY_SIZE / 1024,
            PROXY_SIZE / 1024,
        ),
    ));
    for (_, srv) in servers {
        srv.proc.close();
    }
    backend.proc.close();
    Ok(())
}
