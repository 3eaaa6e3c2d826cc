//! tokio's methods over the `bytes` crate's buffers (feature `bytes`), over
//! real TCP, UDP and Unix sockets: `read_buf` into a growing `BytesMut`
//! (1 MiB byte-exact), into a full buffer, at end of file and dropped by a
//! timeout; `write_buf` advancing by its count and `write_all_buf` of a
//! `Chain` (in one vectored write); `try_read_buf` on the streams and a read
//! half; `recv_buf`, `try_recv_buf`, `recv_buf_from` and
//! `try_recv_buf_from` on UDP and Unix datagram sockets, with the sender's
//! address and truncation to the spare capacity; and readers and writers
//! that report more bytes than they were given, which are errors.
#![cfg(feature = "bytes")]

use std::future::Future;
use std::io::{self, ErrorKind, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use runtime::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use runtime::net::{UdpSocket, UnixDatagram, UnixStream};
use runtime::time::timeout;
use runtime_tests::{
    assert_bytes_eq, block_on, connected_pair, flavor_tests, pattern, set_socket_option, Flavor,
    TempDir,
};

/// Long enough for a read that wrongly waits to show as a timeout; short
/// enough that a read meant to be cancelled by it costs little.
const SHORT: Duration = Duration::from_millis(100);
/// A read that must complete: far above any healthy wait.
const LONG: Duration = Duration::from_secs(10);

/// 1 MiB written in one go and read back through `read_buf` into a
/// `BytesMut` that starts empty and grows as it fills (`chunk_mut` makes
/// room), until end of file: every byte in order, and more than one read.
fn read_buf_carries_a_mebibyte_byte_exact_into_a_growing_bytesmut(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let data = pattern(1 << 20, 1);
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
        });
        let mut buf = BytesMut::new();
        let mut reads = 0;
        loop {
            let before = buf.len();
            let n = server.read_buf(&mut buf).await.unwrap();
            assert_eq!(buf.len(), before + n, "advanced by the count returned");
            if n == 0 {
                break;
            }
            reads += 1;
        }
        writer.await.unwrap();
        assert_bytes_eq(&buf, &data, "read_buf into a growing BytesMut");
        assert!(reads > 1, "1 MiB came in {reads} read(s)");
        assert!(buf.capacity() >= data.len());
    });
}

/// A buffer with no room left (`remaining_mut() == 0`) reads nothing and
/// returns 0 at once, even with nothing queued; the data sent afterwards
/// is all there for the next read.
fn read_buf_into_a_full_buffer_returns_0_without_reading(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        // Nothing queued: it must not wait.
        let mut empty: &mut [u8] = &mut [];
        let n = timeout(SHORT, server.read_buf(&mut empty)).await;
        assert_eq!(n.expect("waited with a full buffer").unwrap(), 0);

        client.write_all(b"abc").await.unwrap();
        server.readable().await.unwrap();
        // Data queued, buffer full (a `Limit` at 0 over a `BytesMut` with
        // room): 0, and the data stays queued.
        let mut inner = BytesMut::with_capacity(16);
        let mut full = (&mut inner).limit(0);
        assert_eq!(server.read_buf(&mut full).await.unwrap(), 0);
        assert!(inner.is_empty());
        let mut storage = [0u8; 8];
        let mut slice: &mut [u8] = &mut storage[..];
        let n = server.read_buf(&mut slice).await.unwrap();
        assert_eq!(slice.len(), 8 - n, "the slice advanced past what was read");
        assert_eq!(&storage[..n], b"abc");
    });
}

/// At end of file `read_buf` returns 0 and leaves the buffer as it was.
fn read_buf_at_eof_returns_0(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        client.write_all(b"xy").await.unwrap();
        drop(client);
        let mut buf = BytesMut::with_capacity(64);
        let mut got = 0;
        loop {
            let n = timeout(LONG, server.read_buf(&mut buf))
                .await
                .unwrap()
                .unwrap();
            if n == 0 {
                break;
            }
            got += n;
        }
        assert_eq!((got, &buf[..]), (2, &b"xy"[..]));
        assert_eq!(server.read_buf(&mut buf).await.unwrap(), 0, "EOF again");
        assert_eq!(&buf[..], b"xy");
    });
}

/// A `read_buf` dropped by a timeout before any data arrives has read
/// nothing and left the buffer's contents as they were; what comes later
/// is read whole, after them.
fn read_buf_dropped_by_a_timeout_loses_nothing(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let mut buf = BytesMut::with_capacity(64);
        buf.put_slice(b"pre:");
        for _ in 0..3 {
            let res = timeout(SHORT, server.read_buf(&mut buf)).await;
            assert!(
                res.is_err(),
                "read_buf completed with nothing sent: {res:?}"
            );
            assert_eq!(&buf[..], b"pre:");
        }
        client.write_all(b"late").await.unwrap();
        drop(client);
        while timeout(LONG, server.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap()
            != 0
        {}
        assert_eq!(&buf[..], b"pre:late");
    });
}

