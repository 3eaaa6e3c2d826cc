//! Who should drive the reactor? Measures the two strategies of
//! `runtime::Builder::worker_driven_reactor` side by side with tokio, on a
//! closed-loop TCP echo where client and server tasks share one runtime (so
//! every message crosses the reactor twice).
//!
//! ```text
//! cargo run --release -p runtime-benches --bin reactor_modes -- [--workers 2] [--rounds 5]
//! ```
//!
//! Each round runs: ours with idle workers driving the reactor (the
//! default), ours with the dedicated reactor thread driving, and tokio; the
//! table gives medians of messages/s and the ratios to tokio.

use std::time::Instant;

use runtime_benches::args::Args;

const CLIENTS: usize = 100;
const MESSAGES: usize = 2_000;
const LEN: usize = 64;

fn ours(workers: usize, worker_driven: bool) -> f64 {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    use runtime::net::{TcpListener, TcpStream};
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .worker_driven_reactor(worker_driven)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        runtime::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                runtime::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let start = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    s.set_nodelay(true).expect("nodelay");
                    let msg = [c as u8; LEN];
                    let mut back = [0u8; LEN];
                    for _ in 0..MESSAGES {
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        assert_eq!(back, msg, "echo mismatch");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.expect("client task");
        }
        (CLIENTS * MESSAGES) as f64 / start.elapsed().as_secs_f64()
    })
}

fn tokio_echo(workers: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let start = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    s.set_nodelay(true).expect("nodelay");
                    let msg = [c as u8; LEN];
                    let mut back = [0u8; LEN];
                    for _ in 0..MESSAGES {
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        assert_eq!(back, msg, "echo mismatch");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.expect("client task");
        }
        (CLIENTS * MESSAGES) as f64 / start.elapsed().as_secs_f64()
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let workers: usize = args.value("--workers")?.unwrap_or(2);
    let rounds: usize = args.value("--rounds")?.unwrap_or(5);
    let (mut wd, mut th, mut tk) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        wd.push(ours(workers, true));
        th.push(ours(workers, false));
        tk.push(tokio_echo(workers));
        eprintln!("round {}/{rounds} done", r + 1);
    }
    let (wd, th, tk) = (median(&mut wd), median(&mut th), median(&mut tk));
    println!("closed-loop echo, {CLIENTS} connections x {MESSAGES} messages of {LEN} B, {workers} workers, median of {rounds} rounds\n");
    println!("| reactor driven by | messages/s | ours / tokio |");
    println!("|---|---|---|");
    println!("| idle workers (default) | {wd:.0} | {:.2} |", wd / tk);
    println!("| reactor thread | {th:.0} | {:.2} |", th / tk);
    println!("| tokio (workers) | {tk:.0} | 1.00 |");
    Ok(())
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
