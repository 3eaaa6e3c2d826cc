//! The `graceful_shutdown` example, driven by a real `SIGINT`: the server
//! runs in a child process (this test binary again, running the example's
//! `serve`), requests are in flight when the signal comes, and:
//!
//! - the requests in flight are answered in full, then their connections
//!   close; an idle connection closes at once;
//! - the listener is closed (a new connection is refused);
//! - a request that would outlast the deadline is cancelled at it;
//! - the process exits with status 0 and reports what it did.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{block_on, Flavor, HANG_LIMIT};

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/graceful_shutdown.rs"]
mod example;

const CHILD_ENV: &str = "RUNTIME_GRACEFUL_SHUTDOWN_CHILD";

/// The deadline the child is given: far longer than the short requests
/// take, far shorter than the long one.
const DEADLINE: Duration = Duration::from_secs(5);

#[test]
fn graceful_shutdown_on_sigint() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    let exe = std::env::current_exe().unwrap();
    let mut server = KillOnDrop(
        Command::new(exe)
            .args([
                "--exact",
                "graceful_shutdown_on_sigint",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the server process"),
    );
    let server = &mut server.0;
    let (lines_tx, lines) = mpsc::channel::<String>();
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
            let line = lines
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
        let mut short_a = TcpStream::connect(&addr).await.unwrap();
        let mut short_b = TcpStream::connect(&addr).await.unwrap();
        let mut long = TcpStream::connect(&addr).await.unwrap();
        let mut idle = TcpStream::connect(&addr).await.unwrap();
        short_a.write_all(b"200 first\n").await.unwrap();
        short_b.write_all(b"300 second\n").await.unwrap();
        long.write_all(b"600000 never\n").await.unwrap();
        for _ in 0..3 {
            wait_for("request started");
        }
        // SAFETY: `kill` of the child this test started.
        let rc = unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
        wait_for("shutting down");
        assert!(
            TcpStream::connect(&addr).await.is_err(),
            "the listener is closed once shutdown starts"
        );
        let mut got = Vec::new();
        idle.read_to_end(&mut got).await.unwrap();
        assert!(
            got.is_empty(),
            "an idle connection is closed, with nothing sent"
        );
        for (stream, answer) in [(&mut short_a, "first\n"), (&mut short_b, "second\n")] {
            let mut got = String::new();
            stream.read_to_string(&mut got).await.unwrap();
            assert_eq!(got, answer, "a request in flight is answered in full");
        }
        let mut got = Vec::new();
        long.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty(), "the request past the deadline is cancelled");
    });
    wait_for("deadline passed");
    let report = wait_for("report ");
    assert_eq!(report, "report answered=2 cancelled=1");
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
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        println!("port {}", listener.local_addr().unwrap().port());
        example::serve(listener, DEADLINE).await.unwrap()
    });
    println!(
        "report answered={} cancelled={}",
        report.answered, report.cancelled
    );
}
