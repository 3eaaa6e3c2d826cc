//! One reactor per process: runtimes are executors, and the reactor outlives
//! them, so dropping a `Runtime` does not fail the I/O of sockets that
//! another executor still polls (tokio's I/O driver dies with its runtime).

use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{Flavor, Watchdog};

/// A connection made under one runtime keeps working under another after
/// the first is dropped, in both directions, with a reader parked across
/// the drop.
#[test]
fn dropping_a_runtime_does_not_fail_sockets_another_executor_polls() {
    let _watchdog = Watchdog::start(Duration::from_secs(60));
    for (first, second) in [
        (Flavor::MultiThread, Flavor::CurrentThread),
        (Flavor::CurrentThread, Flavor::MultiThread),
    ] {
        let rt = first.build();
        let (client, server) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            (client, server)
        });
        let other = second.build();
        // A read parked under the other runtime across the drop.
        let mut server = server;
        let reader = other.spawn(async move {
            let mut buf = [0u8; 5];
            server.read_exact(&mut buf).await.unwrap();
            server.write_all(b"world").await.unwrap();
            buf
        });
        drop(rt);
        let mut client = client;
        let reply = other.block_on(async {
            client.write_all(b"hello").await.unwrap();
            let mut reply = [0u8; 5];
            client.read_exact(&mut reply).await.unwrap();
            reply
        });
        assert_eq!(&reply, b"world");
        assert_eq!(&other.block_on(reader).unwrap(), b"hello");
    }
}
