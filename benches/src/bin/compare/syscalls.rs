//! System calls per message: one extra, traced round per load case and
//! contender (strace or perf attached to the server over the window only),
//! and the report section that lists them.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use runtime_benches::contender::Contender;
use runtime_benches::loadgen::{self, Edge, Spec};
use runtime_benches::procfs::{Stopped, SyscallTool, SyscallTrace};
use runtime_benches::report::{fmt_duration, Table};

use crate::child::Server;
use crate::figures::opt;
use crate::results::{ratio_cell, Better, Report, Traced};
use crate::settings::Settings;

/// Traced rounds per case and contender where perf counts (the kernel
/// counts, so they are cheap): how often a server calls `epoll_wait` per
/// message varies from round to round by a third, so the report takes the
/// median round. strace slows the server too much to trace more than one.
const PERF_ROUNDS: usize = 3;

/// More short rounds per contender (see [`PERF_ROUNDS`]), the contenders
/// alternating, with the system-call counter attached to the server over
/// the window only (the measured rounds are never traced); adds the case's
/// "syscalls/msg" metric and row from each contender's median round.
/// Nothing when no counter is available.
pub(crate) fn syscall_rounds(
    s: &Settings,
    report: &mut Report,
    label: &str,
    servers: &BTreeMap<Contender, Server>,
    spec_of: impl Fn(&Server) -> Spec,
) {
    let Ok(tool) = s.syscalls else { return };
    let rounds = if tool.in_kernel() && !s.quick {
        PERF_ROUNDS
    } else {
        1
    };
    // The tracers stop counting at the end of each round but may take a
    // second to exit (perf closes its events, asleep): their counts are
    // collected after the last round.
    let mut pending: Vec<(Contender, u64, Stopped)> = Vec::new();
    let mut failed = Vec::new();
    for _ in 0..rounds {
        for &c in &s.contenders {
            if failed.contains(&c) {
                continue;
            }
            match traced_round(tool, &servers[&c], &spec_of, s) {
                Ok((messages, stopped)) => pending.push((c, messages, stopped)),
                Err(e) => {
                    report.fail(format!("{label} on {c}, counting system calls: {e}"));
                    failed.push(c);
                }
            }
        }
    }
    let mut traced: BTreeMap<Contender, Vec<Traced>> = BTreeMap::new();
    for (c, messages, stopped) in pending {
        match stopped.counts() {
            Ok(counts) => traced
                .entry(c)
                .or_default()
                .push(Traced { counts, messages }),
            Err(e) => {
                if !failed.contains(&c) {
                    report.fail(format!("{label} on {c}, counting system calls: {e}"));
                    failed.push(c);
                }
            }
        }
    }
    let mut row = BTreeMap::new();
    for (c, mut ts) in traced {
        if failed.contains(&c) {
            continue;
        }
        ts.sort_by(|a, b| {
            let per = |t: &Traced| t.per_msg(t.counts.total).unwrap_or(f64::INFINITY);
            per(a).total_cmp(&per(b))
        });
        let all = ts
            .iter()
            .map(|t| opt(t.per_msg(t.counts.total), |x| format!("{x:.2}")))
            .collect::<Vec<_>>()
            .join(", ");
        let t = ts.swap_remove(ts.len() / 2);
        eprintln!(
            "  {label} [{c}] traced: {} syscalls/msg ({}; rounds: {all})",
            opt(t.per_msg(t.counts.total), |x| format!("{x:.2}")),
            top_calls(&t, 3)
        );
        row.insert(c, t);
    }
    let values = row
        .iter()
        .filter_map(|(c, t)| Some((*c, t.per_msg(t.counts.total)?)))
        .collect();
    report.metric(label, "syscalls/msg", Better::Lower, values, None);
    report.syscalls.push((label.to_owned(), row));
}

