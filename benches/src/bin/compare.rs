//! `compare`: `runtime` and tokio (each multi-thread and current-thread)
//! against each other and smol, every case in one command.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin compare            # about 10 minutes
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
//!
//! After the measured rounds of each closed-loop echo and HTTP case, one
//! more short round per runtime runs with `strace -f -c` (or `perf stat`)
//! attached to the server over the window only: the report gives system
//! calls per message, in total and for the most frequent calls.
//! - `sched`: the scheduler micro-benchmarks
//!   ([`runtime_benches::sched`]);
//! - `timers`: the timer benchmarks ([`runtime_benches::timers`]: spread
//!   sleeps, timeouts registered and cancelled, 1 ms intervals);
//! - `memory`: memory per idle connection and per task;
//! - `scale`: as many concurrent connections as the limits allow;
//! - `scaling`: echo with 1 to 16 workers (meant for many-core machines).
//!
//! `sched` and `timers` run in **micro children** (`compare --micro
//! <runtime> ...`), one per runtime, which take case names on standard
//! input and answer with the wall and CPU time of one round.
//!
//! The report goes to `benches/results/latest.md` and `latest.svg`
//! (`quick.md`/`quick.svg` with `--quick`). See `--help` for the options.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use runtime_benches::args::Args;
use runtime_benches::contender::{self, http_hello, Contender, Service};
use runtime_benches::hist::Histogram;
use runtime_benches::loadgen::{self, Edge, Herd, Mode, Protocol, Spec};
use runtime_benches::micro::MicroCase;
use runtime_benches::procfs::{self, SyscallCounts, SyscallTool, SyscallTrace};
use runtime_benches::report::{fmt_duration, Table};
use runtime_benches::rt::{BenchRuntime, Visit};
use runtime_benches::svg::{Chart, Group};
use runtime_benches::{sched, timers};

const USAGE: &str = "\
usage: compare [--quick] [--workers N] [--rounds N] [--runtimes L] [--only L]
               [--scaling] [--gen-threads N] [--http-gen wrk|builtin]
               [--idle-conns N] [--max-conns N] [--rate-fraction F]
               [--headline-rate R] [--no-syscalls] [--out DIR]

  --quick          about one minute: 1 round, short windows, fewer connections
  --workers N      worker threads of every runtime (default 2)
  --rounds N       measured rounds per case and runtime (default 5; 1 quick)
  --runtimes L     comma-separated subset of runtime, runtime-thread,
                   runtime-ct, tokio, tokio-ct, smol (default all; ratios
                   need tokio)
  --only L         run only these sections: headline, echo, echo-rate, http,
                   sched, timers, memory, scale, scaling (default all but
                   scaling)
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
                   message (strace, else perf; skipped when neither runs)
  --out DIR        where the report goes (default benches/results)

The load generator alone, against any server (e.g. to profile one):
  compare --load --addr A [--conns 100] [--size 64 | --http] [--depth 1]
                 [--rate R] [--secs 5] [--threads 1] [--pid SERVER_PID]";

