//! The `hyper_hello` example: hyper's client (on this runtime) talks
//! HTTP/1.1 and HTTP/2 to it over 127.0.0.1, then a real `SIGINT` comes
//! while streamed responses are in flight.
//!
//! The signal test runs the server in a child process (this test binary
//! again, running the example's `serve`), as a user's Ctrl-C reaches it.
#![cfg(feature = "hyper")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response, StatusCode, Version};
use runtime::hyper::HyperExecutor;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::CancellationToken;
use runtime_tests::{assert_bytes_eq, block_on, flavor_tests, pattern, Flavor, HANG_LIMIT};

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/hyper_hello.rs"]
mod example;

const CHILD_ENV: &str = "RUNTIME_HYPER_HELLO_CHILD";

/// The child's shutdown deadline: far longer than the streams take.
const DEADLINE: Duration = Duration::from_secs(30);

/// Lines of the streamed responses in flight at the signal (100 ms apart).
const LINES: usize = 10;

type Body = Full<Bytes>;

fn get(path: &str) -> Request<Body> {
    // HTTP/2 requests carry the scheme and authority (`:scheme`, `:authority`).
    Request::get(format!("http://localhost{path}"))
        .body(Body::default())
        .unwrap()
}

fn post(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("http://localhost{path}"))
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn text(resp: Response<Incoming>) -> Bytes {
    resp.into_body().collect().await.unwrap().to_bytes()
}

fn lines(n: usize) -> String {
    (1..=n).map(|i| format!("line {i} of {n}\n")).collect()
}

/// Connects an HTTP/1.1 client; its connection runs in a task whose
/// handle is returned (it ends when the server closes the connection).
async fn h1_client(
    addr: &str,
) -> (
    http1::SendRequest<Body>,
    runtime::task::JoinHandle<hyper::Result<()>>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = http1::handshake(stream).await.unwrap();
    (sender, runtime::spawn(conn))
}

async fn h2_client(
    addr: &str,
) -> (
    http2::SendRequest<Body>,
    runtime::task::JoinHandle<hyper::Result<()>>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = http2::handshake(HyperExecutor::new(), stream)
        .await
        .unwrap();
    (sender, runtime::spawn(conn))
}

/// Every route over HTTP/1.1 (four requests on one kept-alive connection)
/// and over HTTP/2 (twenty concurrent streams on one connection); then a
/// `SIGINT` while an HTTP/1.1 and an HTTP/2 response are half streamed and
/// an HTTP/1.1 connection is idle: the listener closes, both responses
/// arrive in full, every connection closes, and the process exits with 0.
#[test]
fn hyper_hello_serves_http1_and_http2_and_stops_gracefully_on_sigint() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    let exe = std::env::current_exe().unwrap();
    let mut server = KillOnDrop(
        Command::new(exe)
            .args([
                "--exact",
                "hyper_hello_serves_http1_and_http2_and_stops_gracefully_on_sigint",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the server process"),
    );
    let server = &mut server.0;
    let (lines_tx, printed) = mpsc::channel::<String>();
    let stdout = server.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |prefix: &str| -> String {
        loop {
            let line = printed
                .recv_timeout(HANG_LIMIT)
                .unwrap_or_else(|_| panic!("the server never printed {prefix:?}"));
            // The harness's own "test ... " may precede the first line.
            if let Some(at) = line.find(prefix) {
                return line[at..].to_string();
            }
        }
    };
    let port: u16 = wait_for("port ")[5..].parse().unwrap();
    let addr = format!("127.0.0.1:{port}");
    block_on(Flavor::MultiThread, async {
        // HTTP/1.1: every route, one connection kept alive throughout.
        let (mut idle, idle_conn) = h1_client(&addr).await;
        let big = pattern(200_000, 1);
        for (req, status, body) in [
            (get("/"), StatusCode::OK, Bytes::from("Hello, World!\n")),
            (post("/echo", big.clone()), StatusCode::OK, Bytes::from(big)),
            (get("/stream/3"), StatusCode::OK, Bytes::from(lines(3))),
            (get("/missing"), StatusCode::NOT_FOUND, Bytes::new()),
        ] {
            idle.ready().await.unwrap();
            let resp = idle.send_request(req).await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_11);
            assert_eq!(resp.status(), status);
            assert_bytes_eq(&text(resp).await, &body, "an HTTP/1.1 response body");
        }

        // HTTP/2: twenty requests at once on one connection.
        let (h2, h2_conn) = h2_client(&addr).await;
        let mut requests = Vec::new();
        for i in 0..20u64 {
            let mut sender = h2.clone();
            requests.push(runtime::spawn(async move {
                let data = pattern(1000 + i as usize * 3000, i);
                let (req, want) = if i % 2 == 0 {
                    (get("/"), b"Hello, World!\n".to_vec())
                } else {
                    (post("/echo", data.clone()), data)
                };
                sender.ready().await.unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert_eq!(resp.version(), Version::HTTP_2);
                assert_eq!(resp.status(), StatusCode::OK);
                assert_bytes_eq(&text(resp).await, &want, "an HTTP/2 response body");
            }));
        }
        for r in requests {
            r.await.unwrap();
        }

        // Two responses half streamed, one per version: the first line
        // has come, nine are still to come.
        let (mut h1, h1_conn) = h1_client(&addr).await;
        h1.ready().await.unwrap();
        let resp1 = h1
            .send_request(get(&format!("/stream/{LINES}")))
            .await
            .unwrap();
        let mut h2_sender = h2.clone();
        h2_sender.ready().await.unwrap();
        let resp2 = h2_sender
            .send_request(get(&format!("/stream/{LINES}")))
            .await
            .unwrap();
        let mut bodies = Vec::new();
        for resp in [resp1, resp2] {
            let mut body = resp.into_body();
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(first, format!("line 1 of {LINES}\n"));
            bodies.push((first, body));
        }

        // SAFETY: `kill` of the child this test started.
        let rc = unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
        assert_eq!(
            wait_for("shutting down"),
            "shutting down: 3 connections open"
        );
        assert!(
            TcpStream::connect(&addr).await.is_err(),
            "the listener is closed once shutdown starts"
        );
        for (first, body) in bodies {
            let rest = body.collect().await.unwrap().to_bytes();
            assert_eq!(
                [first, rest].concat(),
                lines(LINES).as_bytes(),
                "a response in flight arrives in full"
            );
        }
        // Every connection ends: the idle one at once, the others after
        // their response (HTTP/1.1) or their open streams (HTTP/2, after
        // `GOAWAY`). The senders are kept alive, so it is the server that
        // closes.
        for conn in [idle_conn, h1_conn, h2_conn] {
            conn.await.unwrap().unwrap();
        }
        drop((idle, h1, h2, h2_sender));
    });
    assert_eq!(wait_for("report "), "report open=3 cut=0");
    let status = server.wait().unwrap();
    assert!(status.success(), "the server exits with 0: {status}");
    reader.join().unwrap();
}

