//! Herds of idle connections against a fresh echo server, opened from
//! `--herd` children: what `memory` and `scale` both measure with.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use runtime_benches::contender::{Contender, Service};
use runtime_benches::procfs;

use crate::child::{ChildProc, Server};
use crate::settings::Settings;

/// What one herd case measured on one server.
pub(crate) struct HerdResult {
    pub(crate) conns: usize,
    pub(crate) rss_before: u64,
    pub(crate) rss_after: u64,
    pub(crate) connect: Duration,
    pub(crate) echo: Duration,
}

/// Starts a fresh echo server for `c`, opens `n` connections to it from
/// `procs` herd processes (source addresses 127.0.0.2, .3, …), echoes once
/// more on all, and reports memory and timings.
pub(crate) fn herd_case(
    s: &Settings,
    c: Contender,
    n: usize,
    procs: usize,
) -> io::Result<HerdResult> {
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
pub(crate) fn herd_procs(n: usize) -> usize {
    let per = (procfs::raise_nofile() as usize).saturating_sub(64).max(1);
    n.div_ceil(per).max(procfs::cpus().clamp(1, 4))
}
