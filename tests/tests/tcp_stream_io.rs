//! What a user sees reading and writing a `TcpStream`: half-close, empty
//! buffers, `peek`, `ready`, vectored I/O across thousands of slices, a large
//! `write_all` to a slow reader, and a write to a peer that never reads.

use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt, Interest};
use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime_tests::{
    assert_bytes_eq, block_on, block_on_with_limit, connected_pair, flavor_tests, pattern,
    sleep_blocking, write_all_vectored, Flavor, PollCounter,
};

/// A connected pair whose buffers are set before the handshake: `(client,
/// server)`, client with `SO_SNDBUF = sndbuf`, server with `SO_RCVBUF =
/// rcvbuf` (inherited from the listener).
async fn pair_with_buffers(sndbuf: u32, rcvbuf: u32) -> (TcpStream, TcpStream) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(rcvbuf).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let client = TcpSocket::new_v4().unwrap();
    client.set_send_buffer_size(sndbuf).unwrap();
    let client = client
        .connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// The peer shuts down its write half: we read everything it sent, then
/// `Ok(0)` on every later read (EOF is sticky, not an error), and our own
/// writes still reach the peer.
fn after_peer_half_close_we_read_all_then_zero_repeatedly_and_can_still_write(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let data = pattern(300 * 1024, 1);
        let expected = data.clone();
        let peer = runtime::spawn(async move {
            server.write_all(&data).await.unwrap();
            server.close().await.unwrap(); // shutdown(Write)
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_bytes_eq(&got, &expected, "data before the half-close");
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            assert_eq!(client.read(&mut buf).await.unwrap(), 0, "EOF again");
        }
        assert_eq!(client.try_read(&mut buf).unwrap(), 0, "try_read sees EOF");
        client.write_all(b"still writable").await.unwrap();
        client.shutdown_std(Shutdown::Write).unwrap();
        assert_eq!(peer.await.unwrap(), b"still writable");
    });
}

/// A read into an empty buffer returns `Ok(0)` at once, with no data there,
/// and does not make the stream look closed: data sent later still arrives.
fn empty_buffer_read_is_ok_zero_and_not_eof(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        assert_eq!(client.read(&mut []).await.unwrap(), 0);
        assert_eq!(client.try_read(&mut []).unwrap(), 0);
        assert_eq!(client.read_vectored(&mut []).await.unwrap(), 0);
        let mut empty: [u8; 0] = [];
        assert_eq!(
            client
                .read_vectored(&mut [IoSliceMut::new(&mut empty)])
                .await
                .unwrap(),
            0
        );
        assert_eq!(client.write(&[]).await.unwrap(), 0);
        server.write_all(b"later").await.unwrap();
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"later");
        // And again after the data was drained.
        assert_eq!(client.read(&mut []).await.unwrap(), 0);
        server.write_all(b"more").await.unwrap();
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"more");
    });
}

/// `peek` waits for data and leaves it queued; the next read returns it.
fn peek_waits_for_data_and_leaves_it_queued(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let writer = runtime::spawn(async move {
            runtime::task::yield_now().await;
            server.write_all(b"hello").await.unwrap();
            server
        });
        let mut buf = [0u8; 16];
        let n = client.peek(&mut buf).await.unwrap();
        assert!(n > 0 && b"hello".starts_with(&buf[..n]));
        let n2 = std::future::poll_fn(|cx| client.poll_peek(cx, &mut buf))
            .await
            .unwrap();
        assert!(n2 >= n, "peeked data is still there");
        let mut got = [0u8; 5];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        assert_eq!(client.peek(&mut []).await.unwrap(), 0);
        drop(writer.await.unwrap());
    });
}

/// `ready` returns what is ready: writable at once on a fresh connection,
/// readable once the peer writes, read-closed once it closes.
fn ready_reports_each_direction(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let ready = client
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert!(ready.is_writable() && !ready.is_readable(), "{ready:?}");
        let client = Arc::new(client);
        let c = client.clone();
        let waiter = runtime::spawn(async move { c.ready(Interest::READABLE).await.unwrap() });
        runtime::task::yield_now().await;
        server.write_all(b"x").await.unwrap();
        assert!(waiter.await.unwrap().is_readable());
        let mut buf = [0u8; 1];
        assert_eq!(client.try_read(&mut buf).unwrap(), 1);
        drop(server);
        loop {
            let ready = client.ready(Interest::READABLE).await.unwrap();
            if ready.is_read_closed() {
                break;
            }
            // Readiness may be spurious; a read drains it.
            let _ = client.try_read(&mut buf);
        }
        assert_eq!(client.try_read(&mut buf).unwrap(), 0);
    });
}

