//! hyper 1.x on this runtime (feature `hyper`): hyper's client talks to
//! hyper's server over 127.0.0.1, our `TcpStream` passed to both with no
//! wrapper. Keep-alive (100 requests on one connection), a 16 MiB body
//! echoed byte-exact, the HTTP/1 header-read timeout and the HTTP/2
//! keep-alive timeout firing (raw peers that stall), a client that
//! disconnects mid-body, and the pieces: reads into uninitialised buffers,
//! `HyperTimer::reset` in place, `HyperIo` both ways, `HyperExecutor`.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::rt::{ReadBuf, Timer as _, Write as _};
use hyper::service::service_fn;
use hyper::{Request, Response};
use runtime::hyper::{HyperExecutor, HyperIo, HyperSleep, HyperTimer};
use runtime::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream, UnixStream};
use runtime_tests::{assert_bytes_eq, block_on, connected_pair, flavor_tests, pattern, Flavor};

const MIB: usize = 1024 * 1024;

/// Which HTTP version a test drives.
#[derive(Clone, Copy, Debug)]
enum Http {
    One,
    Two,
}

/// A request sender of either version.
enum Sender {
    One(hyper::client::conn::http1::SendRequest<Body>),
    Two(hyper::client::conn::http2::SendRequest<Body>),
}

/// The request body type of every client here.
type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).boxed()
}

impl Sender {
    /// Sends `req` once the connection can take it.
    async fn send(&mut self, req: Request<Body>) -> hyper::Result<Response<Incoming>> {
        match self {
            Sender::One(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
            Sender::Two(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
        }
    }
}

/// Connects to `addr` and runs hyper's client handshake over the bare
/// stream; the connection is driven in its own task.
async fn client(addr: SocketAddr, http: Http) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    match http {
        Http::One => {
            let (sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
            runtime::spawn(async move {
                let _ = conn.await;
            });
            Sender::One(sender)
        }
        Http::Two => {
            let (sender, conn) =
                hyper::client::conn::http2::handshake(HyperExecutor::new(), stream)
                    .await
                    .unwrap();
            runtime::spawn(async move {
                let _ = conn.await;
            });
            Sender::Two(sender)
        }
    }
}

/// Serves one accepted connection with `service` as `http`, returning
/// hyper's result for it.
async fn serve<S, B>(stream: TcpStream, http: Http, service: S) -> hyper::Result<()>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match http {
        Http::One => {
            hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new())
                .serve_connection(stream, service)
                .await
        }
        Http::Two => {
            hyper::server::conn::http2::Builder::new(HyperExecutor::new())
                .timer(HyperTimer::new())
                .serve_connection(stream, service)
                .await
        }
    }
}

/// 100 requests on one connection, each answered with its own path; the
/// server accepts one connection only and counts the requests it served.
fn keep_alive_100_requests(flavor: Flavor, http: Http) {
    block_on(flavor, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let server = {
            let served = served.clone();
            runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let service = service_fn(move |req: Request<Incoming>| {
                    served.fetch_add(1, Ordering::SeqCst);
                    let path = req.uri().path().to_owned();
                    async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(path)))) }
                });
                serve(stream, http, service).await
            })
        };

        let mut sender = client(addr, http).await;
        match &mut sender {
            Sender::One(_) => {
                for i in 0..100 {
                    let req = Request::get(format!("/{i}")).body(full("")).unwrap();
                    let resp = sender.send(req).await.unwrap();
                    assert_eq!(resp.status(), 200);
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body, format!("/{i}"), "answer to request {i}");
                }
            }
            Sender::Two(h2) => {
                // HTTP/2 multiplexes: all 100 at once, each in its own task.
                let tasks: Vec<_> = (0..100)
                    .map(|i| {
                        let mut s = Sender::Two(h2.clone());
                        runtime::spawn(async move {
                            let req = Request::get(format!("http://x/{i}"))
                                .body(full(""))
                                .unwrap();
                            let resp = s.send(req).await.unwrap();
                            assert_eq!(resp.status(), 200);
                            let body = resp.into_body().collect().await.unwrap().to_bytes();
                            assert_eq!(body, format!("/{i}"), "answer to request {i}");
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        }
        drop(sender);
        // The client hung up: the server's connection ends cleanly, having
        // served every request on the one connection it accepted.
        server.await.unwrap().unwrap();
        assert_eq!(served.load(Ordering::SeqCst), 100);
    });
}

fn keep_alive_100_requests_http1(flavor: Flavor) {
    keep_alive_100_requests(flavor, Http::One);
}

fn keep_alive_100_requests_http2(flavor: Flavor) {
    keep_alive_100_requests(flavor, Http::Two);
}

/// A 16 MiB request body streamed in 64 KiB frames; the server answers with
/// the request body itself as the response body (streamed back while it is
/// still arriving), and the client checks every byte.
fn echo_16_mib(flavor: Flavor, http: Http) {
    block_on(flavor, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|req: Request<Incoming>| async move {
                Ok::<_, Infallible>(Response::new(req.into_body()))
            });
            serve(stream, http, service).await
        });

        let data = Bytes::from(pattern(16 * MIB, 7));
        let chunks: Vec<_> = data
            .chunks(64 * 1024)
            .map(|c| Ok::<_, Infallible>(Frame::data(data.slice_ref(c))))
            .collect();
        let body = StreamBody::new(futures_util::stream::iter(chunks)).boxed();
        let mut sender = client(addr, http).await;
        let req = Request::post("http://x/echo").body(body).unwrap();
        let resp = sender.send(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_bytes_eq(&got, &data, "echoed body");
        drop(sender);
        server.await.unwrap().unwrap();
    });
}

