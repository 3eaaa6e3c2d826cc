//! A server that shuts down gracefully on Ctrl-C (`SIGINT`) or `SIGTERM`:
//! it stops accepting, lets the requests in flight finish within a
//! deadline, closes idle connections, cancels what is still running at the
//! deadline, and exits with status 0.
//!
//! ```text
//! cargo run --release --example graceful_shutdown -- 127.0.0.1:7879 10
//! ```
//!
//! The arguments are the listen address and the deadline in seconds. Each
//! request is a line `DELAY_MS TEXT`; the server waits `DELAY_MS` (standing
//! in for real work) and answers `TEXT` on a line of its own. Try it with
//! `nc 127.0.0.1 7879`, type `3000 hello`, and press Ctrl-C in the
//! server's terminal before the answer comes: the answer still comes, then
//! the connection closes and the server exits.

use std::io;
use std::task::Poll;
use std::time::Duration;

use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream};
use runtime::signal::unix::{signal, SignalKind};
use runtime::sync::CancellationToken;
use runtime::task::TaskTracker;

/// What a shutdown found, printed on exit.
#[derive(Debug, Default)]
pub struct Report {
    /// Requests answered in full.
    pub answered: usize,
    /// Requests cancelled at the deadline.
    pub cancelled: usize,
}

/// Serves `listener` until `SIGINT` or `SIGTERM`, then shuts down within
/// `deadline` (see the top of this file).
///
/// # Errors
///
/// If the signal handlers cannot be installed.
pub async fn serve(listener: TcpListener, deadline: Duration) -> io::Result<Report> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // `stop`: no new requests; `abort`: cancel the requests still running.
    let stop = CancellationToken::new();
    let abort = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (answered, cancelled) = (
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    loop {
        // The next connection, unless a shutdown signal comes first.
        let accepted = std::future::poll_fn(|cx| {
            if interrupt.poll_recv(cx).is_ready() || terminate.poll_recv(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        match accepted {
            Some(Ok((stream, peer))) => {
                let conn = Connection {
                    stop: stop.child_token(),
                    abort: abort.child_token(),
                    answered: answered.clone(),
                    cancelled: cancelled.clone(),
                };
                tracker.spawn(async move {
                    if let Err(e) = conn.serve(stream).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Some(Err(e)) => eprintln!("accept: {e}"),
            None => break,
        }
    }
    // Stop accepting (the listener closes here) and stop every connection
    // between requests.
    drop(listener);
    println!("shutting down: {} connections open", tracker.len());
    stop.cancel();
    tracker.close();
    if runtime::time::timeout(deadline, tracker.wait())
        .await
        .is_err()
    {
        println!("deadline passed: cancelling {} connections", tracker.len());
        abort.cancel();
        tracker.wait().await;
    }
    Ok(Report {
        answered: answered.load(std::sync::atomic::Ordering::SeqCst),
        cancelled: cancelled.load(std::sync::atomic::Ordering::SeqCst),
    })
}

struct Connection {
    stop: CancellationToken,
    abort: CancellationToken,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cancelled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Connection {
    async fn serve(self, stream: TcpStream) -> io::Result<()> {
        let (rd, mut wr) = stream.into_split();
        let mut rd = BufReader::new(rd);
        let mut line = String::new();
        loop {
            line.clear();
            // Between requests a shutdown closes the connection.
            match self.stop.run_until_cancelled(rd.read_line(&mut line)).await {
                None | Some(Ok(0)) => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
            }
            let (delay, text) = line.trim_end().split_once(' ').unwrap_or(("0", ""));
            let Ok(delay) = delay.parse::<u64>() else {
                wr.write_all(b"error: expected `DELAY_MS TEXT`\n").await?;
                continue;
            };
            println!("request started");
            // A request in flight runs to the end unless the deadline
            // passes.
            let work = async {
                runtime::time::sleep(Duration::from_millis(delay)).await;
                wr.write_all(format!("{text}\n").as_bytes()).await
            };
            match self.abort.run_until_cancelled(work).await {
                Some(res) => {
                    res?;
                    self.answered
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                None => {
                    self.cancelled
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return Ok(());
                }
            }
        }
    }
}

#[allow(dead_code)]
#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7879".to_string());
    let deadline = match args.next() {
        Some(s) => s.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("deadline {s:?}: {e}"))
        })?,
        None => 10,
    };
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "listening on {}; Ctrl-C to shut down",
        listener.local_addr()?
    );
    let report = serve(listener, Duration::from_secs(deadline)).await?;
    println!(
        "stopped: {} requests answered, {} cancelled at the deadline",
        report.answered, report.cancelled
    );
    Ok(())
}
