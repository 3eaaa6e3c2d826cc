//! Runs a TCP echo workload over 127.0.0.1 on a runtime with the poll-time
//! histogram and the stall detector on, then prints what an operator would
//! look at: the runtime's metrics, the histogram, the stall report of one
//! task that blocks its worker, and the task dump.
//!
//! ```text
//! cargo run --release --example metrics
//! cargo run --release --example metrics -- 200 1000   # connections, messages each
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::metrics::RuntimeMetrics;
use runtime::net::{TcpListener, TcpStream};
use runtime::{HistogramConfiguration, LogHistogram};

/// The stall threshold: a poll longer than this is reported.
const STALL_THRESHOLD: Duration = Duration::from_millis(20);

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let connections = args
        .next()
        .unwrap_or(Ok(50))
        .expect("connections: a number");
    let messages = args.next().unwrap_or(Ok(100)).expect("messages: a number");
    let report = run(connections, messages)?;
    print!("{}", report.text);
    Ok(())
}

/// What [`run`] saw.
#[derive(Debug)]
pub struct Report {
    /// Everything printed by `main`.
    pub text: String,
    /// The stall reports, one line each.
    pub stalls: Vec<String>,
    /// Task polls, over all workers.
    pub polls: u64,
    /// Task polls counted in the histogram, over all workers and buckets.
    pub histogram_polls: u64,
    /// Messages echoed back intact.
    pub echoed: usize,
}

/// Builds the runtime, runs `connections` clients that each echo
/// `messages` 64-byte messages, and one task that blocks its worker until
/// the stall detector has reported it; then reads the metrics.
pub fn run(connections: usize, messages: usize) -> std::io::Result<Report> {
    let stalls = Arc::new(Mutex::new(Vec::new()));
    let log = stalls.clone();
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_metrics_poll_time_histogram()
        .metrics_poll_time_histogram_configuration(HistogramConfiguration::log(
            LogHistogram::builder()
                .min_value(Duration::from_micros(1))
                .max_value(Duration::from_millis(100))
                .precision_exact(0),
        ))
        .stall_threshold(STALL_THRESHOLD)
        .on_stall(move |info| log.lock().unwrap().push(info.to_string()))
        .build()?;
    let reported = stalls.clone();
    let echoed = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        runtime::task::Builder::new()
            .name("echo-server")
            .spawn(serve(listener))?;
        // A timer that stays pending, for `timers_pending`.
        runtime::task::Builder::new().name("ticker").spawn(async {
            let mut tick = runtime::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
            }
        })?;
        // A task that blocks its worker (a blocking call where an `.await`
        // belonged) until the stall detector has seen it.
        let blocker = runtime::task::Builder::new()
            .name("blocks-its-worker")
            .spawn(async move {
                std::thread::sleep(STALL_THRESHOLD * 2);
                let seen = || {
                    let reports = reported.lock().unwrap();
                    reports.iter().any(|r| r.contains("blocks-its-worker"))
                };
                while !seen() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            })?;
        let clients: Vec<_> = (0..connections)
            .map(|i| runtime::spawn(client(addr, i, messages)))
            .collect();
        let mut echoed = 0;
        for c in clients {
            echoed += c.await.expect("a client panicked")?;
        }
        blocker.await.expect("the blocker panicked");
        Ok::<_, std::io::Error>(echoed)
    })?;
    let m = rt.handle().metrics();
    let stalls = stalls.lock().unwrap().clone();
    let mut text = String::new();
    write_metrics(&mut text, &m);
    write_histogram(&mut text, &m);
    let _ = writeln!(text, "\nstall reports (threshold {STALL_THRESHOLD:?}):");
    for s in &stalls {
        let _ = writeln!(text, "  {s}");
    }
    let _ = writeln!(text, "\ntask dump:\n{}", rt.handle().dump());
    // Stop the workers, so that the totals below hold still.
    drop(rt);
    let polls = (0..m.num_workers()).map(|w| m.worker_poll_count(w)).sum();
    let histogram_polls = (0..m.num_workers())
        .flat_map(|w| (0..m.poll_time_histogram_num_buckets()).map(move |b| (w, b)))
        .map(|(w, b)| m.poll_time_histogram_bucket_count(w, b))
        .sum();
    Ok(Report {
        text,
        stalls,
        polls,
        histogram_polls,
        echoed,
    })
}