/// Counts the writes a writer is asked for, and the slices of each
/// vectored one.
struct Counting<W> {
    inner: W,
    writes: usize,
    vectored: Vec<usize>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes += 1;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.vectored.push(bufs.len());
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// `write_all_buf` of a small `Chain` of two buffers is one vectored write
/// of both chunks (one `sendmsg` on the socket), and a large one (4 MiB,
/// more than the socket takes at once) arrives intact, with the buffer
/// used up.
fn write_all_buf_of_a_chain_arrives_intact_in_one_vectored_write(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let mut w = Counting {
            inner: client,
            writes: 0,
            vectored: Vec::new(),
        };
        let mut small = Bytes::from_static(b"header:").chain(Bytes::from_static(b"body"));
        w.write_all_buf(&mut small).await.unwrap();
        assert!(!small.has_remaining());
        assert_eq!(
            (w.writes, &w.vectored[..]),
            (0, &[2][..]),
            "one vectored write of both chunks"
        );
        let mut got = [0u8; 11];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"header:body");

        let (head, body) = (pattern(100_000, 2), pattern(4 << 20, 3));
        let mut big = Bytes::from(head.clone()).chain(Bytes::from(body.clone()));
        let reader = runtime::spawn(async move {
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            all
        });
        w.write_all_buf(&mut big).await.unwrap();
        assert!(!big.has_remaining());
        w.inner.shutdown().await.unwrap();
        drop(w);
        let all = reader.await.unwrap();
        assert_bytes_eq(&all, &[head, body].concat(), "write_all_buf of a Chain");
    });
}

/// `write_buf` writes once, from the first chunk only, and advances the
/// buffer by exactly the count it returns: looping on it with a reader
/// alongside delivers 4 MiB byte-exact, through writes a small send
/// buffer cuts short. Nothing left: `Ok(0)`.
fn write_buf_advances_the_buffer_by_the_count_it_returns(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        set_socket_option(&client, libc::SO_SNDBUF, 16 << 10).unwrap();
        let (head, body) = (pattern(10, 4), pattern(4 << 20, 5));
        let expected = [head.clone(), body.clone()].concat();
        let reader = runtime::spawn(async move {
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            all
        });
        let mut src = Bytes::from(head).chain(Bytes::from(body));
        let first = src.remaining();
        let n = client.write_buf(&mut src).await.unwrap();
        assert!(
            (1..=10).contains(&n),
            "one write from the 10-byte first chunk: {n}"
        );
        assert_eq!(src.remaining(), first - n);
        let mut writes = 1;
        while src.has_remaining() {
            let before = src.remaining();
            let n = client.write_buf(&mut src).await.unwrap();
            assert!(n > 0);
            assert_eq!(
                src.remaining(),
                before - n,
                "advanced by the count returned"
            );
            writes += 1;
        }
        assert!(writes > 2, "4 MiB went out in {writes} writes");
        assert_eq!(client.write_buf(&mut src).await.unwrap(), 0);
        client.shutdown().await.unwrap();
        let all = reader.await.unwrap();
        assert_bytes_eq(&all, &expected, "write_buf in a loop");
    });
}

