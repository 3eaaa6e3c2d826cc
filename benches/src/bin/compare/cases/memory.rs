//! `memory`: server memory per idle connection, and per idle task (from
//! `--task-mem` children).

use std::collections::BTreeMap;
use std::io;

use runtime_benches::procfs;
use runtime_benches::report::Table;

use super::herd::{herd_case, herd_procs};
use crate::child::ChildProc;
use crate::figures::{fmt_bytes, opt};
use crate::results::{ratio_cell, Better, Report, MEM_TARGET};
use crate::settings::Settings;
use crate::Res;

pub(crate) fn memory_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("memory");
    let n = s
        .idle_conns
        .min((procfs::raise_nofile() as usize).saturating_sub(64));
    let mut per_conn = BTreeMap::new();
    let mut t = Table::new([
        "runtime",
        "server RSS before",
        "after",
        "per idle connection",
        "vs tokio",
    ]);
    let mut rows = Vec::new();
    for &c in &s.contenders {
        match herd_case(s, c, n, herd_procs(n)) {
            Ok(h) => {
                let per = h.rss_after.saturating_sub(h.rss_before) as f64 / h.conns as f64;
                eprintln!(
                    "  idle connections [{c}]: {} per connection",
                    fmt_bytes(per)
                );
                per_conn.insert(c, per);
                rows.push((c, h));
            }
            Err(e) => report.fail(format!("{n} idle connections on {c}: {e}")),
        }
    }
    for (c, h) in &rows {
        t.row([
            c.name().to_owned(),
            fmt_bytes(h.rss_before as f64),
            fmt_bytes(h.rss_after as f64),
            fmt_bytes(per_conn[c]),
            ratio_cell(&per_conn, *c, Better::Lower),
        ]);
    }
    let label = format!("{n} idle connections");
    report.metric(
        &label,
        "RSS per connection",
        Better::Lower,
        per_conn,
        MEM_TARGET,
    );
    // Task size.
    let count: usize = if s.quick { 20_000 } else { 100_000 };
    let mut per_task = BTreeMap::new();
    let mut future_size = 0;
    for &c in &s.contenders {
        let args = vec![
            "--task-mem".into(),
            c.name().into(),
            "--workers".into(),
            s.workers.to_string(),
            "--count".into(),
            count.to_string(),
        ];
        let res = ChildProc::spawn(&args).and_then(|mut p| {
            let line = p.expect("")?;
            p.close();
            let mut it = line.split_whitespace();
            let per: f64 = it
                .next()
                .and_then(|x| x.parse().ok())
                .ok_or_else(|| io::Error::other(line.clone()))?;
            let fut: usize = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
            Ok((per, fut))
        });
        match res {
            Ok((per, fut)) => {
                eprintln!("  idle tasks [{c}]: {} per task", fmt_bytes(per));
                per_task.insert(c, per);
                future_size = fut;
            }
            Err(e) => report.fail(format!("task memory on {c}: {e}")),
        }
    }
    let mut tt = Table::new(["runtime", "RSS per idle task", "vs tokio"]);
    for &c in &s.contenders {
        tt.row([
            c.name().to_owned(),
            opt(per_task.get(&c).copied(), fmt_bytes),
            ratio_cell(&per_task, c, Better::Lower),
        ]);
    }
    report.metric(
        &format!("{count} idle tasks"),
        "RSS per task",
        Better::Lower,
        per_task,
        None,
    );
    report.sections.push((
        "Memory".into(),
        format!(
            "**Per idle connection**: a fresh echo server per runtime; {n} connections \
             each echo one 64-byte message (so every connection task has run and \
             allocated its 4 KiB buffer) and then sit idle; the server's VmRSS grows by \
             this much per connection (kernel socket buffers are not in RSS).\n\n{t}\n\
             **Task size**: {count} spawned tasks that each wait forever (the future is \
             {future_size} bytes); growth of the process's VmRSS per task once all have \
             been polled, so it includes the task header, the scheduler's bookkeeping \
             and the allocator's overhead.\n\n{tt}"
        ),
    ));
    Ok(())
}
