//! End of stream and refused connections: after the peer closes, `read`
//! returns 0 every time it is called (it neither errors nor hangs), and a
//! connect to a port where nothing listens fails with `ConnectionRefused`.

use std::io::ErrorKind;
use std::net::Shutdown;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{block_on, closed_port_addr, connected_pair, flavor_tests, Flavor};

/// Reads 5 times and asserts each read returns `Ok(0)`.
async fn assert_eof_repeatedly(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    for attempt in 1..=5 {
        match s.read(&mut buf).await {
            Ok(0) => {}
            Ok(n) => panic!("read #{attempt} after the peer closed returned {n} bytes"),
            Err(e) => panic!("read #{attempt} after the peer closed failed: {e}"),
        }
    }
}

/// The peer drops its socket (FIN) while this side is parked in `read`.
fn read_returns_zero_repeatedly_after_peer_close(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        let reader = runtime::spawn(async move {
            assert_eof_repeatedly(&mut client).await;
        });
        // Give the reader a chance to park before the close arrives.
        runtime::task::yield_now().await;
        drop(server);
        reader.await.unwrap();
    });
}

/// Data sent before the close is delivered first, then EOF, again and again.
fn read_returns_buffered_data_then_zero_repeatedly(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        server.write_all(b"last words").await.unwrap();
        drop(server);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        assert_eof_repeatedly(&mut client).await;
    });
}

/// A half close: after the peer shuts down its write half, reads return 0
/// repeatedly while this side can still send to the peer.
fn read_returns_zero_repeatedly_after_peer_shutdown_write(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        server.shutdown_std(Shutdown::Write).unwrap();
        assert_eof_repeatedly(&mut client).await;
        client.write_all(b"still open").await.unwrap();
        client.close().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"still open");
        assert_eof_repeatedly(&mut client).await;
    });
}

fn connect_to_closed_port_is_connection_refused(flavor: Flavor) {
    block_on(flavor, async {
        let addr = closed_port_addr();
        match TcpStream::connect(addr).await {
            Ok(s) => panic!("connect to closed port {addr} succeeded: {s:?}"),
            Err(e) => assert_eq!(
                e.kind(),
                ErrorKind::ConnectionRefused,
                "connect to {addr}: {e}"
            ),
        }
    });
}

flavor_tests!(
    read_returns_zero_repeatedly_after_peer_close,
    read_returns_buffered_data_then_zero_repeatedly,
    read_returns_zero_repeatedly_after_peer_shutdown_write,
    connect_to_closed_port_is_connection_refused,
);
