//! `compare`: `runtime` and tokio (each multi-thread and current-thread)
//! against each other and smol, every case in one command.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin compare            # about 19 minutes on 2 cores
//! cargo run --release -p runtime-benches --bin compare -- --quick # about 1 minute
//! ```
//!
//! Each runtime serves from its own **child process** (this binary run
//! again as `compare --serve <runtime> ...`), so the server's CPU time and
//! memory, read from `/proc/<pid>`, are its own. The load comes from this
//! process: the [`loadgen`](runtime_benches::loadgen) module, raw epoll
//! over non-blocking sockets on threads of its own, checking every byte
//! (or `wrk` for HTTP when it is installed). The runtimes take turns round
//! by round (A B C, B C A, …) and the report gives medians and ratios
//! against tokio.
//!
//! The sections, in run order (`--only` picks some; all but `scaling` run
//! by default):
//!
//! - `headline`: echo and HTTP keep-alive at a fixed offered rate, servers
//!   and generator pinned apart (on 2 CPUs: servers on CPU 1, generator on
//!   CPU 0); the report opens with their server CPU per message;
//! - `echo`, `echo-rate`: TCP echo, closed loop and at a fixed offered rate;
//! - `http`: HTTP/1.1 hello world, keep-alive and pipelined;
//! - `hyper`: hyper 1.x's HTTP/1.1 server on `runtime` and on tokio, one
//!   handler, keep-alive (`runtime` and tokio set-ups only);
//! - `proxy`: a TCP proxy to an echo backend on each runtime's
//!   `copy_bidirectional`, 64 KiB messages, CPU per GiB forwarded
//!   (`runtime` and tokio set-ups only);
//! - `sched`: the scheduler micro-benchmarks
//!   ([`runtime_benches::sched`]);
//! - `timers`: the timer benchmarks ([`runtime_benches::timers`]: spread
//!   sleeps, timeouts registered and cancelled, 1 ms intervals);
//! - `sync`: `runtime::sync` against `tokio::sync` (channels, locks,
//!   `Notify`; [`runtime_benches::sync_chan`], [`runtime_benches::sync_locks`]);
//! - `memory`: memory per idle connection and per task;
//! - `scale`: as many concurrent connections as the limits allow;
//! - `scaling`: echo with 1 to 16 workers (meant for many-core machines).
//!
//! After the measured rounds of each closed-loop echo and HTTP case, three
//! more rounds per runtime (alternating) run with a tracer attached to the
//! server over the window only: `perf` on the kernel's per-call
//! tracepoints where it can open them, else `strace -f -c` (one round: it
//! slows the server too much for more). The report gives the median
//! round's system calls per message, in total and for the most frequent
//! calls ([`syscalls`]).
//!
//! `sched` and `timers` run in **micro children** (`compare --micro
//! <runtime> ...`), one per runtime, which take case names on standard
//! input and answer with the wall and CPU time of one round.
//!
//! The report goes to `benches/results/latest.md` and `latest.svg`
//! (`quick.md`/`quick.svg` with `--quick`). See `--help` for the options.
//!
//! # Layout
//!
//! This file holds the command line (`USAGE`), the section names and the
//! run itself (`run`: every section in order). The rest, by concern:
//!
//! - [`settings`]: the command line parsed into [`Settings`];
//! - [`roles`]: what this binary does as a child (`--serve`, `--micro`,
//!   `--herd`, `--load`), and [`child`]: spawning, talking to and stopping
//!   those children from the parent, servers pinned where asked;
//! - [`cases`]: one module per case family (a section of the report), and
//!   the driver of the in-process families;
//! - [`rounds`]: running a load case on every contender, alternating, and
//!   its table; [`syscalls`]: the traced rounds that count system calls;
//! - [`results`]: what is collected ([`Report`], metrics, targets),
//!   [`figures`]: how numbers are written, [`misses`]: what the report
//!   says of each missed target, and [`output`]: the markdown report and
//!   the SVG chart.

mod cases;
mod child;
mod figures;
mod misses;
mod output;
mod results;
mod roles;
mod rounds;
mod settings;
mod syscalls;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use runtime_benches::args::Args;
use runtime_benches::contender::Contender;
use runtime_benches::procfs;

use crate::cases::echo::echo_section;
use crate::cases::headline::headline_section;
use crate::cases::http::http_section;
use crate::cases::hyper::hyper_section;
use crate::cases::memory::memory_section;
use crate::cases::proxy::proxy_section;
use crate::cases::scale::scale_section;
use crate::cases::scaling::scaling_section;
use crate::cases::sched::sched_section;
use crate::cases::sync::sync_section;
use crate::cases::timers::timers_section;
use crate::output::write_report;
use crate::results::Report;
use crate::roles::{child_herd, child_micro, child_serve, load_alone};
use crate::settings::Settings;

