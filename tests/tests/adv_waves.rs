//! 10,000 connections, opened and closed in waves of 500 concurrent ones
//! against one echo server on the same runtime: every echo completes byte
//! for byte, and afterwards the process's open fds and the reactor's
//! registrations are back where they started (nothing leaks per
//! connection, on either the client or the server side).
//!
//! The waves keep at most ~1,000 fds open at once (500 clients and their
//! server sides), far below the 20,000 open-files limit. The test reads
//! process-wide counts, so it holds [`serial`], and this file is its own test
//! binary.

use std::sync::atomic::Ordering;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{
    block_on_with_limit, echo_server, flavor_tests, open_fd_count, pattern, registration_count,
    serial, settle, settle_async, Flavor,
};

const CONNECTIONS: usize = 10_000;
const WAVE: usize = 500;

/// One client: connect, echo a message whose length and content depend on
/// `id`, close the write half, read EOF.
async fn one_echo(addr: std::net::SocketAddr, id: usize) {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connection {id}: connect failed: {e}"));
    let msg = pattern(1 + id % 2000, id as u64);
    s.write_all(&msg).await.unwrap();
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back)
        .await
        .unwrap_or_else(|e| panic!("connection {id}: echo failed: {e}"));
    assert!(back == msg, "connection {id}: the echo differs");
    s.close().await.unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "connection {id}: bytes after the echo");
}

fn ten_thousand_connections_in_waves_all_echo_and_leave_no_fd_or_registration(flavor: Flavor) {
    let _serial = serial();
    // Starts the process-wide reactor (and its fds) before counting.
    let regs_before = registration_count();
    let fds_before = open_fd_count();
    block_on_with_limit(flavor, Duration::from_secs(300), async move {
        let (addr, stats) = echo_server().await.unwrap();
        let fds_base = open_fd_count();
        let regs_base = registration_count();
        for wave in 0..CONNECTIONS / WAVE {
            let clients: Vec<_> = (0..WAVE)
                .map(|i| runtime::spawn(one_echo(addr, wave * WAVE + i)))
                .collect();
            for c in clients {
                c.await.unwrap();
            }
            // Each server task closes its side after the client's EOF; by
            // the end of the wave (or shortly after) all are gone.
            let regs = settle_async(regs_base, Duration::from_secs(20), registration_count).await;
            assert_eq!(
                regs, regs_base,
                "wave {wave}: registrations not back to the baseline after its connections \
                 closed"
            );
        }
        assert_eq!(stats.accepted.load(Ordering::SeqCst), CONNECTIONS);
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0);
        let fds = settle_async(fds_base, Duration::from_secs(20), open_fd_count).await;
        assert_eq!(fds, fds_base, "fds leaked by 10,000 connections");
    });
    // The runtime (with the listener) is gone: back to before it existed.
    let regs = settle(regs_before, Duration::from_secs(20), registration_count);
    assert_eq!(regs, regs_before, "registrations left after the runtime");
    let fds = settle(fds_before, Duration::from_secs(20), open_fd_count);
    assert_eq!(fds, fds_before, "fds left open after the runtime");
}

flavor_tests!(ten_thousand_connections_in_waves_all_echo_and_leave_no_fd_or_registration);