/// Kills the server if the test fails before it exits by itself.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// In the child: the example's server on an ephemeral port.
fn child() {
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("port {}", listener.local_addr().unwrap().port());
        example::serve(listener, DEADLINE).await.unwrap()
    });
    println!("report open={} cut={}", report.open, report.cut);
}

/// One connection served by the example's `connection`, from an accepted
/// stream; returns the client's end and the server's task.
async fn served_connection(
    stop: &CancellationToken,
) -> (
    TcpStream,
    runtime::task::JoinHandle<Result<(), Box<dyn std::error::Error + Send + Sync>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let server = runtime::spawn(example::connection(stream, stop.clone()));
    (client, server)
}

/// The version is told from the first bytes even when they come in
/// pieces: the HTTP/2 preface split in two gets an HTTP/2 `SETTINGS` frame
/// back; an HTTP/1.1 request whose first byte (`P`, as in the preface)
/// comes alone gets an HTTP/1.1 answer.
fn version_is_told_from_first_bytes_in_pieces(flavor: Flavor) {
    block_on(flavor, async {
        let stop = CancellationToken::new();

        let (mut client, _server) = served_connection(&stop).await;
        client.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        runtime::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"\r\nSM\r\n\r\n").await.unwrap();
        // The client's own SETTINGS frame (empty).
        client
            .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
            .await
            .unwrap();
        let mut head = [0u8; 9];
        client.read_exact(&mut head).await.unwrap();
        assert_eq!(head[3], 4, "the server's first frame is SETTINGS");
        assert_eq!(head[5..9], [0, 0, 0, 0], "on stream 0");

        let (mut client, server) = served_connection(&stop).await;
        client.write_all(b"P").await.unwrap();
        runtime::time::sleep(Duration::from_millis(20)).await;
        client
            .write_all(
                b"OST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            )
            .await
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
        assert!(answer.ends_with("\r\n\r\nhi"), "{answer:?}");
        server.await.unwrap().unwrap();
    });
}

/// A connection that has sent nothing yet closes when the shutdown
/// begins, and one closed before sending anything ends quietly.
fn silent_connections_end(flavor: Flavor) {
    block_on(flavor, async {
        let stop = CancellationToken::new();
        let (mut client, server) = served_connection(&stop).await;
        stop.cancel();
        server.await.unwrap().unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty(), "nothing is sent to a silent connection");

        let stop = CancellationToken::new();
        let (client, server) = served_connection(&stop).await;
        drop(client);
        server.await.unwrap().unwrap();
    });
}

flavor_tests!(
    version_is_told_from_first_bytes_in_pieces,
    silent_connections_end,
);