/// Sections of the run, in order.
const SECTIONS: [&str; 9] = [
    "headline",
    "echo",
    "echo-rate",
    "http",
    "sched",
    "timers",
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

type Res<T> = Result<T, Box<dyn std::error::Error>>;

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

// ---------------------------------------------------------------------------
// Child processes.

/// `--serve <runtime> --workers N --addr A --case echo|http [--cpus L]`:
/// prints `listening <addr>` and serves until standard input closes.
fn child_serve(c: Contender, mut args: Args) -> Res<()> {
    let workers = args.value("--workers")?.unwrap_or(2);
    let addr: SocketAddr = args
        .value("--addr")?
        .unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
    let service: Service = args.value("--case")?.unwrap_or(Service::Echo);
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
fn child_micro(c: Contender, mut args: Args) -> Res<()> {
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
fn child_herd(mut args: Args) -> Res<()> {
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

/// `--load --addr A [--conns 100] [--size 64 | --http] [--depth 1]
/// [--rate R] [--secs 5] [--threads 1] [--pid P]`: the load generator on
/// its own, against any server (for profiling one runtime by hand).
fn load_alone(mut args: Args) -> Res<()> {
    let addr: SocketAddr = args.value("--addr")?.ok_or("--load needs --addr")?;
    let http = args.flag("--http");
    let size: usize = args.value("--size")?.unwrap_or(64);
    let depth: usize = args.value("--depth")?.unwrap_or(1);
    let rate: Option<f64> = args.value("--rate")?;
    let secs: f64 = args.value("--secs")?.unwrap_or(5.0);
    let spec = Spec {
        addr,
        conns: args.value("--conns")?.unwrap_or(100),
        threads: args.value("--threads")?.unwrap_or(1),
        protocol: if http {
            Protocol::Fixed {
                request: Arc::from(HTTP_REQUEST),
                response: Arc::from(http_hello::HELLO),
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

/// A child process of this binary with line-based standard I/O.
struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProc {
    fn spawn(args: &[String]) -> io::Result<ChildProc> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(ChildProc {
            child,
            stdin,
            stdout,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin closed"))?;
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }

    /// The next line, which must start with `word`; the rest is returned.
    fn expect(&mut self, word: &str) -> io::Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(io::Error::other(format!(
                "child {} exited before saying {word:?}",
                self.pid()
            )));
        }
        let line = line.trim();
        match line.strip_prefix(word) {
            Some(rest) => Ok(rest.trim().to_owned()),
            None => Err(io::Error::other(format!(
                "child said {line:?}, expected {word:?}"
            ))),
        }
    }

    /// Closes standard input and waits (up to 5 s) for the child to exit,
    /// killing it otherwise.
    fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// A server child process.
struct Server {
    proc: ChildProc,
    addr: SocketAddr,
}

impl Server {
    fn start(
        c: Contender,
        workers: usize,
        service: Service,
        cpus: Option<&[usize]>,
    ) -> io::Result<Server> {
        let mut args: Vec<String> = vec![
            "--serve".into(),
            c.name().into(),
            "--workers".into(),
            workers.to_string(),
            "--addr".into(),
            "127.0.0.1:0".into(),
            "--case".into(),
            match service {
                Service::Echo => "echo",
                Service::Http => "http",
            }
            .into(),
        ];
        if let Some(cpus) = cpus {
            args.extend(["--cpus".into(), procfs::format_cpus(cpus)]);
        }
        let mut proc = ChildProc::spawn(&args)?;
        let addr = proc
            .expect("listening")?
            .parse()
            .map_err(|e| io::Error::other(format!("bad address from server: {e}")))?;
        Ok(Server { proc, addr })
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }

    fn rss(&self) -> Option<u64> {
        procfs::rss_of(self.pid())
    }
}

// ---------------------------------------------------------------------------
// Settings.

/// How HTTP load is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpGen {
    Wrk,
    Builtin,
}

#[derive(Clone)]
struct Settings {
    quick: bool,
    workers: usize,
    rounds: usize,
    micro_rounds: usize,
    warmup: Duration,
    window: Duration,
    contenders: Vec<Contender>,
    sections: Vec<&'static str>,
    gen_threads: usize,
    server_cpus: Option<Vec<usize>>,
    gen_cpus: Option<Vec<usize>>,
    http_gen: HttpGen,
    idle_conns: usize,
    max_conns: Option<usize>,
    rate_fraction: f64,
    headline_rate: f64,
    /// The tool that counts system calls, or why there is none.
    syscalls: Result<SyscallTool, String>,
    /// The window of a traced round.
    syscall_window: Duration,
    out: PathBuf,
}

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Settings {
    fn parse(mut args: Args) -> Res<Settings> {
        let quick = args.flag("--quick");
        let scaling = args.flag("--scaling");
        let workers: usize = args.value("--workers")?.unwrap_or(2);
        let rounds: usize = args.value("--rounds")?.unwrap_or(if quick { 1 } else { 5 });
        let contenders: Vec<Contender> = match args.value::<String>("--runtimes")? {
            None => Contender::ALL.to_vec(),
            Some(l) => l.split(',').map(str::parse).collect::<Result<_, _>>()?,
        };
        let mut sections: Vec<&'static str> = match args.value::<String>("--only")? {
            // Every section but `scaling`, which is meant for many cores.
            None => SECTIONS.into_iter().filter(|x| *x != "scaling").collect(),
            Some(l) => l
                .split(',')
                .map(|s| {
                    SECTIONS
                        .into_iter()
                        .find(|x| *x == s)
                        .ok_or_else(|| format!("unknown section {s:?}"))
                })
                .collect::<Result<_, _>>()?,
        };
        if scaling && !sections.contains(&"scaling") {
            sections.push("scaling");
        }
        let cpus = procfs::cpus();
        // Pin the servers and the generator apart only when each side gets
        // at least two CPUs.
        let (server_cpus, gen_cpus) = if cpus >= 4 {
            let half = cpus / 2;
            (
                Some((0..half).collect::<Vec<_>>()),
                Some((half..cpus).collect::<Vec<_>>()),
            )
        } else {
            (None, None)
        };
        let gen_threads = args
            .value("--gen-threads")?
            .unwrap_or_else(|| gen_cpus.as_ref().map_or(1, |c: &Vec<usize>| c.len().min(8)));
        let http_gen = match args.value::<String>("--http-gen")?.as_deref() {
            None if wrk_installed() => HttpGen::Wrk,
            None | Some("builtin") => HttpGen::Builtin,
            Some("wrk") if wrk_installed() => HttpGen::Wrk,
            Some("wrk") => {
                return Err("--http-gen wrk: wrk is not installed (apt-get install wrk)".into())
            }
            Some(g) => return Err(format!("unknown --http-gen {g:?}").into()),
        };
        let idle_conns = args
            .value("--idle-conns")?
            .unwrap_or(if quick { 2_000 } else { 10_000 });
        let max_conns = args
            .value("--max-conns")?
            .or(if quick { Some(5_000) } else { None });
        let rate_fraction = args
            .value("--rate-fraction")?
            .unwrap_or(if server_cpus.is_some() { 0.5 } else { 0.25 });
        let headline_rate: f64 = args.value("--headline-rate")?.unwrap_or(20_000.0);
        let syscalls = if args.flag("--no-syscalls") {
            Err("not counted (--no-syscalls)".to_owned())
        } else {
            SyscallTool::detect().ok_or_else(|| {
                "not available: neither strace nor perf runs here \
                 (`apt-get install -y strace` adds it)"
                    .to_owned()
            })
        };
        let out = args
            .value::<PathBuf>("--out")?
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results")));
        args.finish()?;
        if !(headline_rate.is_finite() && headline_rate > 0.0) {
            return Err("--headline-rate must be a positive number".into());
        }
        if workers == 0 || rounds == 0 || gen_threads == 0 || contenders.is_empty() {
            return Err(
                "--workers, --rounds, --gen-threads and --runtimes must not be empty or 0".into(),
            );
        }
        Ok(Settings {
            quick,
            workers,
            rounds,
            micro_rounds: if quick { 3 } else { 10 },
            warmup: Duration::from_millis(if quick { 200 } else { 400 }),
            window: Duration::from_millis(if quick { 500 } else { 1500 }),
            contenders,
            sections,
            gen_threads,
            server_cpus,
            gen_cpus,
            http_gen,
            idle_conns,
            max_conns,
            rate_fraction,
            headline_rate,
            syscalls,
            syscall_window: Duration::from_millis(if quick { 300 } else { 500 }),
            out,
        })
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }

    /// These settings with only the contenders that take part in `section`
    /// (`raw-epoll` has echo servers only); `None` if none does.
    fn for_section(&self, section: &str) -> Option<Settings> {
        let mut sub = self.clone();
        sub.contenders.retain(|c| c.in_section(section));
        (!sub.contenders.is_empty()).then_some(sub)
    }

    /// The round-robin order of round `r`: every contender once, starting
    /// one further each round.
    fn order(&self, r: usize) -> impl Iterator<Item = Contender> + '_ {
        let n = self.contenders.len();
        (0..n).map(move |i| self.contenders[(r + i) % n])
    }

    fn spec(&self, server: &Server, conns: usize, protocol: Protocol, mode: Mode) -> Spec {
        Spec {
            addr: server.addr,
            conns,
            threads: self.gen_threads,
            protocol,
            mode,
            warmup: self.warmup,
            window: self.window,
            cpus: self.gen_cpus.clone(),
            server_pid: Some(server.pid()),
        }
    }
}

// ---------------------------------------------------------------------------
// Results.

/// Which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

/// One metric of one case, per contender.
struct Metric {
    case: String,
    metric: &'static str,
    better: Better,
    values: BTreeMap<Contender, f64>,
    /// The goal for `runtime`, as an advantage over tokio, and its wording.
    target: Option<(f64, &'static str)>,
}

impl Metric {
    /// How much better than tokio `c` is (> 1: better), if both were
    /// measured.
    fn advantage(&self, c: Contender) -> Option<f64> {
        let t = *self.values.get(&Contender::Tokio)?;
        let v = *self.values.get(&c)?;
        if t <= 0.0 || v <= 0.0 {
            return None;
        }
        Some(match self.better {
            Better::Lower => t / v,
            Better::Higher => v / t,
        })
    }
}

/// Everything measured, plus the report's text sections.
#[derive(Default)]
struct Report {
    metrics: Vec<Metric>,
    /// (heading, markdown body) in run order.
    sections: Vec<(String, String)>,
    /// Things that went wrong (a failed run of one contender, …).
    failures: Vec<String>,
    /// The pinned fixed-rate cases: the table that opens the report, and
    /// how they were run.
    headline: Option<(Table, String)>,
    /// System calls per message: (case, per contender).
    syscalls: Vec<(String, BTreeMap<Contender, Traced>)>,
}

/// One traced round: the server's system calls over the window and the
/// messages completed in it.
struct Traced {
    counts: SyscallCounts,
    messages: u64,
}

impl Traced {
    fn per_msg(&self, n: u64) -> Option<f64> {
        (self.messages > 0).then(|| n as f64 / self.messages as f64)
    }
}

const CPU_TARGET: Option<(f64, &str)> = Some((1.0 / 0.95, "CPU ≤ 0.95 × tokio"));
const P99_TARGET: Option<(f64, &str)> = Some((1.0, "p99 ≤ tokio"));
const MICRO_TARGET: Option<(f64, &str)> = Some((1.2, "≥ 1.2 × tokio"));
const TIMER_TARGET: Option<(f64, &str)> = Some((1.0, "≥ 1.00 × tokio"));
const MEM_TARGET: Option<(f64, &str)> = Some((1.0, "memory ≤ tokio"));

impl Report {
    /// The two metrics of every load case: its rate (`rate`, higher is
    /// better) and the server's CPU per message or request (`cpu`, with
    /// the CPU target).
    fn rate_and_cpu(
        &mut self,
        case: &str,
        stats: &BTreeMap<Contender, LoadStats>,
        rate: &'static str,
        cpu: &'static str,
    ) {
        let rates = by_contender(stats, LoadStats::rate);
        self.metric(case, rate, Better::Higher, rates, None);
        let cpus = by_contender(stats, LoadStats::cpu);
        self.metric(case, cpu, Better::Lower, cpus, CPU_TARGET);
    }

    fn metric(
        &mut self,
        case: &str,
        metric: &'static str,
        better: Better,
        values: BTreeMap<Contender, f64>,
        target: Option<(f64, &'static str)>,
    ) {
        self.metrics.push(Metric {
            case: case.to_owned(),
            metric,
            better,
            values,
            target,
        });
    }

    fn fail(&mut self, what: String) {
        eprintln!("  FAILED: {what}");
        self.failures.push(what);
    }
}

fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Load results of one case on one contender, over the rounds: each
/// figure is the median of the rounds' figures (percentiles included, so
/// one round disturbed by other work on a shared machine does not decide
/// the tail).
#[derive(Default)]
struct LoadStats {
    rates: Vec<f64>,
    cpu_us: Vec<f64>,
    /// Per round: p50, p99, p99.9 in µs.
    percentiles: Vec<[f64; 3]>,
    unfinished: u64,
}

/// The percentiles `LoadStats` keeps.
const PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];

impl LoadStats {
    fn add(&mut self, o: &loadgen::Outcome) {
        self.rates.push(o.rate());
        if let Some(c) = o.cpu_per_msg_us() {
            self.cpu_us.push(c);
        }
        if o.latency.count() > 0 {
            self.percentiles
                .push(PERCENTILES.map(|p| o.latency.percentile(p).as_secs_f64() * 1e6));
        }
        self.unfinished += o.unfinished;
    }

    fn rate(&self) -> Option<f64> {
        median(&self.rates)
    }

    fn cpu(&self) -> Option<f64> {
        median(&self.cpu_us)
    }

    fn pct(&self, p: f64) -> Option<f64> {
        let i = PERCENTILES.iter().position(|&q| q == p)?;
        // Not-a-number marks a percentile the generator did not report.
        let v: Vec<f64> = self
            .percentiles
            .iter()
            .map(|x| x[i])
            .filter(|x| x.is_finite())
            .collect();
        median(&v)
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn fmt_us(us: f64) -> String {
    fmt_duration(Duration::from_secs_f64(us / 1e6))
}

fn fmt_bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1048576.0)
    } else if b >= 1024.0 {
        format!("{:.2} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

fn by_contender(
    stats: &BTreeMap<Contender, LoadStats>,
    f: impl Fn(&LoadStats) -> Option<f64>,
) -> BTreeMap<Contender, f64> {
    stats
        .iter()
        .filter_map(|(c, s)| Some((*c, f(s)?)))
        .collect()
}

fn ratio_cell(values: &BTreeMap<Contender, f64>, c: Contender, better: Better) -> String {
    let m = Metric {
        case: String::new(),
        metric: "",
        better,
        values: values.clone(),
        target: None,
    };
    opt(m.advantage(c), fmt_adv)
}

/// An advantage with two decimals, or two significant digits below 0.1.
fn fmt_adv(a: f64) -> String {
    if a < 0.1 {
        format!("{a:.1e}")
    } else {
        format!("{a:.2}")
    }
}

// ---------------------------------------------------------------------------
// The run.

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
    if let Some(sub) = part("sched") {
        sched_section(&sub, &mut report)?;
    }
    if let Some(sub) = part("timers") {
        timers_section(&sub, &mut report)?;
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

/// The echo configurations: (connections, message bytes).
const ECHO_CASES: [(usize, usize); 4] = [(100, 64), (100, 4096), (1000, 64), (1000, 4096)];

fn echo_label(conns: usize, size: usize) -> String {
    format!(
        "echo {conns} conns × {}",
        if size >= 1024 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        }
    )
}

fn start_servers(
    s: &Settings,
    service: Service,
    workers: usize,
) -> io::Result<BTreeMap<Contender, Server>> {
    s.contenders
        .iter()
        .map(|&c| {
            Ok((
                c,
                Server::start(c, workers, service, s.server_cpus.as_deref())?,
            ))
        })
        .collect()
}

/// Runs `spec_of(server)` on every contender for `s.rounds` rounds,
/// alternating; failed runs are reported and skipped.
fn alternate(
    s: &Settings,
    report: &mut Report,
    label: &str,
    servers: &BTreeMap<Contender, Server>,
    spec_of: impl Fn(&Server) -> Spec,
) -> BTreeMap<Contender, LoadStats> {
    alternate_runs(s, report, label, "", "msg", servers, |srv| {
        loadgen::run(&spec_of(srv))
    })
}

/// Runs `run(server)` on every contender for `s.rounds` rounds, alternating
/// (A B C, B C A, …), logging each outcome (`tag` after the round number,
/// CPU per `per`); failed runs are reported and skipped.
fn alternate_runs(
    s: &Settings,
    report: &mut Report,
    label: &str,
    tag: &str,
    per: &str,
    servers: &BTreeMap<Contender, Server>,
    run: impl Fn(&Server) -> io::Result<loadgen::Outcome>,
) -> BTreeMap<Contender, LoadStats> {
    let mut stats: BTreeMap<Contender, LoadStats> = BTreeMap::new();
    for r in 0..s.rounds {
        for c in s.order(r) {
            match run(&servers[&c]) {
                Ok(o) => {
                    eprintln!(
                        "  {label} [{c}] round {}{tag}: {}/s, p99 {}, cpu/{per} {}",
                        r + 1,
                        fmt_rate(o.rate()),
                        fmt_duration(o.latency.percentile(99.0)),
                        opt(o.cpu_per_msg_us(), fmt_us)
                    );
                    stats.entry(c).or_default().add(&o);
                }
                Err(e) => report.fail(format!("{label} on {c}{tag}, round {}: {e}", r + 1)),
            }
        }
    }
    stats
}

/// One more short round per contender with the system-call counter
/// attached to the server over the window only (tracing slows the server
/// down a lot, so the measured rounds are never traced); adds the case's
/// "syscalls/msg" metric and row. Nothing when no counter is available.
fn syscall_rounds(
    s: &Settings,
    report: &mut Report,
    label: &str,
    servers: &BTreeMap<Contender, Server>,
    spec_of: impl Fn(&Server) -> Spec,
) {
    let Ok(tool) = s.syscalls else { return };
    let mut row = BTreeMap::new();
    for &c in &s.contenders {
        let srv = &servers[&c];
        let mut spec = spec_of(srv);
        spec.warmup = Duration::from_millis(200);
        spec.window = s.syscall_window;
        let pid = srv.pid();
        let mut trace: Option<io::Result<SyscallTrace>> = None;
        let mut counted: Option<io::Result<SyscallCounts>> = None;
        let run = loadgen::run_observed(&spec, &mut |edge| match edge {
            Edge::Start => trace = Some(tool.attach(pid)),
            Edge::End => counted = trace.take().map(|t| t.and_then(SyscallTrace::finish)),
        });
        let res = run.and_then(|o| {
            let counts = counted.unwrap_or_else(|| Err(io::Error::other("never attached")))?;
            Ok(Traced {
                counts,
                messages: o.observed,
            })
        });
        match res {
            Ok(t) => {
                eprintln!(
                    "  {label} [{c}] traced: {} syscalls/msg ({})",
                    opt(t.per_msg(t.counts.total), |x| format!("{x:.2}")),
                    top_calls(&t, 3)
                );
                row.insert(c, t);
            }
            Err(e) => report.fail(format!("{label} on {c}, counting system calls: {e}")),
        }
    }
    let values = row
        .iter()
        .filter_map(|(c, t)| Some((*c, t.per_msg(t.counts.total)?)))
        .collect();
    report.metric(label, "syscalls/msg", Better::Lower, values, None);
    report.syscalls.push((label.to_owned(), row));
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
fn syscall_section(s: &Settings, r: &Report) -> Option<(String, String)> {
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
            "Counted by {} attached to each server over the window of one extra \
             {} round per case and runtime (after the measured rounds, which are never \
             traced: tracing slows the server several times over, so a traced server \
             batches differently, and only the counts, not the rates, are meaningful). \
             The connections are opened before the window and closed after it, so \
             accepting and closing are not counted; messages are those completed while \
             the tracer was attached, so the figures hold give or take one message in \
             flight per connection at each edge (connections × depth ÷ messages traced: \
             small for 100 connections, up to a few tenths for 1000). A message is one echo or one \
             HTTP request; \"failed\" counts calls that returned an error (such as \
             `EAGAIN` from a `recv` with nothing to read). vs tokio > 1: fewer system \
             calls than tokio.\n\n{t}",
            tool.describe(),
            fmt_duration(s.syscall_window),
        ),
    ))
}

fn load_table(
    rows: &[(String, BTreeMap<Contender, LoadStats>)],
    order: &[Contender],
    unit: &str,
) -> Table {
    let mut header = vec![
        "case".to_owned(),
        "runtime".to_owned(),
        format!("{unit}/s"),
        "p50".into(),
        "p99".into(),
        "p99.9".into(),
        format!("server CPU/{unit}"),
        "rate vs tokio".into(),
        "CPU vs tokio".into(),
    ];
    // The kernel's own cost, where measured: each CPU figure ÷ raw-epoll's
    // (the cell is dropped by `Table::row` when the column is absent).
    if order.contains(&Contender::RawEpoll) {
        header.push("CPU × raw-epoll".into());
    }
    let mut t = Table::new(header);
    for (label, stats) in rows {
        let rates = by_contender(stats, LoadStats::rate);
        let cpu = by_contender(stats, LoadStats::cpu);
        for &c in order {
            let Some(st) = stats.get(&c) else {
                t.row([label.clone(), c.name().into(), "failed".into()]);
                continue;
            };
            let mut rate = opt(st.rate(), fmt_rate);
            if st.unfinished > 0 {
                rate = format!("{rate} ({} unanswered)", st.unfinished);
            }
            t.row([
                label.clone(),
                c.name().into(),
                rate,
                opt(st.pct(50.0), fmt_us),
                opt(st.pct(99.0), fmt_us),
                opt(st.pct(99.9), fmt_us),
                opt(st.cpu(), fmt_us),
                ratio_cell(&rates, c, Better::Higher),
                ratio_cell(&cpu, c, Better::Lower),
                opt(
                    cpu.get(&c)
                        .zip(cpu.get(&Contender::RawEpoll))
                        .filter(|(_, k)| **k > 0.0)
                        .map(|(v, k)| v / k),
                    |x| format!("{x:.2}"),
                ),
            ]);
        }
    }
    t
}

fn echo_section(
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
            report.metric(
                &label,
                "p99 (closed loop)",
                Better::Lower,
                by_contender(&stats, |x| x.pct(99.0)),
                None,
            );
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
            report.metric(
                &label,
                "p50",
                Better::Lower,
                by_contender(&stats, |x| x.pct(50.0)),
                None,
            );
            report.metric(
                &label,
                "p99",
                Better::Lower,
                by_contender(&stats, |x| x.pct(99.0)),
                P99_TARGET,
            );
            report.metric(
                &label,
                "p99.9",
                Better::Lower,
                by_contender(&stats, |x| x.pct(99.9)),
                None,
            );
            report.metric(
                &label,
                "server CPU/msg",
                Better::Lower,
                by_contender(&stats, LoadStats::cpu),
                CPU_TARGET,
            );
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
    let servers = start_servers(sub, service, sub.workers)?;
    let rate = sub.headline_rate;
    let stats = alternate(sub, report, &label, &servers, |srv| {
        sub.spec(srv, conns, protocol.clone(), Mode::Open { rate })
    });
    report.metric(
        &label,
        cpu_metric,
        Better::Lower,
        by_contender(&stats, LoadStats::cpu),
        CPU_TARGET,
    );
    report.metric(
        &label,
        "p99",
        Better::Lower,
        by_contender(&stats, |x| x.pct(99.0)),
        None,
    );
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
fn headline_section(s: &Settings, report: &mut Report) -> Res<()> {
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

/// The request both HTTP generators send.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
/// Connections of the HTTP cases.
const HTTP_CONNS: usize = 100;
/// Requests in flight per connection in the pipelined case.
const HTTP_PIPELINE: usize = 16;

fn http_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("http");
    let servers = start_servers(s, Service::Http, s.workers)?;
    let http = Protocol::Fixed {
        request: Arc::from(HTTP_REQUEST),
        response: Arc::from(http_hello::HELLO),
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
    report.metric(
        &label,
        "p99",
        Better::Lower,
        by_contender(&stats, |x| x.pct(99.0)),
        P99_TARGET,
    );
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
    let before = procfs::cpu_of(srv.pid());
    let out = cmd.output()?;
    let after = procfs::cpu_of(srv.pid());
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
        server_cpu: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        unfinished: 0,
        observed: requests,
    })
}

/// Runs one round of `case` in a micro child: (time, CPU) in µs.
fn micro_round(child: &mut ChildProc, case: &str) -> io::Result<(f64, f64)> {
    child.send(case)?;
    let line = child.expect("")?;
    let mut it = line.split_whitespace().map(|x| x.parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(w)), Some(Ok(c))) => Ok((w / 1e3, c / 1e3)),
        _ => Err(io::Error::other(format!("micro child said {line:?}"))),
    }
}

/// The targets of one micro-benchmark case: (on its time, on its CPU time).
type MicroTargets = (Option<(f64, &'static str)>, Option<(f64, &'static str)>);

/// Runs every case of `C` in `--micro` children (one per contender, each
/// case warmed up once, then `micro_rounds` rounds, the contenders
/// alternating), adds a "time" and a "CPU time" metric per case with the
/// targets `targets` gives, and returns the section's table.
fn micro_cases<C: MicroCase>(
    s: &Settings,
    report: &mut Report,
    targets: impl Fn(C) -> MicroTargets,
) -> Res<Table> {
    let mut children: BTreeMap<Contender, ChildProc> = BTreeMap::new();
    for &c in &s.contenders {
        let mut args = vec![
            "--micro".into(),
            c.name().into(),
            "--workers".into(),
            s.workers.to_string(),
        ];
        if s.quick {
            args.push("--quick".into());
        }
        if let Some(cpus) = &s.server_cpus {
            args.extend(["--cpus".into(), procfs::format_cpus(cpus)]);
        }
        children.insert(c, ChildProc::spawn(&args)?);
    }
    let mut t = Table::new([
        "case",
        "runtime",
        "time",
        "CPU",
        "vs tokio (time)",
        "vs tokio (CPU)",
    ]);
    for &case in C::ALL {
        let name = case.name();
        let mut wall: BTreeMap<Contender, Vec<f64>> = BTreeMap::new();
        let mut cpu: BTreeMap<Contender, Vec<f64>> = BTreeMap::new();
        let mut broken = Vec::new();
        for (c, child) in children.iter_mut() {
            if let Err(e) = micro_round(child, name) {
                broken.push((*c, e));
            }
        }
        for r in 0..s.micro_rounds {
            for c in s.order(r) {
                let Some(child) = children.get_mut(&c) else {
                    continue;
                };
                if broken.iter().any(|(b, _)| *b == c) {
                    continue;
                }
                match micro_round(child, name) {
                    Ok((w, cp)) => {
                        wall.entry(c).or_default().push(w);
                        cpu.entry(c).or_default().push(cp);
                    }
                    Err(e) => broken.push((c, e)),
                }
            }
        }
        for (c, e) in broken {
            report.fail(format!("{name} on {c}: {e}"));
            if let Some(child) = children.remove(&c) {
                child.close();
            }
        }
        let wall: BTreeMap<Contender, f64> = wall
            .iter()
            .filter_map(|(c, v)| Some((*c, median(v)?)))
            .collect();
        let cpu: BTreeMap<Contender, f64> = cpu
            .iter()
            .filter_map(|(c, v)| Some((*c, median(v)?)))
            .collect();
        eprintln!(
            "  {name}: {}",
            wall.iter()
                .map(|(c, w)| format!("{c} {}", fmt_us(*w)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for &c in &s.contenders {
            t.row([
                name.to_owned(),
                c.name().to_owned(),
                opt(wall.get(&c).copied(), fmt_us),
                opt(cpu.get(&c).copied(), fmt_us),
                ratio_cell(&wall, c, Better::Lower),
                ratio_cell(&cpu, c, Better::Lower),
            ]);
        }
        let (time_target, cpu_target) = targets(case);
        report.metric(name, "time", Better::Lower, wall, time_target);
        report.metric(name, "CPU time", Better::Lower, cpu, cpu_target);
    }
    for (_, child) in children {
        child.close();
    }
    Ok(t)
}

fn sched_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("scheduler micro-benchmarks");
    let t = micro_cases::<sched::Case>(s, report, |_| (MICRO_TARGET, None))?;
    let p = sched::Case::params(s.quick);
    report.sections.push((
        "Scheduler micro-benchmarks".into(),
        format!(
            "The cases of the `sched` binary (`runtime_benches::sched`), each runtime in \
             its own process, {} rounds alternating; median time of one repetition \
             (`spawn_many` {} tasks, `yield_many` {}×{} yields, `ping_pong` {} pairs × {}, \
             `chained_spawn` {} deep, `remote_spawn` {} tasks) and the process's CPU time \
             over it. vs tokio > 1: faster than tokio.\n\n{t}",
            s.micro_rounds,
            p.spawn_many,
            p.yield_tasks,
            p.yields,
            p.ping_pong_pairs,
            p.ping_pong_exchanges,
            p.chain_depth,
            p.remote_spawn
        ),
    ));
    Ok(())
}

fn timers_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("timer benchmarks");
    let t = micro_cases::<timers::Case>(s, report, |case| {
        if case.waits_on_clock() {
            (None, TIMER_TARGET)
        } else {
            (TIMER_TARGET, None)
        }
    })?;
    let p = timers::Case::params(s.quick);
    report.sections.push((
        "Timer benchmarks".into(),
        format!(
            "The cases of the `timers` binary (`runtime_benches::timers`), each runtime \
             with its own timers (`runtime::time`, `tokio::time`, async-io's `Timer` for \
             smol) in its own process, {rounds} rounds alternating; median wall time of \
             one run of the case and the process's CPU time over it. vs tokio > 1: \
             faster (cheaper) than tokio.\n\n\
             - `sleeps_spread`: {sleeps} tasks spawned from `block_on`, task `i` sleeping \
             `(i × 7919) mod {spread_us}` µs (deadlines spread over {spread}), until all \
             have woken;\n\
             - `insert_cancel`: one task registers and cancels {ic} timeouts that never \
             fire (`timeout(10 s, f)` around a future ready on its second poll, polled \
             twice), all in one task poll;\n\
             - `insert_cancel_parallel`: the same, {icp} times in each of {workers} tasks \
             at once (contention on the timer structures);\n\
             - `interval_1ms`: one task ticks a 1 ms interval {ticks} times;\n\
             - `intervals_1ms_x1000`: {tasks} tasks each tick their own 1 ms interval \
             {tasks_ticks} times.\n\n\
             Target (`runtime`): no worse than tokio, {target}, on **wall time** for the \
             two insert/cancel cases, and on **CPU time** for `sleeps_spread`, \
             `interval_1ms` and `intervals_1ms_x1000`, whose wall time is mostly the \
             sleeping and ticking itself (up to {spread}; {ticks} and {tasks_ticks} \
             ticks of 1 ms, the first at once), the same floor for every runtime. smol's interval is \
             `Timer::interval_at(now, 1 ms)`, which has no missed-tick setting and \
             catches up on late ticks like tokio's default (`Burst`).\n\n{t}",
            rounds = s.micro_rounds,
            sleeps = p.sleeps,
            spread_us = p.spread.as_micros(),
            spread = fmt_duration(p.spread),
            ic = p.insert_cancel,
            icp = p.insert_cancel_per_task,
            workers = s.workers,
            ticks = p.interval_ticks,
            tasks = p.interval_tasks,
            tasks_ticks = p.interval_tasks_ticks,
            target = TIMER_TARGET.map_or("", |t| t.1),
        ),
    ));
    Ok(())
}

/// What one herd case measured on one server.
struct HerdResult {
    conns: usize,
    rss_before: u64,
    rss_after: u64,
    connect: Duration,
    echo: Duration,
}

/// Starts a fresh echo server for `c`, opens `n` connections to it from
/// `procs` herd processes (source addresses 127.0.0.2, .3, …), echoes once
/// more on all, and reports memory and timings.
fn herd_case(s: &Settings, c: Contender, n: usize, procs: usize) -> io::Result<HerdResult> {
    let server = Server::start(c, s.workers, Service::Echo, s.server_cpus.as_deref())?;
    std::thread::sleep(Duration::from_millis(200));
    let rss_before = server
        .rss()
        .ok_or_else(|| io::Error::other("cannot read the server's VmRSS"))?;
    let procs = procs.clamp(1, n.max(1));
    let t = Instant::now();
    let mut herds = Vec::with_capacity(procs);
    let mut first = 0;
    for k in 0..procs {
        let count = n / procs + usize::from(k < n % procs);
        let src = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (k % 250) as u8));
        let args = vec![
            "--herd".into(),
            "--addr".into(),
            server.addr.to_string(),
            "--conns".into(),
            count.to_string(),
            "--src".into(),
            src.to_string(),
            "--first-id".into(),
            first.to_string(),
        ];
        first += count;
        herds.push(ChildProc::spawn(&args)?);
    }
    let mut result = Ok(());
    for h in &mut herds {
        if let Err(e) = h.expect("connected") {
            result = Err(e);
        }
    }
    let connect = t.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let rss_after = server.rss().unwrap_or(0);
    let t = Instant::now();
    if result.is_ok() {
        for h in &mut herds {
            h.send("echo")?;
        }
        for h in &mut herds {
            if let Err(e) = h.expect("echoed") {
                result = Err(e);
            }
        }
    }
    let echo = t.elapsed();
    for h in herds {
        h.close();
    }
    server.proc.close();
    result.map(|()| HerdResult {
        conns: n,
        rss_before,
        rss_after,
        connect,
        echo,
    })
}

/// Herd processes to use for `n` connections: enough that none needs more
/// descriptors than its limit allows, and at least two where there are
/// CPUs for them.
fn herd_procs(n: usize) -> usize {
    let per = (procfs::raise_nofile() as usize).saturating_sub(64).max(1);
    n.div_ceil(per).max(procfs::cpus().clamp(1, 4))
}

fn memory_section(s: &Settings, report: &mut Report) -> Res<()> {
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

fn scale_section(s: &Settings, report: &mut Report) -> Res<()> {
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

fn scaling_section(s: &Settings, report: &mut Report) -> Res<()> {
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

// ---------------------------------------------------------------------------
// The report.

/// `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's days-to-civil algorithm).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn lock_version(name: &str) -> String {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .unwrap_or_default();
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| {
            lock[i + needle.len()..]
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

fn write_report(
    s: &Settings,
    r: &Report,
    took: Duration,
    load: (Option<f64>, Option<f64>),
) -> Res<()> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let commit = command_line("git", &["-C", dir, "rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "?".into());
    // The benches themselves may be uncommitted (a run is made before the
    // commit that records its results); what is measured must not be.
    let dirty = command_line(
        "git",
        &[
            "-C",
            dir,
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "..",
            ":!../benches",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    let rustc = command_line("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into());
    let wrk = if s.http_gen == HttpGen::Wrk {
        command_line("wrk", &["--version"])
            .or_else(|| {
                // wrk prints its version to stdout with exit status 1.
                Command::new("wrk")
                    .arg("--version")
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            })
            .and_then(|v| {
                v.lines()
                    .next()
                    .map(|l| l.split(" Copyright").next().unwrap_or(l).to_owned())
            })
            .unwrap_or_else(|| "wrk".into())
    } else {
        "not used".into()
    };
    let others: Vec<Contender> = s
        .contenders
        .iter()
        .copied()
        .filter(|c| *c != Contender::Tokio)
        .collect();
    let mut md = String::new();
    let _ = writeln!(md, "# runtime vs tokio and smol\n");
    let _ = writeln!(
        md,
        "Generated by `cargo run --release -p runtime-benches --bin compare{}` on {} \
         (took {}).\n",
        if s.quick { " -- --quick" } else { "" },
        utc_now(),
        fmt_duration(took)
    );
    let _ = writeln!(
        md,
        "- **Machine**: {}; `RLIMIT_NOFILE` {}; 1-minute load average {} before \
         the run and {} after (other work on the machine: above ~1 the figures are \
         noisier).",
        procfs::machine(),
        procfs::raise_nofile(),
        opt(load.0, |l| format!("{l:.2}")),
        opt(load.1, |l| format!("{l:.2}")),
    );
    let _ = writeln!(
        md,
        "- **Versions**: runtime at commit {commit}{}, tokio {}, smol {} (async-executor {}, async-io {}), {rustc}, HTTP load: {wrk}.",
        if dirty { " (with uncommitted changes outside benches/)" } else { "" },
        lock_version("tokio"),
        lock_version("smol"),
        lock_version("async-executor"),
        lock_version("async-io"),
    );
    let _ = writeln!(
        md,
        "- **Set-up**: {} worker threads per runtime; {} rounds per case, runtimes \
         alternating (A B C, B C A, …), {} warm-up + {} window per load run; load \
         generator: {} thread(s), raw epoll, every byte checked; {}.",
        s.workers,
        s.rounds,
        fmt_duration(s.warmup),
        fmt_duration(s.window),
        s.gen_threads,
        match (&s.server_cpus, &s.gen_cpus) {
            (Some(a), Some(b)) => format!(
                "servers pinned to CPUs {}, generator to CPUs {}",
                procfs::format_cpus(a),
                procfs::format_cpus(b)
            ),
            _ => format!(
                "**not pinned**: with {} CPUs, server and generator share them, so \
                 absolute rates are modest and server CPU per message is the figure to read",
                procfs::cpus()
            ),
        }
    );
    let _ = writeln!(md, "- **Runtimes**:");
    for c in &s.contenders {
        let _ = writeln!(md, "  - `{c}`: {}", c.describe());
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "![ratios](latest.svg)\n");
    if !r.failures.is_empty() {
        let _ = writeln!(
            md,
            "**Failures** (these runs are missing from the figures):\n"
        );
        for f in &r.failures {
            let _ = writeln!(md, "- {f}");
        }
        let _ = writeln!(md);
    }
    if let Some((t, how)) = &r.headline {
        let _ = writeln!(
            md,
            "## Headline: server CPU per message, pinned, fixed rate\n\n{how}\n\n{t}"
        );
    }
    // Summary.
    let _ = writeln!(md, "## Summary: how each runtime compares with tokio\n");
    let _ = writeln!(
        md,
        "Each cell is the runtime's **advantage over tokio**: tokio's figure ÷ its \
         figure for costs (time, CPU, latency, memory), its figure ÷ tokio's for rates. \
         Above 1.00 it beats tokio; 0.80 means 20 % worse. The target column is the goal \
         set for `runtime`.\n"
    );
    let mut header = vec!["case".to_owned(), "metric".to_owned(), "tokio".to_owned()];
    header.extend(others.iter().map(|c| c.name().to_owned()));
    header.extend(["target (runtime)".to_owned(), "met".to_owned()]);
    let mut t = Table::new(header);
    let mut met = 0;
    let mut missed = Vec::new();
    for m in &r.metrics {
        let tokio = m.values.get(&Contender::Tokio).copied();
        let abs = |v: f64| -> String {
            match m.metric {
                "messages/s" | "requests/s" | "accept rate" => format!("{}/s", fmt_rate(v)),
                "RSS per connection" | "RSS per task" => fmt_bytes(v),
                "syscalls/msg" => format!("{v:.2}"),
                _ => fmt_us(v),
            }
        };
        let mut row = vec![m.case.clone(), m.metric.to_owned(), opt(tokio, abs)];
        row.extend(others.iter().map(|&c| opt(m.advantage(c), fmt_adv)));
        match m.target {
            Some((goal, text)) => {
                let ok = m.advantage(Contender::Runtime).map(|a| a >= goal);
                row.push(format!("≥ {goal:.2} ({text})"));
                row.push(match ok {
                    Some(true) => {
                        met += 1;
                        "yes".into()
                    }
                    Some(false) => {
                        missed.push(format!("{} — {}", m.case, m.metric));
                        "**no**".into()
                    }
                    None => "-".into(),
                });
            }
            None => row.extend([String::new(), String::new()]),
        }
        t.row(row);
    }
    let _ = writeln!(md, "{t}");
    let _ = writeln!(md, "Targets met: {met} of {}.", met + missed.len());
    if !missed.is_empty() {
        let _ = writeln!(md, "Missed: {}.", missed.join("; "));
    }
    let _ = writeln!(md);
    for (heading, body) in r.sections.iter().chain(&syscall_section(s, r)) {
        let _ = writeln!(md, "## {heading}\n\n{body}");
    }
    std::fs::create_dir_all(&s.out)?;
    let stem = if s.quick { "quick" } else { "latest" };
    let md = if s.quick {
        md.replace("latest.svg", "quick.svg")
    } else {
        md
    };
    let md_path = s.out.join(format!("{stem}.md"));
    std::fs::write(&md_path, md)?;
    // The chart: the metrics that have a tokio figure, advantage per runtime.
    let chart = Chart {
        title: format!("runtime vs tokio ({} workers, {})", s.workers, utc_now()),
        subtitle:
            "advantage over tokio: > 1 better (tokio ÷ x for costs, x ÷ tokio for rates); log scale"
                .into(),
        series: others.iter().map(|c| c.name().to_owned()).collect(),
        groups: r
            .metrics
            .iter()
            .filter(|m| {
                m.values.contains_key(&Contender::Tokio)
                    && (m.target.is_some()
                        || !matches!(
                            m.metric,
                            "CPU time" | "p50" | "p99.9" | "p99 (closed loop)" | "syscalls/msg"
                        ))
            })
            .map(|m| Group {
                label: format!("{}: {}", m.case, m.metric),
                values: others.iter().map(|&c| m.advantage(c)).collect(),
            })
            .collect(),
    };
    let svg_path = s.out.join(format!("{stem}.svg"));
    std::fs::write(&svg_path, chart.render())?;
    eprintln!("wrote {} and {}", md_path.display(), svg_path.display());
    Ok(())
}
