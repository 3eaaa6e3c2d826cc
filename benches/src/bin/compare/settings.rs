//! The settings of one run: the command line (see `USAGE` in `main.rs`)
//! parsed once, with every default that depends on `--quick` or on the
//! machine (CPUs, pinning, wrk, the system-call counter) resolved here, so
//! that the case families only read them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use runtime_benches::args::Args;
use runtime_benches::contender::Contender;
use runtime_benches::loadgen::{Mode, Protocol, Spec};
use runtime_benches::procfs::{self, SyscallTool};

use crate::child::Server;
use crate::{Res, SECTIONS};

/// How HTTP load is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpGen {
    Wrk,
    Builtin,
}

/// Everything a run reads from its command line and its machine.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) quick: bool,
    pub(crate) workers: usize,
    pub(crate) rounds: usize,
    pub(crate) micro_rounds: usize,
    pub(crate) warmup: Duration,
    pub(crate) window: Duration,
    pub(crate) contenders: Vec<Contender>,
    pub(crate) sections: Vec<&'static str>,
    pub(crate) gen_threads: usize,
    pub(crate) server_cpus: Option<Vec<usize>>,
    pub(crate) gen_cpus: Option<Vec<usize>>,
    pub(crate) http_gen: HttpGen,
    pub(crate) idle_conns: usize,
    pub(crate) max_conns: Option<usize>,
    pub(crate) rate_fraction: f64,
    pub(crate) headline_rate: f64,
    /// The tool that counts system calls, or why there is none.
    pub(crate) syscalls: Result<SyscallTool, String>,
    /// The window of a traced round.
    pub(crate) syscall_window: Duration,
    pub(crate) out: PathBuf,
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
    pub(crate) fn parse(mut args: Args) -> Res<Settings> {
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
            match args.value::<String>("--syscall-tool")?.as_deref() {
                None => SyscallTool::detect().ok_or_else(|| {
                    "not available: neither strace nor perf runs here \
                     (`apt-get install -y strace` adds it)"
                        .to_owned()
                }),
                Some("perf") => SyscallTool::perf()
                    .ok_or_else(|| "not available: perf cannot count tracepoints here".to_owned()),
                Some("strace") => SyscallTool::strace()
                    .ok_or_else(|| "not available: strace does not run here".to_owned()),
                Some(other) => {
                    return Err(format!("--syscall-tool {other}: expected perf or strace").into())
                }
            }
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
        let in_kernel = syscalls.as_ref().is_ok_and(|t| t.in_kernel());
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
            // perf barely slows the server, so its window can be long
            // enough for the rarer calls (`epoll_wait`, `futex`) to count
            // steadily; strace slows it several times over.
            syscall_window: Duration::from_millis(match (quick, in_kernel) {
                (true, _) => 300,
                (false, true) => 1000,
                (false, false) => 500,
            }),
            out,
        })
    }

    pub(crate) fn wants(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }

    /// These settings with only the contenders that take part in `section`
    /// (`raw-epoll` has echo servers only); `None` if none does.
    pub(crate) fn for_section(&self, section: &str) -> Option<Settings> {
        let mut sub = self.clone();
        sub.contenders.retain(|c| c.in_section(section));
        (!sub.contenders.is_empty()).then_some(sub)
    }

    /// The round-robin order of round `r`: every contender once, starting
    /// one further each round.
    pub(crate) fn order(&self, r: usize) -> impl Iterator<Item = Contender> + '_ {
        let n = self.contenders.len();
        (0..n).map(move |i| self.contenders[(r + i) % n])
    }

    pub(crate) fn spec(
        &self,
        server: &Server,
        conns: usize,
        protocol: Protocol,
        mode: Mode,
    ) -> Spec {
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