/// `try_read_buf` with nothing queued is `WouldBlock` and leaves the
/// buffer alone; after `readable()` it gets the data, straight into the
/// uninitialised capacity (256 KiB, byte-exact), on TCP, on a TCP read
/// half and on a Unix stream.
fn try_read_buf_would_blocks_then_reads_after_readable(flavor: Flavor) {
    block_on(flavor, async {
        let data = pattern(256 << 10, 6);

        let (mut client, server) = connected_pair().await.unwrap();
        let mut buf = BytesMut::with_capacity(4096);
        let err = server.try_read_buf(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(buf.is_empty());
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client
        });
        while buf.len() < data.len() {
            timeout(LONG, server.readable()).await.unwrap().unwrap();
            match server.try_read_buf(&mut buf) {
                Ok(n) => assert!(n > 0, "end of file before all the data"),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("try_read_buf: {e}"),
            }
        }
        assert_bytes_eq(&buf, &data, "TcpStream::try_read_buf");
        let mut client = writer.await.unwrap();

        // A read half, reading into a `Vec`.
        let (rd, _wr) = server.into_split();
        let mut v: Vec<u8> = Vec::new();
        assert_eq!(
            rd.try_read_buf(&mut v).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        client.write_all(b"half").await.unwrap();
        while v.len() < 4 {
            rd.readable().await.unwrap();
            if let Err(e) = rd.try_read_buf(&mut v) {
                assert_eq!(e.kind(), ErrorKind::WouldBlock);
            }
        }
        assert_eq!(v, b"half");

        let (mut a, b) = UnixStream::pair().unwrap();
        let mut buf = BytesMut::new();
        assert_eq!(
            b.try_read_buf(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let sent = data.clone();
        let writer = runtime::spawn(async move { a.write_all(&sent).await.unwrap() });
        while buf.len() < data.len() {
            timeout(LONG, b.readable()).await.unwrap().unwrap();
            match b.try_read_buf(&mut buf) {
                Ok(n) => assert!(n > 0, "end of file before all the data"),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("try_read_buf: {e}"),
            }
        }
        writer.await.unwrap();
        assert_bytes_eq(&buf, &data, "UnixStream::try_read_buf");
    });
}

/// Receives with `try_recv_buf` (or `try_recv_buf_from`) after waiting
/// for `readable()`, retrying on `WouldBlock`.
async fn try_until<T, F: Future<Output = io::Result<()>>>(
    readable: impl Fn() -> F,
    mut op: impl FnMut() -> io::Result<T>,
) -> T {
    loop {
        timeout(LONG, readable()).await.unwrap().unwrap();
        match op() {
            Ok(v) => return v,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("receive: {e}"),
        }
    }
}

/// UDP: `recv_buf_from` and `try_recv_buf_from` name each datagram's
/// sender and append the datagram after what the buffer holds;
/// `recv_buf`/`try_recv_buf` on a connected socket; a datagram longer
/// than the spare capacity is cut to it and its tail discarded (the next
/// receive gets the next datagram), as `recv` does; a buffer with no room
/// takes a datagram off the queue and returns 0; and nothing queued is
/// `WouldBlock`, with the buffer left alone.
fn udp_recv_buf_family_reports_senders_and_truncates(flavor: Flavor) {
    block_on(flavor, async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = b.local_addr().unwrap();

        let mut buf = BytesMut::with_capacity(64);
        assert_eq!(
            b.try_recv_buf_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(buf.is_empty());

        a.send_to(b"from-a", to).await.unwrap();
        c.send_to(b"from-c", to).await.unwrap();
        let (n, from) = b.recv_buf_from(&mut buf).await.unwrap();
        assert_eq!(
            (n, from, &buf[..]),
            (6, a.local_addr().unwrap(), &b"from-a"[..])
        );
        let (n, from) = try_until(|| b.readable(), || b.try_recv_buf_from(&mut buf)).await;
        assert_eq!(n, 6);
        assert_eq!(from, c.local_addr().unwrap());
        assert_eq!(&buf[..], b"from-afrom-c");

        // Connected: `recv_buf` and `try_recv_buf`, and truncation.
        b.connect(a.local_addr().unwrap()).await.unwrap();
        let long = pattern(100, 7);
        a.send_to(&long, to).await.unwrap();
        a.send_to(b"next", to).await.unwrap();
        let mut small = BytesMut::with_capacity(8);
        let room = small.capacity();
        assert!(room < long.len());
        let n = b.recv_buf(&mut small).await.unwrap();
        assert_eq!(n, room, "cut to the spare capacity");
        assert_eq!(&small[..], &long[..room]);
        let mut v = Vec::with_capacity(64);
        let n = try_until(|| b.readable(), || b.try_recv_buf(&mut v)).await;
        assert_eq!(
            (n, &v[..]),
            (4, &b"next"[..]),
            "the long datagram's tail was discarded"
        );

        // A slice with no room: the datagram is taken and dropped.
        a.send_to(b"gone", to).await.unwrap();
        a.send_to(b"kept", to).await.unwrap();
        let mut none: &mut [u8] = &mut [];
        assert_eq!(b.recv_buf(&mut none).await.unwrap(), 0);
        let mut buf = BytesMut::with_capacity(16);
        b.recv_buf(&mut buf).await.unwrap();
        assert_eq!(&buf[..], b"kept");

        // Cancel-safe: dropped by a timeout, it received nothing.
        assert!(timeout(SHORT, b.recv_buf(&mut buf)).await.is_err());
        assert_eq!(&buf[..], b"kept");
        a.send_to(b"!", to).await.unwrap();
        b.recv_buf(&mut buf).await.unwrap();
        assert_eq!(&buf[..], b"kept!");
    });
}

/// Unix datagrams: the same, with `pair()` for the connected receives and
/// bound sockets for the sender's path.
fn unix_datagram_recv_buf_family_reports_senders_and_truncates(flavor: Flavor) {
    let dir = TempDir::new("io-bytes-dgram");
    let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
    block_on(flavor, async {
        let (x, y) = UnixDatagram::pair().unwrap();
        let mut buf = BytesMut::with_capacity(64);
        assert_eq!(
            y.try_recv_buf(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let long = pattern(100, 8);
        x.send(&long).await.unwrap();
        x.send(b"next").await.unwrap();
        let mut storage = [0u8; 10];
        let mut slice: &mut [u8] = &mut storage[..];
        assert_eq!(
            y.recv_buf(&mut slice).await.unwrap(),
            10,
            "cut to the slice"
        );
        assert!(slice.is_empty());
        assert_eq!(&storage[..], &long[..10]);
        let n = try_until(|| y.readable(), || y.try_recv_buf(&mut buf)).await;
        assert_eq!((n, &buf[..]), (4, &b"next"[..]), "the tail was discarded");
        assert!(timeout(SHORT, y.recv_buf(&mut buf)).await.is_err());
        assert_eq!(&buf[..], b"next", "a cancelled recv_buf received nothing");

        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        let unbound = UnixDatagram::unbound().unwrap();
        let mut buf = BytesMut::with_capacity(64);
        assert_eq!(
            b.try_recv_buf_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.send_to(b"from-a", &pb).await.unwrap();
        unbound.send_to(b"anon", &pb).await.unwrap();
        let (n, from) = b.recv_buf_from(&mut buf).await.unwrap();
        assert_eq!((n, &buf[..]), (6, &b"from-a"[..]));
        assert_eq!(from.as_pathname(), Some(&*pa));
        let (n, from) = try_until(|| b.readable(), || b.try_recv_buf_from(&mut buf)).await;
        assert_eq!((n, &buf[..]), (4, &b"from-aanon"[..]));
        assert!(from.is_unnamed(), "unbound sender: {from:?}");
    });
}

/// A reader that claims one byte more than it was given room for.
struct Overreader;

impl AsyncRead for Overreader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len() + 1))
    }
}

/// A writer that claims one byte more than it was given, and one that
/// accepts nothing.
struct BadWriter {
    overreport: bool,
}

impl AsyncWrite for BadWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(if self.overreport { buf.len() + 1 } else { 0 }))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader or writer that reports more bytes than it was offered is an
/// error (never a panic, never a buffer advanced past its end), and one
/// that accepts nothing is `WriteZero` for `write_all_buf`.
fn lying_readers_and_writers_are_errors_not_panics(flavor: Flavor) {
    block_on(flavor, async {
        let mut buf = BytesMut::with_capacity(16);
        buf.put_slice(b"keep");
        let err = Overreader.read_buf(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(&buf[..], b"keep");

        let mut w = BadWriter { overreport: true };
        let mut src = Bytes::from_static(b"abc").chain(Bytes::from_static(b"de"));
        let err = w.write_buf(&mut src).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(src.remaining(), 5, "not advanced");
        // One chunk, so all that is offered goes to `poll_write` (with
        // several, `futures-io`'s default `poll_write_vectored` passes the
        // first alone, and a lie within the total offered cannot show).
        let mut one = Bytes::from_static(b"abc");
        let err = w.write_all_buf(&mut one).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(one.remaining(), 3, "not advanced");

        let mut w = BadWriter { overreport: false };
        let err = w.write_all_buf(&mut src).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WriteZero);
        assert_eq!(src.remaining(), 5);
    });
}

