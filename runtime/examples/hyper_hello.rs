//! An HTTP server on hyper 1.x that speaks HTTP/1.1 and HTTP/2 on one port,
//! and shuts down gracefully on Ctrl-C.
//!
//! ```text
//! cargo run --example hyper_hello --features hyper -- 127.0.0.1:3000
//! ```
//!
//! The arguments are the listen address (default `127.0.0.1:3000`) and the
//! shutdown deadline in seconds (default 10). Try it with:
//!
//! ```text
//! curl http://127.0.0.1:3000/                          # HTTP/1.1
//! curl --http2-prior-knowledge http://127.0.0.1:3000/  # HTTP/2 (h2c)
//! curl -d 'some text' http://127.0.0.1:3000/echo       # the body comes back
//! curl -N http://127.0.0.1:3000/stream/30              # 30 lines, 100 ms apart
//! ```
//!
//! HTTP/2 without TLS has no negotiation: the client simply opens with the
//! HTTP/2 connection preface (`PRI * HTTP/2.0 ...`), which is no valid
//! HTTP/1 request. So each accepted connection is
//! [peeked](runtime::net::TcpStream::peek) (nothing is consumed) and goes to
//! hyper's `http2` or `http1` server accordingly; the stream itself is
//! handed to hyper as it is (with the `hyper` feature our sockets implement
//! hyper's I/O traits).
//!
//! On Ctrl-C the server stops accepting (the listener closes), asks every
//! open connection to finish (hyper's `graceful_shutdown`: HTTP/1.1 closes
//! after the response in flight, or at once if idle; HTTP/2 sends `GOAWAY`
//! and finishes the streams already open), waits for them up to the
//! deadline, drops whatever is still open then, and exits with status 0.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::hyper::{HyperExecutor, HyperTimer};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::CancellationToken;
use runtime::task::TaskTracker;

/// What every connection opens with in HTTP/2 (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a new connection may take to send its first request (or the
/// HTTP/2 preface) before it is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The gap between two lines of `/stream/N`.
const STREAM_GAP: Duration = Duration::from_millis(100);

/// The response body of every route.
type Body = UnsyncBoxBody<Bytes, hyper::Error>;

/// What a shutdown found, printed on exit.
#[derive(Debug, Default)]
pub struct Report {
    /// Connections open when the shutdown began.
    pub open: usize,
    /// Of those, the ones still open at the deadline, which were dropped.
    pub cut: usize,
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let deadline = match args.next() {
        Some(s) => s.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("deadline {s:?}: {e}"))
        })?,
        None => 10,
    };
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "hyper_hello listening on http://{}/ (HTTP/1.1 and HTTP/2); Ctrl-C to stop",
        listener.local_addr()?
    );
    let report = serve(listener, Duration::from_secs(deadline)).await?;
    println!(
        "stopped: {} connections open at Ctrl-C, {} dropped at the deadline",
        report.open, report.cut
    );
    Ok(())
}

/// Serves `listener` until Ctrl-C (`SIGINT`), then shuts down within
/// `deadline` (see the top of this file).
///
/// # Errors
///
/// If the `SIGINT` handler cannot be installed.
pub async fn serve(listener: TcpListener, deadline: Duration) -> io::Result<Report> {
    // Polled first on every turn of the loop below, so the handler is
    // installed before the first connection is accepted.
    let mut ctrl_c = pin!(runtime::signal::ctrl_c());
    // `stop`: finish what is in flight and close; `abort`: drop it all.
    let stop = CancellationToken::new();
    let abort = CancellationToken::new();
    let tracker = TaskTracker::new();
    loop {
        runtime::select! {
            biased;
            res = &mut ctrl_c => {
                res?;
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (stop, abort) = (stop.child_token(), abort.child_token());
                    tracker.spawn(async move {
                        let served = abort.run_until_cancelled(connection(stream, stop)).await;
                        if let Some(Err(e)) = served {
                            eprintln!("{peer}: {e}");
                        }
                    });
                }
                // For example out of file descriptors: the listener backs
                // off by itself.
                Err(e) => eprintln!("accept: {e}"),
            },
        }
    }
    drop(listener);
    let open = tracker.len();
    println!("shutting down: {open} connections open");
    stop.cancel();
    tracker.close();
    let mut cut = 0;
    if runtime::time::timeout(deadline, tracker.wait())
        .await
        .is_err()
    {
        cut = tracker.len();
        println!("deadline passed: dropping {cut} connections");
        abort.cancel();
        tracker.wait().await;
    }
    Ok(Report { open, cut })
}

