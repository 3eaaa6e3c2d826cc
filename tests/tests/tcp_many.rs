//! Many connections at once: 100 concurrent connections each echo 1,000
//! messages through one server, and every echo is checked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{
    assert_bytes_eq, block_on, echo_server, flavor_tests, pattern, yield_until, Flavor,
};

const CONNECTIONS: usize = 100;
const MESSAGES: usize = 1_000;

/// Message `i` of connection `conn`: 1 to 256 bytes, pseudo-random, distinct
/// per connection and per message (a crossed or stale echo cannot match).
fn message(conn: usize, i: usize) -> Vec<u8> {
    let seed = (conn * MESSAGES + i) as u64 + 1;
    let len = 1 + (seed.wrapping_mul(2_654_435_761) % 256) as usize;
    pattern(len, seed)
}

fn hundred_connections_each_echo_1000_messages(flavor: Flavor) {
    block_on(flavor, async {
        let (addr, stats) = echo_server().await.unwrap();
        let connected = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|conn| {
                let connected = connected.clone();
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    // Every connection is open before any message is sent.
                    connected.fetch_add(1, Ordering::SeqCst);
                    yield_until(|| connected.load(Ordering::SeqCst) == CONNECTIONS).await;
                    let mut sent = 0;
                    let mut buf = vec![0u8; 256];
                    for i in 0..MESSAGES {
                        let msg = message(conn, i);
                        s.write_all(&msg).await.unwrap();
                        let echo = &mut buf[..msg.len()];
                        s.read_exact(echo).await.unwrap();
                        assert_bytes_eq(echo, &msg, &format!("connection {conn}, message {i}"));
                        sent += msg.len();
                    }
                    s.close().await.unwrap();
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).await.unwrap();
                    assert!(
                        rest.is_empty(),
                        "connection {conn}: {} unexpected bytes after the last echo",
                        rest.len()
                    );
                    sent
                })
            })
            .collect();
        let mut total = 0;
        for (conn, client) in clients.into_iter().enumerate() {
            total += client
                .await
                .unwrap_or_else(|e| panic!("client {conn} failed: {e}"));
        }
        assert_eq!(stats.accepted.load(Ordering::SeqCst), CONNECTIONS);
        assert_eq!(stats.bytes.load(Ordering::SeqCst), total);
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0);
    });
}

flavor_tests!(hundred_connections_each_echo_1000_messages);