fn echo_16_mib_http1(flavor: Flavor) {
    echo_16_mib(flavor, Http::One);
}

fn echo_16_mib_http2(flavor: Flavor) {
    echo_16_mib(flavor, Http::Two);
}

flavor_tests!(
    keep_alive_100_requests_http1,
    keep_alive_100_requests_http2,
    echo_16_mib_http1,
    echo_16_mib_http2,
);

/// Reads from `stream` until EOF (or a reset, which also means the peer
/// closed), returning what arrived.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("reading until the server closes: {e}"),
        }
    }
}

/// A peer that sends half a request head and then stalls: the server (with
/// `HyperTimer` and a short `header_read_timeout`) gives up, its
/// connection future fails with a timeout error, and the peer sees the
/// connection closed. The service is never called.
#[test]
fn http1_header_read_timeout_closes_the_connection() {
    block_on(Flavor::MultiThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let called = Arc::new(AtomicUsize::new(0));
        let server = {
            let called = called.clone();
            runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let service = service_fn(move |_: Request<Incoming>| {
                    called.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
                });
                hyper::server::conn::http1::Builder::new()
                    .timer(HyperTimer::new())
                    .header_read_timeout(Duration::from_millis(50))
                    .serve_connection(stream, service)
                    .await
            })
        };

        let mut peer = TcpStream::connect(addr).await.unwrap();
        peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // No blank line ever comes. The server must close (the watchdog
        // catches a server that never does).
        let got = read_to_close(&mut peer).await;
        assert!(
            got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
            "the server sent {:?} before closing",
            String::from_utf8_lossy(&got)
        );
        let err = server.await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "the connection ended with {err:?}");
        assert_eq!(called.load(Ordering::SeqCst), 0);
    });
}

/// The type of an HTTP/2 PING frame.
const H2_PING: u8 = 0x6;

/// A raw HTTP/2 peer that sends the preface and an empty SETTINGS frame,
/// then never answers anything: the server (keep-alive interval and
/// timeout set, `HyperTimer`) sends a PING, gets no PONG, and closes the
/// connection; its connection future fails.
#[test]
fn http2_keep_alive_timeout_closes_the_connection() {
    block_on(Flavor::MultiThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|_: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
            });
            hyper::server::conn::http2::Builder::new(HyperExecutor::new())
                .timer(HyperTimer::new())
                .keep_alive_interval(Duration::from_millis(20))
                .keep_alive_timeout(Duration::from_millis(50))
                .serve_connection(stream, service)
                .await
        });

        let mut peer = TcpStream::connect(addr).await.unwrap();
        peer.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        // SETTINGS: length 0, type 4, no flags, stream 0.
        peer.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();

        // Read frames (never answering) until the server closes.
        let mut frame_types = Vec::new();
        loop {
            let mut head = [0u8; 9];
            match peer.read_exact(&mut head).await {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    break
                }
                Err(e) => panic!("reading the server's frames: {e}"),
            }
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; len];
            if peer.read_exact(&mut payload).await.is_err() {
                break;
            }
            // A PING the server sends (not an ACK, flag 0x1) is the
            // keep-alive probe.
            frame_types.push((head[3], head[4]));
        }
        assert!(
            frame_types.contains(&(H2_PING, 0)),
            "the server closed without a keep-alive PING; frames (type, flags): {frame_types:?}"
        );
        let ping_at = frame_types.iter().position(|f| *f == (H2_PING, 0)).unwrap();
        assert!(
            frame_types[ping_at + 1..]
                .iter()
                .all(|&(ty, _)| ty == H2_PING || ty == 0x7),
            "after the PING only more PINGs or a GOAWAY may come: {frame_types:?}"
        );
        let res = server.await.unwrap();
        assert!(res.is_err(), "the connection ended with {res:?}");
    });
}