const USAGE: &str = "\
usage: compare [--quick] [--workers N] [--rounds N] [--runtimes L] [--only L]
               [--scaling] [--gen-threads N] [--http-gen wrk|builtin]
               [--idle-conns N] [--max-conns N] [--rate-fraction F]
               [--headline-rate R] [--no-syscalls] [--syscall-tool T]
               [--out DIR]

  --quick          about one minute: 1 round, short windows, fewer connections
  --workers N      worker threads of every runtime (default 2)
  --rounds N       measured rounds per case and runtime (default 5; 1 quick)
  --runtimes L     comma-separated subset of runtime, runtime-thread,
                   runtime-ct, tokio, tokio-ct, smol (default all; ratios
                   need tokio)
  --only L         run only these sections: headline, echo, echo-rate, http,
                   hyper, proxy, sched, timers, sync, memory, scale, scaling
                   (default all but scaling)
  --scaling        also run the echo case with 1, 2, 4, 8 and 16 workers
                   (meant for many-core machines)
  --gen-threads N  load generator threads (default: 1 on fewer than 4 CPUs,
                   else the generator's half of the CPUs, at most 8)
  --http-gen G     HTTP load from wrk (default when installed) or builtin
  --idle-conns N   connections of the idle-memory case (default 10000)
  --max-conns N    cap on the connection-scale case (default: what the
                   file-descriptor limit and memory allow; 5000 with --quick)
  --rate-fraction F  the open-loop rate as a fraction of tokio's closed-loop
                   rate (default 0.5 where server and generator are pinned
                   apart, 0.25 where they share the CPUs)
  --headline-rate R  the offered rate of the pinned headline cases, messages
                   or requests per second (default 20000)
  --no-syscalls    skip the traced rounds that count system calls per
                   message (skipped too when neither perf nor strace runs)
  --syscall-tool T  count them with perf (the kernel's tracepoints; the
                   default where perf can open them) or strace (stops the
                   server at every call; the default otherwise)
  --out DIR        where the report goes (default benches/results)

The load generator alone, against any server (e.g. to profile one):
  compare --load --addr A [--conns 100] [--size 64 | --http | --hyper]
                 [--depth 1] [--rate R] [--secs 5] [--threads 1]
                 [--pid SERVER_PID]";

/// Sections of the run, in order.
pub(crate) const SECTIONS: [&str; 12] = [
    "headline",
    "echo",
    "echo-rate",
    "http",
    "hyper",
    "proxy",
    "sched",
    "timers",
    "sync",
    "memory",
    "scale",
    "scaling",
];

fn main() -> ExitCode {
    match dispatch() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}\n\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn dispatch() -> Res<()> {
    let mut args = Args::from_env();
    if args.flag("--help") || args.flag("-h") {
        println!("{USAGE}");
        return Ok(());
    }
    procfs::raise_nofile();
    if let Some(c) = args.value::<Contender>("--serve")? {
        return child_serve(c, args);
    }
    if let Some(c) = args.value::<Contender>("--micro")? {
        return child_micro(c, args);
    }
    if let Some(c) = args.value::<Contender>("--task-mem")? {
        let workers = args.value("--workers")?.unwrap_or(2);
        let count = args.value("--count")?.unwrap_or(100_000);
        args.finish()?;
        let (per_task, future) = c.task_memory(workers, count)?;
        println!("{per_task} {future}");
        std::process::exit(0);
    }
    if args.flag("--herd") {
        return child_herd(args);
    }
    if args.flag("--load") {
        return load_alone(args);
    }
    let settings = Settings::parse(args)?;
    run(settings)
}

fn run(s: Settings) -> Res<()> {
    let started = Instant::now();
    let load_before = procfs::load_average();
    let mut report = Report::default();
    let cpus = procfs::cpus();
    eprintln!(
        "compare: {} workers, {} rounds, {} ({}); runtimes {}",
        s.workers,
        s.rounds,
        if s.quick { "quick" } else { "full" },
        match &s.server_cpus {
            Some(c) => format!(
                "server on CPUs {}, generator on the rest",
                procfs::format_cpus(c)
            ),
            None => format!("{cpus} CPUs: server and generator not pinned"),
        },
        s.contenders
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if s.wants("headline") {
        headline_section(&s, &mut report)?;
    }
    let mut tokio_closed_rates = BTreeMap::new();
    let part = |section: &str| s.for_section(section).filter(|_| s.wants(section));
    if let Some(sub) = part("echo").or_else(|| part("echo-rate")) {
        echo_section(&sub, &mut report, &mut tokio_closed_rates)?;
    }
    if let Some(sub) = part("http") {
        http_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("hyper") {
        hyper_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("proxy") {
        proxy_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("sched") {
        sched_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("timers") {
        timers_section(&sub, &mut report)?;
    }
    if s.wants("sync") && s.contenders.contains(&Contender::Tokio) {
        sync_section(&s, &mut report)?;
    }
    if let Some(sub) = part("memory") {
        memory_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("scale") {
        scale_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("scaling") {
        scaling_section(&sub, &mut report)?;
    }
    let load = (load_before, procfs::load_average());
    write_report(&s, &report, started.elapsed(), load)
}
