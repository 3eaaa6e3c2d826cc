//! What this binary does when it is one of its own **children**: each
//! function here is the whole of one child mode, picked by `dispatch` from
//! the first flag (`--serve`, `--micro`, `--herd`, `--load`; `--task-mem`
//! is a one-liner there). The parent side of each conversation (spawning,
//! the line protocol on standard I/O, stopping) is in [`crate::child`].

use std::io::{self, BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime_benches::args::Args;
use runtime_benches::contender::{self, http_hello, Contender, Service};
use runtime_benches::loadgen::{self, Herd, Mode, Protocol, Spec};
use runtime_benches::micro::MicroCase;
use runtime_benches::procfs;
use runtime_benches::report::fmt_duration;
use runtime_benches::rt::{BenchRuntime, Visit};
use runtime_benches::{sched, timers};

use crate::cases::http::HTTP_REQUEST;
use crate::figures::{fmt_rate, fmt_us, opt};
use crate::Res;

/// `--serve <runtime> --workers N --addr A --case echo|http|hyper|proxy
/// [--upstream A] [--cpus L]`: prints `listening <addr>` and serves until
/// standard input closes (`proxy` joins each connection to `--upstream`).
pub(crate) fn child_serve(c: Contender, mut args: Args) -> Res<()> {
    let workers = args.value("--workers")?.unwrap_or(2);
    let addr: SocketAddr = args
        .value("--addr")?
        .unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
    let case = args.value::<String>("--case")?;
    let upstream: Option<SocketAddr> = args.value("--upstream")?;
    let service = Service::from_case(case.as_deref().unwrap_or("echo"), upstream)?;
    if !c.serves(service) {
        return Err(format!("{c} has no {} server", service.case()).into());
    }
    let cpus = args.value::<String>("--cpus")?;
    args.finish()?;
    if let Some(cpus) = cpus.as_deref().and_then(procfs::parse_cpus) {
        procfs::pin_current_thread(&cpus)?;
    }
    let listener = contender::listen(addr)?;
    println!("listening {}", listener.local_addr()?);
    io::stdout().flush()?;
    c.serve(workers, listener, service)?;
    Ok(())
}

/// `--micro <runtime> --workers N [--quick]`: for each case name read from
/// standard input (a scheduler or a timer case), runs one round and prints
/// `<wall ns> <cpu ns>` per repetition.
pub(crate) fn child_micro(c: Contender, mut args: Args) -> Res<()> {
    let workers = args.value("--workers")?.unwrap_or(2);
    let quick = args.flag("--quick");
    let cpus = args.value::<String>("--cpus")?;
    args.finish()?;
    if let Some(cpus) = cpus.as_deref().and_then(procfs::parse_cpus) {
        procfs::pin_current_thread(&cpus)?;
    }
    struct Micro {
        sched: sched::Params,
        timers: timers::Params,
        workers: usize,
    }
    impl Visit for Micro {
        type Output = io::Result<()>;
        fn visit<R: BenchRuntime>(self, rt: &R) -> io::Result<()> {
            let mut out = io::stdout();
            for line in io::stdin().lock().lines() {
                let line = line?;
                let name = line.trim();
                let s = if let Some(case) = sched::Case::from_name(name) {
                    case.round(rt, &self.sched, self.workers)
                } else if let Some(case) = timers::Case::from_name(name) {
                    case.round(rt, &self.timers, self.workers)
                } else {
                    writeln!(out, "error unknown case {line:?}")?;
                    continue;
                };
                writeln!(out, "{} {}", s.wall.as_nanos(), s.cpu.as_nanos())?;
                out.flush()?;
            }
            Ok(())
        }
    }
    let micro = Micro {
        sched: sched::Case::params(quick),
        timers: timers::Case::params(quick),
        workers,
    };
    c.visit(workers, micro)??;
    std::process::exit(0);
}

/// `--herd --addr A --conns N [--src IP] [--first-id K]`: opens the
/// connections (one echo each), prints `connected <ns>`; then for each line
/// `echo` on standard input echoes once on all and prints `echoed <ns>`;
/// exits when standard input closes.
pub(crate) fn child_herd(mut args: Args) -> Res<()> {
    let addr: SocketAddr = args.value("--addr")?.ok_or("--herd needs --addr")?;
    let n: usize = args.value("--conns")?.ok_or("--herd needs --conns")?;
    let src: Option<IpAddr> = args.value("--src")?;
    let first_id: u64 = args.value("--first-id")?.unwrap_or(0);
    args.finish()?;
    let mut out = io::stdout();
    let t = Instant::now();
    let mut herd = match Herd::connect(addr, src, n, 256, first_id) {
        Ok(h) => h,
        Err(e) => {
            writeln!(out, "error {e}")?;
            std::process::exit(1);
        }
    };
    writeln!(out, "connected {}", t.elapsed().as_nanos())?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        if line?.trim() == "echo" {
            let t = Instant::now();
            match herd.echo_all(256) {
                Ok(()) => writeln!(out, "echoed {}", t.elapsed().as_nanos())?,
                Err(e) => writeln!(out, "error {e}")?,
            }
            out.flush()?;
        }
    }
    std::process::exit(0);
}

/// `--load --addr A [--conns 100] [--size 64 | --http | --hyper]
/// [--depth 1] [--rate R] [--secs 5] [--threads 1] [--pid P]`: the load
/// generator on its own, against any server (for profiling one runtime by
/// hand); `--hyper` expects the `hyper` case's answers.
pub(crate) fn load_alone(mut args: Args) -> Res<()> {
    let addr: SocketAddr = args.value("--addr")?.ok_or("--load needs --addr")?;
    let http = args.flag("--http");
    let hyper = args.flag("--hyper");
    let size: usize = args.value("--size")?.unwrap_or(64);
    let depth: usize = args.value("--depth")?.unwrap_or(1);
    let rate: Option<f64> = args.value("--rate")?;
    let secs: f64 = args.value("--secs")?.unwrap_or(5.0);
    let spec = Spec {
        addr,
        conns: args.value("--conns")?.unwrap_or(100),
        threads: args.value("--threads")?.unwrap_or(1),
        protocol: if hyper {
            runtime_benches::hyper_hello::protocol()
        } else if http {
            Protocol::Fixed {
                request: Arc::from(HTTP_REQUEST),
                response: Arc::from(http_hello::HELLO),
                unchecked: http_hello::HELLO_DATE,
            }
        } else {
            Protocol::Echo { size }
        },
        mode: match rate {
            Some(rate) => Mode::Open { rate },
            None => Mode::Closed { depth },
        },
        warmup: Duration::from_millis(500),
        window: Duration::from_secs_f64(secs),
        cpus: None,
        server_pid: args.value("--pid")?,
    };
    args.finish()?;
    let o = loadgen::run(&spec)?;
    println!(
        "{}/s, p50 {}, p99 {}, p99.9 {}, server CPU/msg {}, unanswered {}",
        fmt_rate(o.rate()),
        fmt_duration(o.latency.percentile(50.0)),
        fmt_duration(o.latency.percentile(99.0)),
        fmt_duration(o.latency.percentile(99.9)),
        opt(o.cpu_per_msg_us(), fmt_us),
        o.unfinished
    );
    Ok(())
}