/// Serves one connection, HTTP/2 if it opens with the HTTP/2 preface and
/// HTTP/1.1 otherwise, until the peer closes it or `stop` is cancelled
/// (then it finishes gracefully).
///
/// # Errors
///
/// hyper's, for a connection that ends badly (a malformed request, a reset).
pub async fn connection(
    stream: TcpStream,
    stop: CancellationToken,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    stream.set_nodelay(true)?;
    // A connection that has sent nothing yet is idle: a shutdown closes it.
    let sniffed = stop.run_until_cancelled(runtime::time::timeout(
        HEADER_TIMEOUT,
        opens_with_preface(&stream),
    ));
    let h2 = match sniffed.await {
        None | Some(Err(_)) => return Ok(()),
        Some(Ok(h2)) => h2?,
    };
    let service = service_fn(route);
    if h2 {
        let conn = http2::Builder::new(HyperExecutor::new())
            .timer(HyperTimer::new())
            .serve_connection(stream, service);
        finish_on_stop(conn, &stop, |c| c.graceful_shutdown()).await?;
    } else {
        let conn = http1::Builder::new()
            .timer(HyperTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(stream, service);
        finish_on_stop(conn, &stop, |c| c.graceful_shutdown()).await?;
    }
    Ok(())
}

/// Drives `conn` to its end; if `stop` is cancelled first, calls
/// `graceful_shutdown` on it and drives it to its (now near) end.
async fn finish_on_stop<C>(
    conn: C,
    stop: &CancellationToken,
    graceful_shutdown: impl FnOnce(Pin<&mut C>),
) -> hyper::Result<()>
where
    C: Future<Output = hyper::Result<()>>,
{
    let mut conn = pin!(conn);
    if let Some(res) = stop.run_until_cancelled(conn.as_mut()).await {
        return res;
    }
    graceful_shutdown(conn.as_mut());
    conn.await
}

/// Whether the first bytes of `stream` are the HTTP/2 preface, without
/// consuming them. Returns as soon as they differ from it (or at EOF);
/// waits while what has come is a part of it.
async fn opens_with_preface(stream: &TcpStream) -> io::Result<bool> {
    let mut buf = [0u8; PREFACE.len()];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 || buf[..n] != PREFACE[..n] {
            // EOF, or HTTP/1 (hyper's `http1` answers anything else).
            return Ok(false);
        }
        if n == PREFACE.len() {
            return Ok(true);
        }
        // A prefix of the preface, the rest on its way (it rarely comes in
        // pieces). `peek` would return the same bytes again at once, so
        // look again shortly.
        runtime::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The routes:
///
/// - `GET /`: `Hello, World!`;
/// - `POST /echo`: the request body, streamed back as it comes;
/// - `GET /stream/N`: `N` lines (at most 1000), 100 ms apart, each sent as
///   it is made;
/// - anything else: `404`.
async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let response = match (req.method(), path) {
        (&Method::GET, "/") => Response::new(full("Hello, World!\n")),
        (&Method::POST, "/echo") => Response::new(req.into_body().boxed_unsync()),
        (&Method::GET, _) if path.starts_with("/stream/") => {
            match path["/stream/".len()..].parse::<usize>() {
                Ok(lines) if lines <= 1000 => Response::new(stream_lines(lines)),
                _ => status(StatusCode::BAD_REQUEST),
            }
        }
        _ => status(StatusCode::NOT_FOUND),
    };
    Ok(response)
}

fn full(text: &'static str) -> Body {
    Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(""));
    *response.status_mut() = code;
    response
}

/// A body of `lines` lines `line I of N`, one every [`STREAM_GAP`].
fn stream_lines(lines: usize) -> Body {
    let frames = futures_util::stream::unfold(1, move |i| async move {
        if i > lines {
            return None;
        }
        if i > 1 {
            runtime::time::sleep(STREAM_GAP).await;
        }
        let line = Bytes::from(format!("line {i} of {lines}\n"));
        Some((Ok(Frame::data(line)), i + 1))
    });
    StreamBody::new(frames).boxed_unsync()
}
