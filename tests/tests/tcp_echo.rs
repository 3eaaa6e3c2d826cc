//! Bulk data through one TCP stream over loopback arrives byte-exact: 1 MiB
//! and 64 MiB round trips with the writer and the reader running at once,
//! and a round trip where the server reads everything before it answers (so
//! its writes fill the socket buffers, return partial counts and
//! `EAGAIN`).

use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{
    assert_bytes_eq, block_on, block_on_with_limit, echo_server, flavor_tests, pattern,
    set_socket_option, yield_until, Flavor, HANG_LIMIT,
};

const MIB: usize = 1024 * 1024;

/// Sends `len` pseudo-random bytes through an echo server: one task writes
/// them all (then shuts down its write half) while another reads the echo and
/// compares it chunk by chunk, as it arrives, with what was sent.
async fn concurrent_round_trip(len: usize, seed: u64) {
    let (addr, stats) = echo_server().await.unwrap();
    let stream = Arc::new(TcpStream::connect(addr).await.unwrap());
    let data = Arc::new(pattern(len, seed));

    let writer = {
        let (stream, data) = (stream.clone(), data.clone());
        runtime::spawn(async move {
            let mut w = &*stream;
            w.write_all(&data).await.unwrap();
            stream.shutdown_std(Shutdown::Write).unwrap();
        })
    };
    let reader = {
        let (stream, data) = (stream.clone(), data.clone());
        runtime::spawn(async move {
            let mut r = &*stream;
            let mut buf = vec![0u8; 256 * 1024];
            let mut at = 0;
            loop {
                let n = r.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert!(
                    at + n <= data.len(),
                    "echo returned more than was sent: {} bytes",
                    at + n
                );
                assert_bytes_eq(
                    &buf[..n],
                    &data[at..at + n],
                    &format!("echo at offset {at}"),
                );
                at += n;
            }
            at
        })
    };
    writer.await.unwrap();
    let received = reader.await.unwrap();
    assert_eq!(
        received, len,
        "the echo ended early (EOF after {received} of {len} bytes)"
    );
    assert_eq!(stats.bytes.load(Ordering::SeqCst), len);
    assert_eq!(stats.errors.load(Ordering::SeqCst), 0);
}

fn round_trip_1mib_byte_exact_with_concurrent_writer_and_reader(flavor: Flavor) {
    block_on(flavor, concurrent_round_trip(MIB, 1));
}

fn round_trip_64mib_byte_exact_with_concurrent_writer_and_reader(flavor: Flavor) {
    // 64 MiB through a debug build: give the hang guard more room.
    block_on_with_limit(flavor, HANG_LIMIT * 4, concurrent_round_trip(64 * MIB, 64));
}

/// The server reads the whole request before it writes anything back. With
/// small socket buffers on both sides the answer cannot fit: the server's
/// first non-blocking writes must end in `WouldBlock` (checked with
/// `try_write`, while the client is not reading yet), after which
/// `write_all` finishes the job through partial writes as the client reads.
fn server_reads_everything_before_writing_back(flavor: Flavor) {
    block_on(flavor, async {
        const LEN: usize = 8 * MIB;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_blocked = Arc::new(AtomicBool::new(false));
        let blocked = server_blocked.clone();
        let server = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            set_socket_option(&s, libc::SO_SNDBUF, 64 * 1024).unwrap();
            let mut request = Vec::new();
            s.read_to_end(&mut request).await.unwrap();
            assert_eq!(request.len(), LEN, "server got a short request");
            // Fill the socket buffers until the kernel says EAGAIN.
            let mut sent = 0;
            loop {
                s.writable().await.unwrap();
                match s.try_write(&request[sent..]) {
                    Ok(n) => {
                        assert!(n > 0, "try_write returned 0 for a non-empty buffer");
                        sent += n;
                        assert!(
                            sent < LEN,
                            "the kernel took all {LEN} bytes without EAGAIN; the test premise \
                             (data larger than the socket buffers) does not hold"
                        );
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("try_write: {e}"),
                }
            }
            blocked.store(true, Ordering::SeqCst);
            s.write_all(&request[sent..]).await.unwrap();
            s.close().await.unwrap();
            sent
        });

        let mut c = TcpStream::connect(addr).await.unwrap();
        set_socket_option(&c, libc::SO_RCVBUF, 64 * 1024).unwrap();
        let data = pattern(LEN, 7);
        c.write_all(&data).await.unwrap();
        c.shutdown_std(Shutdown::Write).unwrap();
        // Start reading only once the server's writes hit a full buffer.
        yield_until(|| server_blocked.load(Ordering::SeqCst)).await;
        let mut echo = Vec::new();
        c.read_to_end(&mut echo).await.unwrap();
        let sent_before_eagain = server.await.unwrap();
        assert!(sent_before_eagain < LEN);
        assert_bytes_eq(&echo, &data, "answer after a full read");
    });
}

/// `TcpListener::from_std` and `TcpStream::from_std` wrap standard-library
/// sockets (switching them to non-blocking) and carry data both ways.
fn from_std_sockets_echo(flavor: Flavor) {
    block_on(flavor, async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let server = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let std_stream = std::net::TcpStream::connect(addr).unwrap();
        let mut c = TcpStream::from_std(std_stream).unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        server.await.unwrap();
    });
}

/// The addresses of both ends agree, and `set_nodelay` is read back.
fn addresses_and_nodelay(flavor: Flavor) {
    block_on(flavor, async {
        let (c, s) = runtime_tests::connected_pair().await.unwrap();
        assert_eq!(c.peer_addr().unwrap(), s.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        c.set_nodelay(false).unwrap();
        assert!(!c.nodelay().unwrap());
        assert!(c.take_error().unwrap().is_none());
    });
}

flavor_tests!(
    round_trip_1mib_byte_exact_with_concurrent_writer_and_reader,
    round_trip_64mib_byte_exact_with_concurrent_writer_and_reader,
    server_reads_everything_before_writing_back,
    from_std_sockets_echo,
    addresses_and_nodelay,
);

#[test]
fn pattern_is_deterministic_and_seed_dependent() {
    assert_eq!(pattern(1000, 3), pattern(1000, 3));
    assert_ne!(pattern(1000, 3), pattern(1000, 4));
    assert_eq!(pattern(13, 3)[..], pattern(1000, 3)[..13]);
}
