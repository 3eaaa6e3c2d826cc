//! `scale`: as many concurrent connections as the descriptor limit and
//! memory allow, their accept rate and memory.

use std::collections::BTreeMap;

use runtime_benches::procfs;
use runtime_benches::report::{fmt_duration, Table};

use super::herd::{herd_case, herd_procs};
use crate::figures::{fmt_bytes, fmt_rate};
use crate::results::{Better, Report};
use crate::settings::Settings;
use crate::Res;

pub(crate) fn scale_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("connection scale");
    let nofile = procfs::raise_nofile() as usize;
    // Each connection costs the server one descriptor (plus a few of its
    // own) and the machine two sockets; keep clear of the memory too.
    let by_fds = nofile.saturating_sub(64);
    let by_mem = procfs::mem_available().map_or(usize::MAX, |m| (m / (64 * 1024)) as usize);
    let mut n = by_fds.min(by_mem);
    if let Some(m) = s.max_conns {
        n = n.min(m);
    }
    let procs = herd_procs(n);
    let mut t = Table::new([
        "runtime",
        "connections",
        "connect + first echo",
        "conns/s",
        "echo on all",
        "server RSS",
        "RSS per connection",
    ]);
    let mut rate = BTreeMap::new();
    let mut per_conn = BTreeMap::new();
    for &c in &s.contenders {
        match herd_case(s, c, n, procs) {
            Ok(h) => {
                let r = h.conns as f64 / h.connect.as_secs_f64();
                let per = h.rss_after.saturating_sub(h.rss_before) as f64 / h.conns as f64;
                eprintln!(
                    "  {n} connections [{c}]: {}/s, {} per connection",
                    fmt_rate(r),
                    fmt_bytes(per)
                );
                t.row([
                    c.name().to_owned(),
                    h.conns.to_string(),
                    fmt_duration(h.connect),
                    fmt_rate(r),
                    fmt_duration(h.echo),
                    fmt_bytes(h.rss_after as f64),
                    fmt_bytes(per),
                ]);
                rate.insert(c, r);
                per_conn.insert(c, per);
            }
            Err(e) => {
                report.fail(format!("{n} connections on {c}: {e}"));
                t.row([c.name().to_owned(), n.to_string(), "failed".into()]);
            }
        }
    }
    let label = format!("{n} connections");
    report.metric(&label, "accept rate", Better::Higher, rate, None);
    report.metric(&label, "RSS per connection", Better::Lower, per_conn, None);
    report.sections.push((
        "Connection scale".into(),
        format!(
            "As many loopback connections as the machine allows: the server's \
             `RLIMIT_NOFILE` is {nofile} here, so {n} connections (limit − 64, also capped \
             by available memory{}), opened by {procs} generator processes from source \
             addresses 127.0.0.2 and up, 256 at a time, each echoing 64 bytes before the \
             next batch. *connect + first echo* is the time until all are up and have \
             echoed once (conns/s: the accept rate seen from outside); *echo on all* one \
             more 64-byte echo on every connection.\n\n{t}",
            if s.max_conns.is_some() {
                " and by --max-conns"
            } else {
                ""
            }
        ),
    ));
    Ok(())
}