/// A pipe's `Receiver::try_read_buf`: `WouldBlock` while empty, then the
/// bytes into the spare capacity after `readable`, then end of file.
fn pipe_try_read_buf(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, rx) = runtime::net::unix::pipe::pipe().unwrap();
        let mut buf = BytesMut::with_capacity(4);
        assert_eq!(
            rx.try_read_buf(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        tx.write_all(b"through the pipe").await.unwrap();
        drop(tx);
        loop {
            rx.readable().await.unwrap();
            match rx.try_read_buf(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("try_read_buf: {e}"),
            }
        }
        assert_eq!(&buf[..], b"through the pipe");
    });
}

flavor_tests!(
    pipe_try_read_buf,
    read_buf_carries_a_mebibyte_byte_exact_into_a_growing_bytesmut,
    read_buf_into_a_full_buffer_returns_0_without_reading,
    read_buf_at_eof_returns_0,
    read_buf_dropped_by_a_timeout_loses_nothing,
    write_all_buf_of_a_chain_arrives_intact_in_one_vectored_write,
    write_buf_advances_the_buffer_by_the_count_it_returns,
    try_read_buf_would_blocks_then_reads_after_readable,
    udp_recv_buf_family_reports_senders_and_truncates,
    unix_datagram_recv_buf_family_reports_senders_and_truncates,
    lying_readers_and_writers_are_errors_not_panics,
);
