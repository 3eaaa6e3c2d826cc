//! The servers `compare` measures, each in its own process as `compare`
//! runs them, checked with the load generator: every runtime's echo and
//! HTTP server answers correctly (every byte, pipelined HTTP in order).
//! Also the HTTP responder on its own.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use runtime_benches::contender::http_hello::{respond, Next, HELLO};
use runtime_benches::contender::Contender;
use runtime_benches::loadgen::{self, Herd, Mode, Protocol, Spec};

/// A `compare --serve` child; killed on drop.
struct Server(Child, SocketAddr);

impl Server {
    fn start(c: Contender, case: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args(["--serve", c.name(), "--workers", "2", "--case", case])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{c}: said {line:?}"))
            .parse()
            .unwrap();
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin ends the server; kill in case it does not.
        drop(self.0.stdin.take());
        std::thread::sleep(Duration::from_millis(20));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spec(addr: SocketAddr, protocol: Protocol, mode: Mode, pid: u32) -> Spec {
    Spec {
        addr,
        conns: 10,
        threads: 1,
        protocol,
        mode,
        warmup: Duration::from_millis(20),
        window: Duration::from_millis(150),
        cpus: None,
        server_pid: Some(pid),
    }
}

#[test]
fn every_server_echoes_and_answers_http() {
    let http = Protocol::Fixed {
        request: Arc::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        response: Arc::from(HELLO),
    };
    for c in Contender::ALL {
        let echo = Server::start(c, "echo");
        let pid = echo.0.id();
        for size in [64, 5000] {
            let out = loadgen::run(&spec(
                echo.1,
                Protocol::Echo { size },
                Mode::Closed { depth: 2 },
                pid,
            ))
            .unwrap_or_else(|e| panic!("{c} echo {size}: {e}"));
            assert!(out.completed > 0, "{c} echo {size}");
            assert!(out.server_cpu.is_some());
        }
        let mut herd =
            Herd::connect(echo.1, None, 100, 32, 0).unwrap_or_else(|e| panic!("{c} herd: {e}"));
        herd.echo_all(32).unwrap();
        drop(herd);
        drop(echo);
        let server = Server::start(c, "http");
        for depth in [1, 8] {
            let out = loadgen::run(&spec(
                server.1,
                http.clone(),
                Mode::Closed { depth },
                server.0.id(),
            ))
            .unwrap_or_else(|e| panic!("{c} http depth {depth}: {e}"));
            assert!(out.completed > 0, "{c} http depth {depth}");
        }
    }
}

#[test]
fn respond_answers_pipelined_requests_in_order() {
    let mut input = b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\nGET / HT".to_vec();
    let mut out = Vec::new();
    assert_eq!(respond(&mut input, &mut out), Next::KeepAlive);
    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(out, [HELLO, &not_found[..]].concat());
    assert_eq!(input, b"GET / HT");
    out.clear();
    input.extend_from_slice(b"TP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(respond(&mut input, &mut out), Next::KeepAlive);
    assert_eq!(out, HELLO);
    assert!(input.is_empty());
}

#[test]
fn respond_closes_when_asked_or_confused() {
    let mut out = Vec::new();
    let mut input = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n".to_vec();
    assert_eq!(respond(&mut input, &mut out), Next::Close);
    assert_eq!(out, HELLO, "nothing is answered after the close");
    let mut out = Vec::new();
    let mut input = b"GET / HTTP/1.0\r\n\r\n".to_vec();
    assert_eq!(respond(&mut input, &mut out), Next::Close);
    let mut out = Vec::new();
    let mut input = b"garbage\r\n\r\n".to_vec();
    assert_eq!(respond(&mut input, &mut out), Next::Close);
    assert!(out.starts_with(b"HTTP/1.1 400"));
    let mut out = Vec::new();
    let mut input = vec![b'a'; 9000];
    assert_eq!(
        respond(&mut input, &mut out),
        Next::Close,
        "an endless head is refused"
    );
}
