//! `fs_proc`: `runtime::fs` and `runtime::process` beside tokio's, on a
//! multi-thread runtime of each kind (2 workers).
//!
//! ```text
//! cargo run --release -p runtime-benches --bin fs_proc -- [--rounds 7]
//! ```
//!
//! Cases, each round alternating the runtimes (ours first in odd rounds):
//!
//! - `blocking_round_trip`: 1,000 `spawn_blocking(|| i)` awaited one
//!   after the other (the hand-off every file operation makes);
//! - `read_small`: `fs::read` of 256 files of 4 KiB, 32 tasks at a time
//!   (one blocking job per file on either runtime);
//! - `file_write`: 64 MiB through a `File` in 64 KiB `write_all`s, then
//!   `flush` (tokio: the same with its `File`);
//! - `file_read`: the same 64 MiB read back through a `File` with a 64 KiB
//!   buffer;
//! - `spawn_wait`: 64 children (`true`), 16 at a time, each spawned and
//!   waited for.
//!
//! Prints per case the medians of wall time and process CPU time, and
//! tokio's ÷ ours (above 1: we are faster or cheaper).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SMALL_FILES: usize = 256;
const SMALL_LEN: usize = 4096;
const BIG_LEN: usize = 64 << 20;
const CHUNK: usize = 64 << 10;
const CHILDREN: usize = 64;
const ROUND_TRIPS: usize = 1000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// This process's CPU time, user and system, to the microsecond
/// (`getrusage`; `/proc`'s clock ticks are 10 ms).
fn self_cpu() -> Duration {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall and CPU time of `f` run to completion by `block_on`.
fn timed<F: Future<Output = ()>>(block_on: impl FnOnce(F), f: F) -> (f64, f64) {
    let (cpu0, t0) = (self_cpu(), Instant::now());
    block_on(f);
    (
        t0.elapsed().as_secs_f64(),
        (self_cpu() - cpu0).as_secs_f64(),
    )
}

mod ours {
    use super::*;
    use runtime::io::{AsyncReadExt, AsyncWriteExt};

    pub(crate) async fn read_small(dir: PathBuf) {
        let mut tasks = Vec::new();
        for t in 0..32 {
            let dir = dir.clone();
            tasks.push(runtime::spawn(async move {
                for i in (t..SMALL_FILES).step_by(32) {
                    let data = runtime::fs::read(dir.join(format!("s{i}"))).await.unwrap();
                    assert_eq!(data.len(), SMALL_LEN);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    pub(crate) async fn file_write(path: PathBuf) {
        let mut f = runtime::fs::File::create(&path).await.unwrap();
        let chunk = vec![5u8; CHUNK];
        for _ in 0..BIG_LEN / CHUNK {
            f.write_all(&chunk).await.unwrap();
        }
        f.flush().await.unwrap();
    }

    pub(crate) async fn file_read(path: PathBuf) {
        let mut f = runtime::fs::File::open(&path).await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BIG_LEN);
    }

    pub(crate) async fn blocking_round_trip() {
        for i in 0..ROUND_TRIPS {
            assert_eq!(runtime::spawn_blocking(move || i).await.unwrap(), i);
        }
    }

    pub(crate) async fn spawn_wait() {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            tasks.push(runtime::spawn(async {
                for _ in 0..CHILDREN / 16 {
                    let status = runtime::process::Command::new("true")
                        .status()
                        .await
                        .unwrap();
                    assert!(status.success());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
}

mod theirs {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub(crate) async fn read_small(dir: PathBuf) {
        let mut tasks = Vec::new();
        for t in 0..32 {
            let dir = dir.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..SMALL_FILES).step_by(32) {
                    let data = tokio::fs::read(dir.join(format!("s{i}"))).await.unwrap();
                    assert_eq!(data.len(), SMALL_LEN);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    pub(crate) async fn file_write(path: PathBuf) {
        let mut f = tokio::fs::File::create(&path).await.unwrap();
        let chunk = vec![5u8; CHUNK];
        for _ in 0..BIG_LEN / CHUNK {
            f.write_all(&chunk).await.unwrap();
        }
        f.flush().await.unwrap();
    }

    pub(crate) async fn file_read(path: PathBuf) {
        let mut f = tokio::fs::File::open(&path).await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BIG_LEN);
    }

    pub(crate) async fn blocking_round_trip() {
        for i in 0..ROUND_TRIPS {
            assert_eq!(tokio::task::spawn_blocking(move || i).await.unwrap(), i);
        }
    }

    pub(crate) async fn spawn_wait() {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            tasks.push(tokio::spawn(async {
                for _ in 0..CHILDREN / 16 {
                    let status = tokio::process::Command::new("true").status().await.unwrap();
                    assert!(status.success());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 7;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            other => {
                eprintln!("unknown argument {other:?}; usage: fs_proc [--rounds N]");
                std::process::exit(2);
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("runtime-fs-proc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..SMALL_FILES {
        std::fs::write(dir.join(format!("s{i}")), vec![1u8; SMALL_LEN]).unwrap();
    }
    let big: PathBuf = dir.join("big");
    let ours_rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    type Case = (
        &'static str,
        fn(
            &Path,
            &Path,
        )
            -> [Box<dyn FnOnce(&runtime::Runtime, &tokio::runtime::Runtime) -> (f64, f64)>; 2],
    );
    let cases: [Case; 5] = [
        ("blocking_round_trip", |_, _| {
            [
                Box::new(|r, _| timed(|f| r.block_on(f), ours::blocking_round_trip())),
                Box::new(|_, t| timed(|f| t.block_on(f), theirs::blocking_round_trip())),
            ]
        }),
        ("read_small", |dir, _| {
            let (a, b) = (dir.to_owned(), dir.to_owned());
            [
                Box::new(move |r, _| timed(|f| r.block_on(f), ours::read_small(a))),
                Box::new(move |_, t| timed(|f| t.block_on(f), theirs::read_small(b))),
            ]
        }),
        ("file_write", |_, big| {
            let (a, b) = (big.to_owned(), big.to_owned());
            [
                Box::new(move |r, _| timed(|f| r.block_on(f), ours::file_write(a))),
                Box::new(move |_, t| timed(|f| t.block_on(f), theirs::file_write(b))),
            ]
        }),
        ("file_read", |_, big| {
            let (a, b) = (big.to_owned(), big.to_owned());
            [
                Box::new(move |r, _| timed(|f| r.block_on(f), ours::file_read(a))),
                Box::new(move |_, t| timed(|f| t.block_on(f), theirs::file_read(b))),
            ]
        }),
        ("spawn_wait", |_, _| {
            [
                Box::new(|r, _| timed(|f| r.block_on(f), ours::spawn_wait())),
                Box::new(|_, t| timed(|f| t.block_on(f), theirs::spawn_wait())),
            ]
        }),
    ];
    println!("| case | runtime wall | tokio wall | wall tokio/ours | runtime CPU | tokio CPU | CPU tokio/ours |");
    println!("|---|---|---|---|---|---|---|");
    for (name, make) in cases {
        let (mut ow, mut oc, mut tw, mut tc) = (vec![], vec![], vec![], vec![]);
        // One unmeasured round each first (warm caches, threads started).
        for round in 0..=rounds {
            let [o, t] = make(&dir, &big);
            let (o, t) = if round % 2 == 1 {
                (o(&ours_rt, &tokio_rt), t(&ours_rt, &tokio_rt))
            } else {
                let t = t(&ours_rt, &tokio_rt);
                (o(&ours_rt, &tokio_rt), t)
            };
            if round > 0 {
                ow.push(o.0);
                oc.push(o.1);
                tw.push(t.0);
                tc.push(t.1);
            }
        }
        let (ow, oc, tw, tc) = (median(ow), median(oc), median(tw), median(tc));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms | {:.2} ms | {:.2} |",
            ow * 1e3,
            tw * 1e3,
            tw / ow,
            oc * 1e3,
            tc * 1e3,
            tc / oc
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
