//! Serves the runtime's live-task listing ([`runtime::Handle::dump`]) as
//! plain text over HTTP/1.0 on a side port, while a few named tasks run.
//!
//! ```text
//! cargo run --example task_dump -- 127.0.0.1:6669
//! curl http://127.0.0.1:6669/
//! ```
//!
//! Each request gets one `Dump`, one line per task (id, name, spawn
//! location, state, polls, time since the last poll), and the connection
//! is closed. The request itself is read up to its blank line and ignored.

use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::Handle;

/// The most request bytes read before answering anyway.
const MAX_REQUEST: usize = 8 * 1024;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6669".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("task dump on http://{}/", listener.local_addr()?);
    // Something to look at: tasks that tick at different rates.
    for (name, period) in [("ticker-fast", 10), ("ticker-slow", 1000)] {
        runtime::task::Builder::new().name(name).spawn(async move {
            let mut interval = runtime::time::interval(Duration::from_millis(period));
            loop {
                interval.tick().await;
            }
        })?;
    }
    serve_dump(listener, Handle::current()).await
}

/// Answers every connection on `listener` with `handle`'s task dump, each
/// in its own task, until accepting fails.
pub async fn serve_dump(listener: TcpListener, handle: Handle) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let handle = handle.clone();
        runtime::task::Builder::new()
            .name("dump-connection")
            .spawn(async move {
                if let Err(e) = answer(stream, &handle).await {
                    eprintln!("task_dump: {e}");
                }
            })?;
    }
}

/// Reads one request head and writes the dump as the response.
async fn answer(mut stream: TcpStream, handle: &Handle) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let body = handle.dump().to_string();
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}