/// `try_write_vectored` and `try_read_vectored` move bytes across slice
/// boundaries in order.
fn try_vectored_io_keeps_slice_order(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        client.writable().await.unwrap();
        let bufs = [
            IoSlice::new(b"one,"),
            IoSlice::new(b""),
            IoSlice::new(b"two,"),
            IoSlice::new(b"three"),
        ];
        let n = loop {
            match client.try_write_vectored(&bufs) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => client.writable().await.unwrap(),
                res => break res.unwrap(),
            }
        };
        assert_eq!(n, 13);
        let (mut a, mut b) = ([0u8; 6], [0u8; 32]);
        let n = loop {
            server.readable().await.unwrap();
            let mut bufs = [IoSliceMut::new(&mut a[..]), IoSliceMut::new(&mut b[..])];
            match server.try_read_vectored(&mut bufs) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                res => break res.unwrap(),
            }
        };
        assert_eq!(n, 13, "one 13-byte segment arrives whole on loopback");
        assert_eq!(&a, b"one,tw");
        assert_eq!(&b[..7], b"o,three");
    });
}

/// 2,000 slices (more than `IOV_MAX`, 1,024) in one `write_vectored`: with
/// room in the socket buffer, a single call writes past the first 1,024
/// slices, and every byte arrives in order.
fn vectored_write_of_2000_slices_crosses_iov_max_in_one_call(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = pair_with_buffers(1 << 20, 1 << 20).await;
        let data = pattern(40_000, 2);
        let mut slices = Vec::new();
        let mut off = 0;
        for i in 0..2000 {
            let len = i % 35 + 1;
            slices.push(&data[off..off + len]);
            off += len;
        }
        let expected: Vec<u8> = slices.concat();
        let first_chunk: usize = slices[..1024].iter().map(|s| s.len()).sum();
        let mut io: Vec<IoSlice<'_>> = slices.iter().map(|s| IoSlice::new(s)).collect();
        let n = client.write_vectored(&io).await.unwrap();
        assert!(
            n > first_chunk,
            "one write_vectored wrote {n} bytes; the first 1,024 slices hold {first_chunk}"
        );
        let mut rest = &mut io[..];
        IoSlice::advance_slices(&mut rest, n);
        write_all_vectored(&mut client, rest).await.unwrap();
        let mut got = vec![0u8; expected.len()];
        server.read_exact(&mut got).await.unwrap();
        assert_bytes_eq(&got, &expected, "2,000-slice vectored write");
    });
}

/// 2,000 slices of 1 KiB each against a small receive buffer: many partial
/// vectored writes, each resumed at the right slice and offset.
fn vectored_write_all_of_2000_slices_with_partial_writes_is_byte_exact(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = pair_with_buffers(16 * 1024, 16 * 1024).await;
        let data = pattern(2000 * 1024, 3);
        let expected = data.clone();
        let reader = runtime::spawn(async move {
            let mut got = Vec::with_capacity(expected.len());
            server.read_to_end(&mut got).await.unwrap();
            assert_bytes_eq(&got, &expected, "vectored write_all");
        });
        let mut io: Vec<IoSlice<'_>> = data.chunks(1024).map(IoSlice::new).collect();
        assert_eq!(io.len(), 2000);
        let calls = write_all_vectored(&mut client, &mut io).await.unwrap();
        assert!(calls > 1, "a 2 MB write through 16 KiB buffers is partial");
        client.close().await.unwrap();
        reader.await.unwrap();
    });
}

/// 64 MiB through `write_all` to a reader that takes small bites and
/// pauses: every byte arrives, in order.
fn write_all_64_mib_to_a_slow_reader_is_byte_exact(flavor: Flavor) {
    const LEN: usize = 64 << 20;
    block_on_with_limit(flavor, Duration::from_secs(240), async {
        let (mut client, mut server) = pair_with_buffers(64 * 1024, 64 * 1024).await;
        let data = Arc::new(pattern(LEN, 4));
        let expected = data.clone();
        let reader = runtime::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut off = 0;
            let mut reads = 0u64;
            loop {
                let n = server.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert!(off + n <= LEN, "more bytes than were written");
                if buf[..n] != expected[off..off + n] {
                    assert_bytes_eq(&buf[..n], &expected[off..off + n], "64 MiB chunk");
                }
                off += n;
                reads += 1;
                runtime::task::yield_now().await;
                if reads == 1024 {
                    reads = 0;
                    sleep_blocking(Duration::from_millis(2)).await;
                }
            }
            off
        });
        client.write_all(&data).await.unwrap();
        client.close().await.unwrap();
        assert_eq!(reader.await.unwrap(), LEN);
    });
}