/// One traced round against `srv`: the messages observed, and the
/// stopped tracer that holds their system calls.
fn traced_round(
    tool: SyscallTool,
    srv: &Server,
    spec_of: &impl Fn(&Server) -> Spec,
    s: &Settings,
) -> io::Result<(u64, Stopped)> {
    let mut spec = spec_of(srv);
    spec.warmup = Duration::from_millis(200);
    spec.window = s.syscall_window;
    let pid = srv.pid();
    let mut trace: Option<io::Result<SyscallTrace>> = None;
    let mut stopped: Option<io::Result<Stopped>> = None;
    let run = loadgen::run_observed(&spec, &mut |edge| match edge {
        Edge::Start => trace = Some(tool.attach(pid)),
        Edge::End => stopped = trace.take().map(|t| t.map(SyscallTrace::stop)),
    });
    if let Some(Ok(t)) = trace.take() {
        // The window never closed (the run failed): detach anyway.
        let _ = t.finish();
    }
    let o = run?;
    let stopped = stopped.unwrap_or_else(|| Err(io::Error::other("never attached")))?;
    Ok((o.observed, stopped))
}

/// The `n` most frequent system calls of `t`, per message (failed calls
/// in brackets where there were any).
fn top_calls(t: &Traced, n: usize) -> String {
    t.counts
        .by_name
        .iter()
        .take(n)
        .filter_map(|(name, calls, errors)| {
            let per = t.per_msg(*calls)?;
            Some(if *errors > 0 {
                format!(
                    "{name} {per:.2} ({:.2} failed)",
                    t.per_msg(*errors).unwrap_or(0.0)
                )
            } else {
                format!("{name} {per:.2}")
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The system-call section of the report.
pub(crate) fn syscall_section(s: &Settings, r: &Report) -> Option<(String, String)> {
    let tool = match &s.syscalls {
        Ok(tool) => *tool,
        Err(why) => {
            return Some((
                "System calls per message".into(),
                format!("System calls were {why}.\n"),
            ))
        }
    };
    if r.syscalls.is_empty() {
        return None;
    }
    let mut t = Table::new([
        "case",
        "runtime",
        "messages traced",
        "syscalls/msg",
        "most frequent, per message",
        "vs tokio",
    ]);
    for (label, row) in &r.syscalls {
        let totals: BTreeMap<Contender, f64> = row
            .iter()
            .filter_map(|(c, t)| Some((*c, t.per_msg(t.counts.total)?)))
            .collect();
        for &c in &s.contenders {
            let Some(tr) = row.get(&c) else {
                t.row([label.clone(), c.name().into(), "failed".into()]);
                continue;
            };
            t.row([
                label.clone(),
                c.name().into(),
                tr.messages.to_string(),
                opt(totals.get(&c).copied(), |x| format!("{x:.2}")),
                if tr.counts.by_name.is_empty() {
                    "(the tool counts totals only)".into()
                } else {
                    top_calls(tr, 4)
                },
                ratio_cell(&totals, c, Better::Lower),
            ]);
        }
    }
    Some((
        "System calls per message".into(),
        format!(
            "Counted by {} attached to each server over the window of {} extra \
             {} round per case and runtime (after the measured rounds, which are never \
             traced; the figures are the median round's). {} \
             The connections are opened before the window and closed after it, so \
             accepting and closing are not counted. The load is held at both edges: \
             before the tracer attaches and again before it detaches, the generator \
             sends nothing new until every message in flight has come back, so the \
             messages counted are exactly those whose whole exchange the tracer saw, \
             and the server handles no other meanwhile (what it does to go idle and \
             wake again at the edges is counted: a few calls per round). A message is \
             one echo or one HTTP request; \"failed\" counts calls that returned an error (such as \
             `EAGAIN` from a `recv` with nothing to read). vs tokio > 1: fewer system \
             calls than tokio.\n\n{t}",
            tool.describe(),
            if tool.in_kernel() && !s.quick {
                format!("{PERF_ROUNDS} (contenders alternating)")
            } else {
                "one".to_owned()
            },
            fmt_duration(s.syscall_window),
            if tool.in_kernel() {
                "The kernel counts the calls as they happen, so the traced server runs at \
                 nearly its own speed and makes the calls it makes untraced (calls not named \
                 in the breakdown count in the total only); perf starts with its events \
                 disabled and enables and disables them on command (`--control`), \
                 acknowledged, so counting spans exactly the held window."
            } else {
                "strace stops the server at every call, so a traced server runs several times \
                 slower and batches differently: a `recv` after a full read often finds the \
                 next message already there instead of failing with `EAGAIN`, so the failed \
                 counts are lower than untraced, and only the counts, not the rates, mean \
                 anything."
            },
        ),
    ))
}