/// Echoes every connection, each in its own task.
async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        runtime::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(());
                }
                stream.write_all(&buf[..n]).await?;
            }
        });
    }
}

/// Sends `messages` 64-byte messages, one at a time, and checks each echo;
/// returns how many came back intact.
async fn client(addr: std::net::SocketAddr, id: usize, messages: usize) -> std::io::Result<usize> {
    let mut s = TcpStream::connect(addr).await?;
    let mut back = [0u8; 64];
    for i in 0..messages {
        let msg = [(id + i) as u8; 64];
        s.write_all(&msg).await?;
        s.read_exact(&mut back).await?;
        assert_eq!(back, msg, "a corrupted echo");
    }
    Ok(messages)
}

fn write_metrics(out: &mut String, m: &RuntimeMetrics) {
    let _ = writeln!(out, "runtime:");
    let _ = writeln!(out, "  num_workers           {}", m.num_workers());
    let _ = writeln!(out, "  num_alive_tasks       {}", m.num_alive_tasks());
    let _ = writeln!(out, "  spawned_tasks_count   {}", m.spawned_tasks_count());
    let _ = writeln!(out, "  global_queue_depth    {}", m.global_queue_depth());
    let _ = writeln!(out, "  num_blocking_threads  {}", m.num_blocking_threads());
    let _ = writeln!(out, "process (the reactor is shared by every runtime):");
    let (ready, turns) = (m.io_driver_ready_count(), m.reactor_turn_count());
    let _ = writeln!(out, "  io_driver_ready_count       {ready}");
    let _ = writeln!(out, "  reactor_turn_count          {turns}");
    let _ = writeln!(
        out,
        "  ready events per turn       {:.2} (mean), {} (max)",
        ready as f64 / turns.max(1) as f64,
        m.reactor_max_ready_per_turn()
    );
    let _ = writeln!(out, "  timers_pending              {}", m.timers_pending());
    let _ = writeln!(
        out,
        "per worker:  {:>8} {:>8} {:>6} {:>6} {:>12} {:>12} {:>6}",
        "polls", "steals", "parks", "noops", "busy", "max poll", "queue"
    );
    for w in 0..m.num_workers() {
        let _ = writeln!(
            out,
            "  worker {w}:  {:>8} {:>8} {:>6} {:>6} {:>12} {:>12} {:>6}",
            m.worker_poll_count(w),
            m.worker_steal_count(w),
            m.worker_park_count(w),
            m.worker_noop_count(w),
            format!("{:.1?}", m.worker_total_busy_duration(w)),
            format!("{:.1?}", m.worker_max_poll_duration(w)),
            m.worker_local_queue_depth(w),
        );
    }
}

fn write_histogram(out: &mut String, m: &RuntimeMetrics) {
    let _ = writeln!(
        out,
        "\npoll times ({} buckets; empty ones left out):",
        m.poll_time_histogram_num_buckets()
    );
    for b in 0..m.poll_time_histogram_num_buckets() {
        let counts: Vec<u64> = (0..m.num_workers())
            .map(|w| m.poll_time_histogram_bucket_count(w, b))
            .collect();
        if counts.iter().all(|&c| c == 0) {
            continue;
        }
        let r = m.poll_time_histogram_bucket_range(b);
        let end = if r.end == Duration::from_nanos(u64::MAX) {
            "∞".to_owned()
        } else {
            format!("{:?}", r.end)
        };
        let range = format!("{:?} .. {end}", r.start);
        let per_worker: Vec<String> = counts.iter().map(|c| format!("{c:>7}")).collect();
        let _ = writeln!(out, "  {range:>28}  {}", per_worker.join(" "));
    }
}
