//! Splitting a `TcpStream`: borrowed halves (`split`) for two futures of
//! one task, owned halves (`into_split`) for two tasks, `reunite`, and the
//! owned write half shutting down the write direction when dropped.

use std::io::ErrorKind;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt, Interest};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{
    assert_bytes_eq, block_on, connected_pair, flavor_tests, pattern, sleep_blocking, Flavor,
};

/// A server that echoes one connection until EOF, then closes its write half.
async fn echo_once() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    runtime::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut rd, mut wr) = TcpStream::split(&mut stream);
        runtime::io::copy(&mut rd, &mut wr).await.unwrap();
        wr.close().await.unwrap();
    });
    addr
}

/// The borrowed halves of one stream read and write concurrently (in one
/// task, through `join`), moving 1 MiB each way.
fn borrowed_halves_read_and_write_concurrently(flavor: Flavor) {
    block_on(flavor, async {
        let addr = echo_once().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let data = pattern(1 << 20, 10);
        let (mut rd, mut wr) = TcpStream::split(&mut client);
        assert_eq!(rd.peer_addr().unwrap(), addr);
        assert_eq!(wr.local_addr().unwrap(), rd.local_addr().unwrap());
        let write = async {
            wr.write_all(&data).await.unwrap();
            wr.close().await.unwrap();
        };
        let read = async {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = futures_util::future::join(write, read).await;
        assert_bytes_eq(&got, &data, "echo through borrowed halves");
    });
}

/// Owned halves move to two tasks; both finish; `reunite` gives the stream
/// back.
fn owned_halves_in_two_tasks_then_reunite(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let (mut rd, mut wr) = client.into_split();
        let data = pattern(512 * 1024, 11);
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            wr.write_all(&sent).await.unwrap();
            wr
        });
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 5];
            rd.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"reply");
            rd
        });
        let mut got = vec![0u8; data.len()];
        server.read_exact(&mut got).await.unwrap();
        assert_bytes_eq(&got, &data, "owned write half");
        server.write_all(b"reply").await.unwrap();
        let (wr, rd) = (writer.await.unwrap(), reader.await.unwrap());
        let mut client = rd.reunite(wr).expect("halves of one stream reunite");
        // The reunited stream still works both ways, and its write half was
        // not shut down by the reunion.
        client.write_all(b"whole again").await.unwrap();
        let mut buf = [0u8; 11];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"whole again");
    });
}

/// Halves of different streams do not reunite; the error hands both back,
/// and they still work.
fn reunite_of_mismatched_halves_fails_and_returns_both(flavor: Flavor) {
    block_on(flavor, async {
        let (a, mut a_peer) = connected_pair().await.unwrap();
        let (b, _b_peer) = connected_pair().await.unwrap();
        let (a_rd, _a_wr) = a.into_split();
        let (_b_rd, b_wr) = b.into_split();
        let err = a_rd.reunite(b_wr).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let runtime::net::tcp::ReuniteError(mut a_rd, _b_wr) = err;
        a_peer.write_all(b"ok").await.unwrap();
        let mut buf = [0u8; 2];
        a_rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    });
}

/// Dropping the owned write half shuts down the write direction: the peer
/// reads EOF, while the read half keeps receiving.
fn dropping_the_owned_write_half_sends_eof_and_reading_goes_on(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let (mut rd, wr) = client.into_split();
        drop(wr);
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty(), "EOF after the write half was dropped");
        server.write_all(b"still reading").await.unwrap();
        let mut buf = [0u8; 13];
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still reading");
    });
}

/// `forget` drops the write half without the shutdown.
fn forgetting_the_owned_write_half_keeps_the_write_direction_open(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        let (rd, wr) = client.into_split();
        wr.forget();
        sleep_blocking(Duration::from_millis(20)).await; // a FIN would be here by now
                                                         // Ask the kernel directly: a peek on the non-blocking socket is
                                                         // `Ok(0)` at EOF and `WouldBlock` while the connection is open.
        let server = server.into_std().unwrap();
        let err = server.peek(&mut [0u8; 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "no EOF: {err}");
        drop(rd);
    });
}

/// The halves' readiness and `try_*` methods.
fn halves_wait_for_readiness_and_try_io(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let (mut rd, wr) = client.into_split();
        assert!(wr.ready(Interest::WRITABLE).await.unwrap().is_writable());
        wr.writable().await.unwrap();
        assert_eq!(wr.try_write(b"ping").unwrap(), 4);
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(b"pong").await.unwrap();
        let n = rd.peek(&mut buf).await.unwrap();
        assert!(n > 0);
        rd.readable().await.unwrap();
        let mut got = [0u8; 4];
        let n = rd.try_read(&mut got).unwrap();
        assert_eq!(&got[..n], &b"pong"[..n]);
    });
}

flavor_tests!(
    borrowed_halves_read_and_write_concurrently,
    owned_halves_in_two_tasks_then_reunite,
    reunite_of_mismatched_halves_fails_and_returns_both,
    dropping_the_owned_write_half_sends_eof_and_reading_goes_on,
    forgetting_the_owned_write_half_keeps_the_write_direction_open,
    halves_wait_for_readiness_and_try_io,
);
