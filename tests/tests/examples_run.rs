//! The server examples, run as users run them, over 127.0.0.1: each test
//! starts the example's own serving function (the example file is compiled
//! in here) on an ephemeral port and talks to it as a client would.

use std::time::Duration;

use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime_tests::{assert_bytes_eq, block_on, echo_server, flavor_tests, pattern, Flavor};

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/udp_echo.rs"]
mod udp_echo;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/proxy.rs"]
mod proxy;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/chat.rs"]
mod chat;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/metrics.rs"]
mod metrics;

/// Datagrams of several sizes from two clients each come back whole, to
/// their own sender.
fn udp_echo_returns_each_datagram_to_its_sender(flavor: Flavor) {
    block_on(flavor, async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let serving = runtime::spawn(async move { udp_echo::serve(&server).await });
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(addr).await.unwrap();
        b.connect(addr).await.unwrap();
        let mut buf = vec![0u8; 70_000];
        for (i, len) in [1usize, 100, 1400, 9000, 65_507].into_iter().enumerate() {
            let (da, db) = (pattern(len, i as u64), pattern(len, 100 + i as u64));
            // Lost datagrams on loopback are possible in principle; a lost
            // one is resent, a wrong one fails.
            for (sock, data) in [(&a, &da), (&b, &db)] {
                let got = loop {
                    sock.send(data).await.unwrap();
                    match runtime::time::timeout(Duration::from_secs(2), sock.recv(&mut buf)).await
                    {
                        Ok(n) => break n.unwrap(),
                        Err(_) => continue,
                    }
                };
                assert_bytes_eq(&buf[..got], data, "an echoed datagram");
            }
        }
        serving.abort();
    });
}

/// 1 MiB each way through the proxy to an echo server, byte-exact, and a
/// half-close travels through to the upstream and back.
fn proxy_carries_bytes_and_half_close(flavor: Flavor) {
    block_on(flavor, async {
        let (upstream, _) = echo_server().await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = runtime::spawn(proxy::serve(listener, upstream.to_string()));
        let data = pattern(1 << 20, 3);
        let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            wr.write_all(&sent).await.unwrap();
            // The half-close: the echo server sees EOF through the proxy
            // and closes, which the proxy passes back.
            wr.close().await.unwrap();
        });
        let mut got = Vec::new();
        rd.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_bytes_eq(&got, &data, "through the proxy and back");
        serving.abort();
    });
}

/// Three chat clients: a line from one reaches the two others, prefixed
/// with its sender, and not the sender itself.
fn chat_relays_lines_to_the_others(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = runtime::spawn(chat::serve(listener));
        let mut clients = Vec::new();
        for _ in 0..3 {
            let stream = TcpStream::connect(addr).await.unwrap();
            let me = stream.local_addr().unwrap();
            let (rd, wr) = stream.into_split();
            let mut rd = BufReader::new(rd);
            let mut welcome = String::new();
            rd.read_line(&mut welcome).await.unwrap();
            // Once welcomed, the client's task is subscribed.
            assert_eq!(welcome, format!("welcome, {me}\n"));
            clients.push((me, rd, wr));
        }
        let sender = clients[0].0;
        clients[0].2.write_all(b"hello, all\n").await.unwrap();
        for (_, rd, _) in &mut clients[1..] {
            let mut line = String::new();
            rd.read_line(&mut line).await.unwrap();
            assert_eq!(line, format!("{sender}: hello, all\n"));
        }
        clients[1].2.write_all(b"second\n").await.unwrap();
        // The sender sees the second client's line, not its own.
        let mut line = String::new();
        clients[0].1.read_line(&mut line).await.unwrap();
        assert_eq!(line, format!("{}: second\n", clients[1].0));
        serving.abort();
    });
}

/// The metrics example's own workload: every message echoed, every poll
/// in the histogram, the blocking task reported once with its name and
/// spawn location, and each section printed.
#[test]
fn metrics_example_reports_its_workload() {
    let _watchdog = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
    let report = metrics::run(4, 20).unwrap();
    assert_eq!(report.echoed, 4 * 20);
    assert!(report.polls >= 4 * 20);
    assert_eq!(report.histogram_polls, report.polls);
    // Other polls may be reported too on a loaded machine (a preempted
    // worker looks stalled); the blocker is reported exactly once.
    let blocker: Vec<_> = report
        .stalls
        .iter()
        .filter(|s| s.contains("\"blocks-its-worker\""))
        .collect();
    assert_eq!(blocker.len(), 1, "{:?}", report.stalls);
    let stall = blocker[0];
    assert!(stall.contains("examples/metrics.rs:"), "{stall}");
    for section in [
        "io_driver_ready_count",
        "reactor_turn_count",
        "timers_pending",
        "poll times (",
        "stall reports",
        "task dump:",
        "\"ticker\"",
    ] {
        assert!(
            report.text.contains(section),
            "{section} missing:\n{}",
            report.text
        );
    }
}

flavor_tests!(
    udp_echo_returns_each_datagram_to_its_sender,
    proxy_carries_bytes_and_half_close,
    chat_relays_lines_to_the_others,
);