/// A client that sends half of a 1 MiB `Content-Length` body and drops the
/// connection: the handler's body read fails (it does not hang, and does
/// not see a short body as complete), and the server goes on serving a new
/// connection.
#[test]
fn client_disconnect_mid_body_then_next_connection_served() {
    block_on(Flavor::MultiThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (results_tx, mut results) = runtime::sync::mpsc::unbounded_channel();
        let server = runtime::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let results_tx = results_tx.clone();
                runtime::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let results_tx = results_tx.clone();
                        async move {
                            let body = req.into_body().collect().await.map(|b| b.to_bytes());
                            let len = body.as_ref().map(|b| b.len()).unwrap_or(0);
                            results_tx.send(body.map(|b| b.len())).unwrap();
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                                len.to_string(),
                            ))))
                        }
                    });
                    let _ = serve(stream, Http::One, service).await;
                });
            }
        });

        let mut peer = TcpStream::connect(addr).await.unwrap();
        peer.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
            .await
            .unwrap();
        peer.write_all(&pattern(MIB / 2, 3)).await.unwrap();
        drop(peer);
        let first = results.recv().await.unwrap();
        assert!(
            first.is_err(),
            "the handler read a truncated body as complete: {first:?}"
        );

        // A new connection is served as usual.
        let mut sender = client(addr, Http::One).await;
        let req = Request::post("/upload")
            .body(full(vec![1u8; 1000]))
            .unwrap();
        let resp = sender.send(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "1000");
        assert_eq!(results.recv().await.unwrap().unwrap(), 1000);
        server.abort();
    });
}

/// Polls `io`'s hyper `Read` once into a fresh uninitialised buffer of
/// `cap` bytes and returns what it filled.
async fn hyper_read<T: hyper::rt::Read + Unpin>(io: &mut T, cap: usize) -> Vec<u8> {
    let mut storage = vec![MaybeUninit::<u8>::uninit(); cap];
    let mut buf = ReadBuf::uninit(&mut storage);
    poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, buf.unfilled()))
        .await
        .unwrap();
    buf.filled().to_vec()
}

/// Our sockets' hyper `Read` fills an uninitialised buffer with exactly
/// what arrived (a short read, then the rest), and reports EOF as nothing
/// filled; their `Write` writes (vectored too) and `poll_shutdown` makes
/// the peer read EOF.
#[test]
fn sockets_read_into_uninitialised_buffers_and_write() {
    block_on(Flavor::CurrentThread, async {
        let (mut a, mut b) = connected_pair().await.unwrap();
        a.write_all(b"hello, hyper").await.unwrap();
        let mut got = hyper_read(&mut b, 5).await;
        assert_eq!(got, b"hello");
        got = hyper_read(&mut b, 4096).await;
        assert_eq!(got, b", hyper");

        assert!(b.is_write_vectored());
        let bufs = [std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")];
        let n = poll_fn(|cx| Pin::new(&mut b).poll_write_vectored(cx, &bufs))
            .await
            .unwrap();
        assert_eq!(n, 4);
        let n = poll_fn(|cx| Pin::new(&mut b).poll_write(cx, b"ef"))
            .await
            .unwrap();
        assert_eq!(n, 2);
        poll_fn(|cx| Pin::new(&mut b).poll_flush(cx)).await.unwrap();
        poll_fn(|cx| Pin::new(&mut b).poll_shutdown(cx))
            .await
            .unwrap();
        let mut all = Vec::new();
        a.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"abcdef");

        drop(a);
        assert!(hyper_read(&mut b, 64).await.is_empty(), "EOF fills nothing");

        let (mut u, mut v) = UnixStream::pair().unwrap();
        poll_fn(|cx| Pin::new(&mut u).poll_write(cx, b"unix"))
            .await
            .unwrap();
        assert_eq!(hyper_read(&mut v, 64).await, b"unix");
    });
}

