//! Readiness without an operation: `readable`/`try_read` and
//! `writable`/`try_write`. `try_*` never waits: it returns `WouldBlock`
//! when the kernel has nothing (or no room), and the data (or the write)
//! once `readable`/`writable` said so.

use std::io::ErrorKind;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{block_on, connected_pair, flavor_tests, pattern, Flavor};

/// `try_read` after `readable()` until it returns something other than
/// `WouldBlock` (readiness may be spurious); at most 1,000 tries.
async fn read_when_ready(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    for _ in 0..1000 {
        s.readable().await.unwrap();
        match s.try_read(buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            res => return res,
        }
    }
    panic!("readable() said ready 1,000 times but try_read always returned WouldBlock");
}

fn try_read_would_block_on_empty_socket_then_returns_data_after_peer_writes(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            let err = client.try_read(&mut buf).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::WouldBlock,
                "try_read on an empty socket: {err}"
            );
        }
        server.write_all(b"hello").await.unwrap();
        let n = read_when_ready(&client, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        // Drained again.
        assert_eq!(
            client.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // An empty buffer reads nothing and says nothing.
        assert_eq!(client.try_read(&mut []).unwrap(), 0);
    });
}

/// `readable()` parks until the peer writes, then wakes the waiting task.
fn readable_wakes_a_parked_task_when_data_arrives(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 64];
            let n = read_when_ready(&client, &mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        runtime::task::yield_now().await;
        server.write_all(b"wake up").await.unwrap();
        assert_eq!(reader.await.unwrap(), b"wake up");
    });
}

/// After the peer closes, `readable()` returns and `try_read` gives 0.
fn readable_returns_on_peer_close_and_try_read_gives_zero(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        drop(server);
        let mut buf = [0u8; 64];
        assert_eq!(read_when_ready(&client, &mut buf).await.unwrap(), 0);
        assert_eq!(read_when_ready(&client, &mut buf).await.unwrap(), 0);
    });
}

/// `try_write` writes until the send path is full, then `WouldBlock`;
/// once the peer drains, `writable()` returns and `try_write` works again.
/// Every byte that `try_write` reported as written reaches the peer, in
/// order.
fn try_write_until_would_block_then_writable_after_peer_reads(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let data = pattern(64 * 1024 * 1024, 99);
        client.writable().await.unwrap();
        let mut sent = 0;
        let would_block = loop {
            match client.try_write(&data[sent..]) {
                Ok(n) => {
                    assert!(n > 0);
                    sent += n;
                    assert!(
                        sent < data.len(),
                        "64 MiB fit in the socket buffers: no WouldBlock to test"
                    );
                }
                Err(e) => break e,
            }
        };
        assert_eq!(would_block.kind(), ErrorKind::WouldBlock, "{would_block}");
        assert!(sent > 0, "a fresh socket accepted no data");

        // The peer reads what was sent; meanwhile wait for room again.
        let first = sent;
        let peer = runtime::spawn(async move {
            let mut got = vec![0u8; first];
            server.read_exact(&mut got).await.unwrap();
            (server, got)
        });
        client.writable().await.unwrap();
        let more = loop {
            match client.try_write(&data[sent..sent + 1000]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => client.writable().await.unwrap(),
                Err(e) => panic!("try_write after writable: {e}"),
            }
        };
        assert!(more > 0);
        sent += more;
        let (mut server, got) = peer.await.unwrap();
        runtime_tests::assert_bytes_eq(&got, &data[..first], "bytes written by try_write");
        let mut rest = vec![0u8; more];
        server.read_exact(&mut rest).await.unwrap();
        runtime_tests::assert_bytes_eq(&rest, &data[first..sent], "bytes written after writable");
        // An empty buffer writes nothing.
        assert_eq!(client.try_write(&[]).unwrap(), 0);
    });
}

flavor_tests!(
    try_read_would_block_on_empty_socket_then_returns_data_after_peer_writes,
    readable_wakes_a_parked_task_when_data_arrives,
    readable_returns_on_peer_close_and_try_read_gives_zero,
    try_write_until_would_block_then_writable_after_peer_reads,
);
