//! `http`: HTTP/1.1 hello world, keep-alive (from wrk where installed,
//! else the built-in generator) and pipelined (built-in generator).

use std::collections::BTreeMap;
use std::io;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use runtime_benches::contender::{http_hello, Contender, Service};
use runtime_benches::hist::Histogram;
use runtime_benches::loadgen::{self, Mode, Protocol};
use runtime_benches::procfs;

use crate::child::{start_servers, Server};
use crate::results::{LoadStats, Report, P99_TARGET};
use crate::rounds::{alternate, alternate_runs, load_table};
use crate::settings::{HttpGen, Settings};
use crate::syscalls::syscall_rounds;
use crate::Res;

/// The request both HTTP generators send.
pub(crate) const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Connections of the HTTP cases.
pub(crate) const HTTP_CONNS: usize = 100;

/// Requests in flight per connection in the pipelined case.
const HTTP_PIPELINE: usize = 16;

pub(crate) fn http_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("http");
    let servers = start_servers(s, Service::Http, s.workers)?;
    let http = Protocol::Fixed {
        request: Arc::from(HTTP_REQUEST),
        response: Arc::from(http_hello::HELLO),
        unchecked: http_hello::HELLO_DATE,
    };
    let label = format!("http keep-alive {HTTP_CONNS} conns");
    let (stats, how) = match s.http_gen {
        HttpGen::Builtin => (
            alternate(s, report, &label, &servers, |srv| {
                s.spec(srv, HTTP_CONNS, http.clone(), Mode::Closed { depth: 1 })
            }),
            "the built-in generator (closed loop, one request in flight per connection)".to_owned(),
        ),
        HttpGen::Wrk => (
            {
                let mut stats = wrk_rounds(s, report, &label, &servers);
                // wrk reports no p99.9.
                for st in stats.values_mut() {
                    for p in &mut st.percentiles {
                        p[2] = f64::NAN;
                    }
                }
                stats
            },
            format!(
                "`wrk -t{} -c{HTTP_CONNS} -d{}s --latency` (wrk reports no p99.9; \
                 its latency is corrected for coordinated omission; CPU is sampled around the whole wrk run)",
                s.gen_threads,
                wrk_seconds(s)
            ),
        ),
    };
    report.rate_and_cpu(&label, &stats, "requests/s", "server CPU/request");
    // Traced with the built-in generator whatever made the load above.
    syscall_rounds(s, report, &label, &servers, |srv| {
        s.spec(srv, HTTP_CONNS, http.clone(), Mode::Closed { depth: 1 })
    });
    report.pct_metric(&label, "p99", 99.0, &stats, P99_TARGET);
    let mut rows = vec![(label, stats)];
    let label = format!("http pipelined ×{HTTP_PIPELINE}, {HTTP_CONNS} conns");
    let stats = alternate(s, report, &label, &servers, |srv| {
        s.spec(
            srv,
            HTTP_CONNS,
            http.clone(),
            Mode::Closed {
                depth: HTTP_PIPELINE,
            },
        )
    });
    report.rate_and_cpu(&label, &stats, "requests/s", "server CPU/request");
    syscall_rounds(s, report, &label, &servers, |srv| {
        s.spec(
            srv,
            HTTP_CONNS,
            http.clone(),
            Mode::Closed {
                depth: HTTP_PIPELINE,
            },
        )
    });
    rows.push((label, stats));
    report.sections.push((
        "HTTP/1.1 hello world".into(),
        format!(
            "`GET /` answered `200 Hello, World!` by `runtime/examples/http_hello.rs` \
             (for tokio and smol: its `respond` in a connection loop of the same shape). \
             Keep-alive load from {how}; the pipelined case (built-in generator, every \
             response checked byte for byte and in order) keeps {HTTP_PIPELINE} requests \
             in flight per connection.\n\n{}",
            load_table(&rows, &s.contenders, "req")
        ),
    ));
    for (_, srv) in servers {
        srv.proc.close();
    }
    Ok(())
}

fn wrk_seconds(s: &Settings) -> u64 {
    (s.warmup + s.window).as_secs_f64().ceil().max(1.0) as u64
}

fn wrk_rounds(
    s: &Settings,
    report: &mut Report,
    label: &str,
    servers: &BTreeMap<Contender, Server>,
) -> BTreeMap<Contender, LoadStats> {
    alternate_runs(s, report, label, " (wrk)", "req", servers, |srv| {
        wrk_once(s, srv)
    })
}

/// Runs wrk once against `srv`; its latency percentiles go into the
/// histogram as weighted samples, so that the histogram's percentiles are
/// wrk's.
fn wrk_once(s: &Settings, srv: &Server) -> io::Result<loadgen::Outcome> {
    let secs = wrk_seconds(s);
    let mut cmd = Command::new("wrk");
    if let Some(cpus) = &s.gen_cpus {
        // wrk has no pinning option; taskset is part of util-linux.
        cmd = Command::new("taskset");
        cmd.args(["-c", &procfs::format_cpus(cpus), "wrk"]);
    }
    cmd.args([
        format!("-t{}", s.gen_threads),
        format!("-c{HTTP_CONNS}"),
        format!("-d{secs}s"),
        "--latency".into(),
        format!("http://{}/", srv.addr),
    ]);
    let before = procfs::cpu_split_of(srv.pid());
    let out = cmd.output()?;
    let after = procfs::cpu_split_of(srv.pid());
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!("wrk failed: {text}")));
    }
    let parse_dur = |v: &str| -> Option<Duration> {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
        let x: f64 = num.parse().ok()?;
        let secs = match unit {
            "us" => x / 1e6,
            "ms" => x / 1e3,
            "s" => x,
            "m" => x * 60.0,
            _ => return None,
        };
        Some(Duration::from_secs_f64(secs))
    };
    let mut requests = None;
    let mut elapsed = None;
    let mut latency = Histogram::new();
    let mut errors = Vec::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [n, "requests", "in", d, ..] => {
                requests = n.parse::<u64>().ok();
                elapsed = parse_dur(d.trim_end_matches(','));
            }
            [p, v] if p.ends_with('%') => {
                if let (Ok(p), Some(v)) = (p.trim_end_matches('%').parse::<f64>(), parse_dur(v)) {
                    // Weight the sample so that percentiles of the histogram
                    // land on wrk's: p50 covers 50 %, p75 the next 25 %, …
                    let weight = match p as u32 {
                        50 => 50,
                        75 => 25,
                        90 => 15,
                        99 => 9,
                        _ => 1,
                    };
                    for _ in 0..weight {
                        latency.record(v);
                    }
                }
            }
            ["Non-2xx", ..] | ["Socket", "errors:", ..] => errors.push(line.to_owned()),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(io::Error::other(errors.join("; ")));
    }
    let requests =
        requests.ok_or_else(|| io::Error::other(format!("cannot parse wrk output: {text}")))?;
    let elapsed = elapsed.unwrap_or(Duration::from_secs(secs));
    Ok(loadgen::Outcome {
        completed: requests,
        window: elapsed,
        latency,
        server_cpu: before.zip(after).map(|(b, a)| a.since(b).total()),
        server_system: before.zip(after).map(|(b, a)| a.since(b).system),
        unfinished: 0,
        observed: requests,
    })
}