/// The same HTTP/1.1 exchange over Unix sockets, passed bare to hyper.
#[test]
fn http1_over_unix_stream() {
    block_on(Flavor::MultiThread, async {
        let (client_io, server_io) = UnixStream::pair().unwrap();
        let server = runtime::spawn(async move {
            let service = service_fn(|req: Request<Incoming>| async move {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(server_io, service)
                .await
        });
        let (mut sender, conn) = hyper::client::conn::http1::handshake(client_io)
            .await
            .unwrap();
        runtime::spawn(conn);
        let resp = sender
            .send_request(Request::post("/").body(full("over unix")).unwrap())
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "over unix");
        drop(sender);
        server.await.unwrap().unwrap();
    });
}

/// `HyperIo` carries a `futures-io` type of the user's (here a
/// `BufReader` around our stream) into hyper on both ends, and turns a
/// hyper I/O type back into `futures-io`.
#[test]
fn hyper_io_adapts_futures_io_types_both_ways() {
    block_on(Flavor::MultiThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|req: Request<Incoming>| async move {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo::new(BufReader::new(stream)), service)
                .await
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(HyperIo::new(BufReader::new(stream)))
                .await
                .unwrap();
        runtime::spawn(conn);
        let data = pattern(300 * 1024, 11);
        let resp = sender
            .send_request(Request::post("/").body(full(data.clone())).unwrap())
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_bytes_eq(&body, &data, "echo through HyperIo");
        drop(sender);
        server.await.unwrap().unwrap();

        // hyper's traits back to futures-io: our stream seen through its
        // hyper impls.
        let (a, b) = connected_pair().await.unwrap();
        let (mut a, mut b) = (HyperIo::new(a), HyperIo::new(b));
        AsyncWriteExt::write_all(&mut a, b"round trip")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut a).await.unwrap();
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        assert_eq!(got, b"round trip");
    });
}

/// A sleep that never completes, from some other timer.
struct ForeignSleep;

impl Future for ForeignSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for ForeignSleep {}

/// `HyperTimer::reset` moves our sleep's deadline in place (the same
/// allocation, still a `HyperSleep`), and the moved sleep completes; a
/// sleep from another timer is replaced by one of ours.
#[test]
fn hyper_timer_reset_reuses_the_sleep() {
    block_on(Flavor::CurrentThread, async {
        let timer = HyperTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let before = &*sleep as *const dyn hyper::rt::Sleep as *const ();
        let deadline = std::time::Instant::now() + Duration::from_millis(1);
        timer.reset(&mut sleep, deadline);
        let after = &*sleep as *const dyn hyper::rt::Sleep as *const ();
        assert_eq!(before, after, "reset allocated a new sleep");
        let ours = sleep.as_mut().downcast_mut_pin::<HyperSleep>().unwrap();
        assert_eq!(ours.deadline().into_std(), deadline);
        sleep.as_mut().await;
        assert!(sleep
            .as_mut()
            .downcast_mut_pin::<HyperSleep>()
            .unwrap()
            .is_elapsed());

        let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(ForeignSleep);
        assert!(!foreign.is::<HyperSleep>());
        timer.reset(&mut foreign, std::time::Instant::now());
        assert!(foreign.is::<HyperSleep>());
        foreign.await;

        let until = std::time::Instant::now() + Duration::from_millis(2);
        timer.sleep_until(until).await;
        assert!(std::time::Instant::now() >= until);
    });
}

/// `HyperExecutor::new` spawns on the current runtime;
/// `HyperExecutor::with_handle` on its runtime from a plain thread.
#[test]
fn hyper_executor_spawns_tasks() {
    use hyper::rt::Executor;

    block_on(Flavor::MultiThread, async {
        let (tx, rx) = runtime::sync::oneshot::channel();
        HyperExecutor::new().execute(async move { tx.send(runtime::task::try_id()).unwrap() });
        assert!(rx.await.unwrap().is_some(), "ran as a task");
    });

    let rt = Flavor::CurrentThread.build();
    let exec = HyperExecutor::with_handle(rt.handle().clone());
    let (tx, rx) = runtime::sync::oneshot::channel();
    std::thread::spawn(move || exec.clone().execute(async move { tx.send(()).unwrap() }))
        .join()
        .unwrap();
    let _watchdog = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
    rt.block_on(rx).unwrap();
}
