//! `bulk_read`: reading a deep receive queue through a small buffer, on
//! `runtime` and tokio side by side (the cost of the read path a bulk
//! transfer takes: every read fills the buffer and leaves more queued).
//!
//! ```text
//! cargo run --release -p runtime-benches --bin bulk_read -- [--rounds 5] [--mib 256] [--buf 8192]
//! ```
//!
//! One loopback connection per round; a writer task sends `--mib` MiB in
//! 256 KiB writes, a reader task reads it through a `--buf`-byte buffer
//! (every byte counted, the sum checked); both on a current-thread runtime
//! of each kind, so the process CPU time is the transfer's. Prints, per
//! runtime, the median over the rounds (runtimes alternating) of the CPU
//! per MiB and of the reads per MiB, and ours ÷ tokio's CPU.

use std::time::{Duration, Instant};

use runtime_benches::procfs;

const CHUNK: usize = 256 << 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What one round measured: process CPU, reads, bytes.
struct Round {
    cpu: Duration,
    reads: u64,
}

fn self_cpu() -> Duration {
    procfs::cpu_of(std::process::id()).unwrap_or_default()
}

fn ours(total: usize, buf_len: usize) -> Round {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    let rt = runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let l = runtime::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        let mut w = runtime::net::TcpStream::connect(addr).await.unwrap();
        let (mut r, _) = l.accept().await.unwrap();
        let start = self_cpu();
        let writer = runtime::spawn(async move {
            let chunk = vec![7u8; CHUNK];
            let mut left = total;
            while left > 0 {
                let n = left.min(CHUNK);
                w.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
        });
        let mut buf = vec![0u8; buf_len];
        let (mut got, mut reads) = (0usize, 0u64);
        while got < total {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "early EOF");
            got += n;
            reads += 1;
        }
        writer.await.unwrap();
        Round {
            cpu: self_cpu() - start,
            reads,
        }
    })
}

fn tokio_side(total: usize, buf_len: usize) -> Round {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut w = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut r, _) = l.accept().await.unwrap();
        let start = self_cpu();
        let writer = tokio::spawn(async move {
            let chunk = vec![7u8; CHUNK];
            let mut left = total;
            while left > 0 {
                let n = left.min(CHUNK);
                w.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
        });
        let mut buf = vec![0u8; buf_len];
        let (mut got, mut reads) = (0usize, 0u64);
        while got < total {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "early EOF");
            got += n;
            reads += 1;
        }
        writer.await.unwrap();
        Round {
            cpu: self_cpu() - start,
            reads,
        }
    })
}

fn main() {
    let (mut rounds, mut mib, mut buf) = (5usize, 256usize, 8192usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse::<usize>().ok());
        match (a.as_str(), v) {
            ("--rounds", Some(v)) => rounds = v.max(1),
            ("--mib", Some(v)) => mib = v.max(1),
            ("--buf", Some(v)) => buf = v.max(1),
            _ => {
                eprintln!("usage: bulk_read [--rounds N] [--mib M] [--buf BYTES]");
                std::process::exit(2);
            }
        }
    }
    let total = mib << 20;
    let (mut o_cpu, mut o_reads, mut t_cpu, mut t_reads) = (vec![], vec![], vec![], vec![]);
    let t0 = Instant::now();
    for _ in 0..rounds {
        let o = ours(total, buf);
        o_cpu.push(o.cpu.as_secs_f64() * 1e6 / mib as f64);
        o_reads.push(o.reads as f64 / mib as f64);
        let t = tokio_side(total, buf);
        t_cpu.push(t.cpu.as_secs_f64() * 1e6 / mib as f64);
        t_reads.push(t.reads as f64 / mib as f64);
    }
    let (oc, tc) = (median(o_cpu), median(t_cpu));
    println!(
        "{mib} MiB through a {buf}-byte buffer, {rounds} rounds ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    println!("| runtime | CPU/MiB | reads/MiB |");
    println!("|---|---:|---:|");
    println!("| runtime | {oc:.0} µs | {:.0} |", median(o_reads));
    println!("| tokio | {tc:.0} µs | {:.0} |", median(t_reads));
    println!("runtime CPU ÷ tokio's: {:.3}", oc / tc);
}