/// The peer never reads: our write fills the buffers and then parks; it is
/// not polled in a loop (no CPU spin) while parked. Cancelling it leaves
/// the stream usable: the peer gets exactly the bytes the writes reported,
/// then what we write afterwards.
fn write_to_peer_that_never_reads_parks_and_cancelling_it_leaves_stream_usable(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = pair_with_buffers(32 * 1024, 32 * 1024).await;
        let mut server = server;
        let client = Arc::new(client);
        let chunk = Arc::new(pattern(64 * 1024, 5));
        let written = Arc::new(AtomicUsize::new(0));
        let (writer, polls) = PollCounter::new({
            let (client, chunk, written) = (client.clone(), chunk.clone(), written.clone());
            async move {
                loop {
                    let off = written.load(Ordering::SeqCst) % chunk.len();
                    let n = (&*client).write(&chunk[off..]).await.unwrap();
                    written.fetch_add(n, Ordering::SeqCst);
                }
            }
        });
        let handle = runtime::spawn(writer);
        // Wait until the writes stop making progress: the buffers are full.
        let mut last = usize::MAX;
        loop {
            sleep_blocking(Duration::from_millis(50)).await;
            let now = written.load(Ordering::SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        assert!(last > 0);
        let before = polls.load(Ordering::SeqCst);
        sleep_blocking(Duration::from_millis(300)).await;
        let parked_polls = polls.load(Ordering::SeqCst) - before;
        // A stray wake-up (an ACK freeing a little room) is fine; a spinning
        // write would be polled thousands of times.
        assert!(
            parked_polls <= 10,
            "a parked write was polled {parked_polls} times in 300 ms: it spins"
        );

        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        let total = written.load(Ordering::SeqCst);
        // The buffers are full: the peer starts reading now.
        let reader = runtime::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            got
        });
        (&*client)
            .write_all(b"after the cancelled write")
            .await
            .unwrap();
        client.shutdown_std(Shutdown::Write).unwrap();
        let got = reader.await.unwrap();
        let expected: Vec<u8> = chunk
            .iter()
            .copied()
            .cycle()
            .take(total)
            .chain(b"after the cancelled write".iter().copied())
            .collect();
        assert_bytes_eq(&got, &expected, "bytes after a cancelled write");
    });
}

/// One task reads and another writes the same stream through `&TcpStream`.
fn shared_reference_reads_and_writes_concurrently(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = (&stream, &stream);
            runtime::io::copy(&mut r, &mut w).await.unwrap();
        });
        let client = Arc::new(TcpStream::connect(addr).await.unwrap());
        let data = pattern(1 << 20, 6);
        let expected = data.clone();
        let c = client.clone();
        let reader = runtime::spawn(async move {
            let mut got = vec![0u8; expected.len()];
            (&*c).read_exact(&mut got).await.unwrap();
            assert_bytes_eq(&got, &expected, "echoed through &TcpStream");
        });
        (&*client).write_all(&data).await.unwrap();
        reader.await.unwrap();
        client.shutdown_std(Shutdown::Write).unwrap();
        echo.await.unwrap();
    });
}

flavor_tests!(
    after_peer_half_close_we_read_all_then_zero_repeatedly_and_can_still_write,
    empty_buffer_read_is_ok_zero_and_not_eof,
    peek_waits_for_data_and_leaves_it_queued,
    ready_reports_each_direction,
    try_vectored_io_keeps_slice_order,
    vectored_write_of_2000_slices_crosses_iov_max_in_one_call,
    vectored_write_all_of_2000_slices_with_partial_writes_is_byte_exact,
    write_all_64_mib_to_a_slow_reader_is_byte_exact,
    write_to_peer_that_never_reads_parks_and_cancelling_it_leaves_stream_usable,
    shared_reference_reads_and_writes_concurrently,
);
