//! A short read or write on a stream socket clears that direction's
//! readiness, as `WouldBlock` would (one system call less per message),
//! without ever losing data, a wake-up or an EOF: a full read with more
//! queued keeps the readiness, data arriving after a short read wakes the
//! reader, and the closed bits survive a short read. On Linux a TCP read
//! that fills its buffer also clears readiness when `TCP_INQ` says nothing
//! stayed queued: data and a close after such a read are still seen, and a
//! bulk read through a small buffer loses nothing. TCP and Unix streams,
//! both schedulers.
//!
//! The `timeout`s are hang guards, far above any healthy run.

use std::io::ErrorKind;
use std::time::Duration;

use runtime::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use runtime::net::UnixStream;
use runtime::time::timeout;
use runtime_tests::{block_on, connected_pair, flavor_tests, pattern, Flavor};

const GUARD: Duration = Duration::from_secs(30);

async fn guarded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    timeout(GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after {GUARD:?}"))
}

/// A stream pair: TCP (over 127.0.0.1) or Unix.
trait Pair: AsyncRead + AsyncWrite + Unpin + Sized {
    async fn pair() -> (Self, Self);
    fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize>;
    async fn readable(&self) -> std::io::Result<()>;
    async fn shutdown_write(&mut self);
}

impl Pair for runtime::net::TcpStream {
    async fn pair() -> (Self, Self) {
        connected_pair().await.unwrap()
    }
    fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        runtime::net::TcpStream::try_read(self, buf)
    }
    async fn readable(&self) -> std::io::Result<()> {
        runtime::net::TcpStream::readable(self).await
    }
    async fn shutdown_write(&mut self) {
        AsyncWriteExt::close(self).await.unwrap();
    }
}

impl Pair for UnixStream {
    async fn pair() -> (Self, Self) {
        UnixStream::pair().unwrap()
    }
    fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        UnixStream::try_read(self, buf)
    }
    async fn readable(&self) -> std::io::Result<()> {
        UnixStream::readable(self).await
    }
    async fn shutdown_write(&mut self) {
        AsyncWriteExt::close(self).await.unwrap();
    }
}

/// A read that fills its buffer proves nothing: the rest is returned at
/// once by the next read, even one that never waits (`try_read`).
async fn full_read_keeps_readiness<S: Pair>() {
    let (mut a, mut b) = S::pair().await;
    let data = pattern(1000, 1);
    a.write_all(&data).await.unwrap();
    b.readable().await.unwrap();
    // Let all 1,000 bytes land, then read exactly 400.
    runtime::time::sleep(Duration::from_millis(20)).await;
    let mut first = vec![0u8; 400];
    b.read_exact(&mut first).await.unwrap();
    let mut rest = vec![0u8; 600];
    let mut got = 0;
    while got < 600 {
        match b.try_read(&mut rest[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Only possible if the bytes are still in flight; wait.
                guarded("the rest", b.readable()).await.unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!([first, rest].concat(), data);
}

/// Readiness is what `readable()` reports after a full read with more
/// queued: a `try_read` right after a full-buffer read gets the rest.
async fn exact_read_then_try_read_gets_the_rest<S: Pair>() {
    let (mut a, mut b) = S::pair().await;
    a.write_all(b"0123456789").await.unwrap();
    // Let everything arrive: a one-byte read waits for the first bytes,
    // then a short sleep lets the rest land in the same queue.
    let mut one = [0u8; 1];
    b.read_exact(&mut one).await.unwrap();
    runtime::time::sleep(Duration::from_millis(20)).await;
    let mut four = [0u8; 4];
    assert_eq!(b.read(&mut four).await.unwrap(), 4, "a full read");
    let mut five = [0u8; 5];
    assert_eq!(
        b.try_read(&mut five).unwrap(),
        5,
        "after a full read, readiness stays: the rest is returned at once"
    );
    assert_eq!(
        (&one[..], &four[..], &five[..]),
        (&b"0"[..], &b"1234"[..], &b"56789"[..])
    );
    // Now the queue is empty, and says so.
    assert_eq!(
        b.try_read(&mut five).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

/// Data that arrives right after a short read (which cleared readiness)
/// wakes the reader: 2,000 rounds of short read, then more data.
async fn data_after_a_short_read_wakes_the_reader<S: Pair>() {
    let (mut a, mut b) = S::pair().await;
    let mut buf = vec![0u8; 4096];
    for round in 0..2000u32 {
        let msg = round.to_le_bytes();
        a.write_all(&msg).await.unwrap();
        let n = guarded("a read after a short read", b.read(&mut buf))
            .await
            .unwrap();
        assert!(n > 0 && n <= 4, "round {round}: read {n}");
        let mut got = buf[..n].to_vec();
        while got.len() < 4 {
            let n = guarded("the rest of a message", b.read(&mut buf))
                .await
                .unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, msg, "round {round}");
    }
}

/// The peer's close right after a short read is still seen: the read that
/// follows returns `Ok(0)` at once (the closed bit was not cleared).
async fn close_after_a_short_read_is_seen<S: Pair>() {
    for round in 0..200 {
        let (mut a, mut b) = S::pair().await;
        a.write_all(b"last words").await.unwrap();
        if round % 2 == 0 {
            // Data and EOF reported together.
            a.shutdown_write().await;
            b.readable().await.unwrap();
            runtime::time::sleep(Duration::from_millis(1)).await;
        }
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        let n = guarded("the short read", b.read(&mut buf)).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        if round % 2 == 1 {
            // EOF reported after the short read.
            a.shutdown_write().await;
        }
        loop {
            let n = guarded("the read after a short read and a close", b.read(&mut buf))
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"last words", "round {round}");
        // EOF again, at once.
        assert_eq!(b.try_read(&mut buf).unwrap(), 0, "round {round}");
    }
}

/// Messages that fill the reader's buffer exactly, one at a time: on TCP
/// (Linux) the first full read turns the stream to reads that learn from
/// `TCP_INQ` whether anything stayed queued, and a full read that left
/// nothing clears readiness as a short read does. The next message, which
/// arrives later, must still wake the reader: 2,000 rounds of 4 KiB
/// messages through a 4 KiB buffer, each echoed back before the next.
async fn data_after_a_full_read_that_drained_wakes_the_reader<S: Pair>() {
    let (mut a, mut b) = S::pair().await;
    let mut buf = vec![0u8; 4096];
    for round in 0..2000u32 {
        let msg = pattern(4096, u64::from(round));
        a.write_all(&msg).await.unwrap();
        let mut got = 0;
        while got < 4096 {
            let n = guarded("a read after a full read", b.read(&mut buf[got..]))
                .await
                .unwrap();
            assert!(n > 0, "round {round}: EOF");
            got += n;
        }
        assert!(buf == msg, "round {round}: wrong bytes");
        b.write_all(&buf).await.unwrap();
        let mut back = vec![0u8; 4096];
        guarded("the echo", a.read_exact(&mut back)).await.unwrap();
        assert!(back == msg, "round {round}: wrong echo");
    }
}

/// A queue many buffers deep, read through a 4 KiB buffer (on TCP, Linux:
/// plain reads while the last hinted read said more than a buffer was
/// left, a hinted one for the read that may drain it), then, once it is
/// drained, more data that must wake the reader; 20 rounds, every byte
/// checked.
async fn bulk_reads_then_data_after_the_queue_drained<S: Pair + Send + 'static>() {
    let (mut a, mut b) = S::pair().await;
    let mut buf = vec![0u8; 4096];
    for round in 0..20u64 {
        // 192 KiB: many 4 KiB buffers' worth queued at once, written by
        // another task (the socket buffers need not hold it all); then,
        // once the reader says it drained the queue, 4 KiB more.
        let data = pattern(192 << 10, round);
        let tail = pattern(4096, round + 100);
        let (drained_tx, drained_rx) = runtime::sync::oneshot::channel::<()>();
        let (bulk, more) = (data.clone(), tail.clone());
        let writer = runtime::spawn(async move {
            a.write_all(&bulk).await.unwrap();
            drained_rx.await.unwrap();
            runtime::time::sleep(Duration::from_millis(2)).await;
            a.write_all(&more).await.unwrap();
            a
        });
        b.readable().await.unwrap();
        runtime::time::sleep(Duration::from_millis(5)).await;
        let mut got = Vec::with_capacity(data.len());
        while got.len() < data.len() {
            let n = guarded("a bulk read", b.read(&mut buf)).await.unwrap();
            assert!(n > 0, "round {round}: EOF");
            got.extend_from_slice(&buf[..n]);
        }
        runtime_tests::assert_bytes_eq(&got, &data, "a bulk round");
        drained_tx.send(()).unwrap();
        let mut t = Vec::new();
        while t.len() < tail.len() {
            let n = guarded("a read after the queue drained", b.read(&mut buf))
                .await
                .unwrap();
            assert!(n > 0, "round {round}: EOF");
            t.extend_from_slice(&buf[..n]);
        }
        assert!(t == tail, "round {round}: wrong tail");
        a = guarded("the writer", writer).await.unwrap();
    }
}

/// The peer's close right after a read that filled the buffer is still
/// seen, whether the end of stream was queued at the read (on TCP,
/// `TCP_INQ` counts it, so the read does not clear readiness) or comes
/// after it (it wakes the reader).
async fn close_after_a_full_read_is_seen<S: Pair>() {
    for round in 0..200 {
        let (mut a, mut b) = S::pair().await;
        let mut buf = [0u8; 10];
        // Turn the stream to hinted reads first (a full read).
        a.write_all(b"0123456789").await.unwrap();
        guarded("the first full read", b.read_exact(&mut buf))
            .await
            .unwrap();
        a.write_all(b"last words").await.unwrap();
        if round % 2 == 0 {
            a.shutdown_write().await;
            b.readable().await.unwrap();
            runtime::time::sleep(Duration::from_millis(1)).await;
        }
        let mut got = Vec::new();
        while got.len() < 10 {
            let n = guarded("the full read", b.read(&mut buf[got.len()..]))
                .await
                .unwrap();
            assert!(n > 0, "round {round}: EOF before the data");
            got.extend_from_slice(&buf[got.len()..got.len() + n]);
        }
        if round % 2 == 1 {
            a.shutdown_write().await;
        }
        let n = guarded("the read after a full read and a close", b.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "round {round}: data after the last words");
        assert_eq!(got, b"last words", "round {round}");
        assert_eq!(b.try_read(&mut buf).unwrap(), 0, "round {round}");
    }
}

/// 8 MiB written in one `write_all` (many short writes, each clearing
/// writability) while the peer reads slowly: every byte arrives.
async fn short_writes_lose_nothing<S: Pair + Send + 'static>() {
    let (mut a, mut b) = S::pair().await;
    let data = pattern(8 << 20, 9);
    let expected = data.clone();
    let writer = runtime::spawn(async move {
        a.write_all(&data).await.unwrap();
        a.close().await.unwrap();
    });
    let mut got = Vec::with_capacity(8 << 20);
    let mut buf = vec![0u8; 3001];
    loop {
        let n = guarded("the slow reader", b.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() % 7 == 0 {
            runtime::task::yield_now().await;
        }
    }
    guarded("the writer", writer).await.unwrap();
    runtime_tests::assert_bytes_eq(&got, &expected, "8 MiB through short writes");
}

fn tcp_full_read_keeps_readiness(flavor: Flavor) {
    block_on(
        flavor,
        full_read_keeps_readiness::<runtime::net::TcpStream>(),
    );
}
fn unix_full_read_keeps_readiness(flavor: Flavor) {
    block_on(flavor, full_read_keeps_readiness::<UnixStream>());
}
fn tcp_exact_read_then_try_read_gets_the_rest(flavor: Flavor) {
    block_on(
        flavor,
        exact_read_then_try_read_gets_the_rest::<runtime::net::TcpStream>(),
    );
}
fn unix_exact_read_then_try_read_gets_the_rest(flavor: Flavor) {
    block_on(
        flavor,
        exact_read_then_try_read_gets_the_rest::<UnixStream>(),
    );
}
fn tcp_data_after_a_short_read_wakes_the_reader(flavor: Flavor) {
    block_on(
        flavor,
        data_after_a_short_read_wakes_the_reader::<runtime::net::TcpStream>(),
    );
}
fn unix_data_after_a_short_read_wakes_the_reader(flavor: Flavor) {
    block_on(
        flavor,
        data_after_a_short_read_wakes_the_reader::<UnixStream>(),
    );
}
fn tcp_close_after_a_short_read_is_seen(flavor: Flavor) {
    block_on(
        flavor,
        close_after_a_short_read_is_seen::<runtime::net::TcpStream>(),
    );
}
fn unix_close_after_a_short_read_is_seen(flavor: Flavor) {
    block_on(flavor, close_after_a_short_read_is_seen::<UnixStream>());
}
fn tcp_data_after_a_full_read_that_drained_wakes_the_reader(flavor: Flavor) {
    block_on(
        flavor,
        data_after_a_full_read_that_drained_wakes_the_reader::<runtime::net::TcpStream>(),
    );
}
fn unix_data_after_a_full_read_that_drained_wakes_the_reader(flavor: Flavor) {
    block_on(
        flavor,
        data_after_a_full_read_that_drained_wakes_the_reader::<UnixStream>(),
    );
}
fn tcp_bulk_reads_then_data_after_the_queue_drained(flavor: Flavor) {
    block_on(
        flavor,
        bulk_reads_then_data_after_the_queue_drained::<runtime::net::TcpStream>(),
    );
}
fn unix_bulk_reads_then_data_after_the_queue_drained(flavor: Flavor) {
    block_on(
        flavor,
        bulk_reads_then_data_after_the_queue_drained::<UnixStream>(),
    );
}
fn tcp_close_after_a_full_read_is_seen(flavor: Flavor) {
    block_on(
        flavor,
        close_after_a_full_read_is_seen::<runtime::net::TcpStream>(),
    );
}
fn unix_close_after_a_full_read_is_seen(flavor: Flavor) {
    block_on(flavor, close_after_a_full_read_is_seen::<UnixStream>());
}
fn tcp_short_writes_lose_nothing(flavor: Flavor) {
    block_on(
        flavor,
        short_writes_lose_nothing::<runtime::net::TcpStream>(),
    );
}
fn unix_short_writes_lose_nothing(flavor: Flavor) {
    block_on(flavor, short_writes_lose_nothing::<UnixStream>());
}

flavor_tests!(
    tcp_full_read_keeps_readiness,
    unix_full_read_keeps_readiness,
    tcp_exact_read_then_try_read_gets_the_rest,
    unix_exact_read_then_try_read_gets_the_rest,
    tcp_data_after_a_short_read_wakes_the_reader,
    unix_data_after_a_short_read_wakes_the_reader,
    tcp_close_after_a_short_read_is_seen,
    unix_close_after_a_short_read_is_seen,
    tcp_data_after_a_full_read_that_drained_wakes_the_reader,
    unix_data_after_a_full_read_that_drained_wakes_the_reader,
    tcp_bulk_reads_then_data_after_the_queue_drained,
    unix_bulk_reads_then_data_after_the_queue_drained,
    tcp_close_after_a_full_read_is_seen,
    unix_close_after_a_full_read_is_seen,
    tcp_short_writes_lose_nothing,
    unix_short_writes_lose_nothing,
);

/// `TCP_INQ`, set by the stream for its own reads after a full one, is
/// cleared again when the socket leaves the runtime (`into_std`).
#[cfg(target_os = "linux")]
#[test]
fn into_std_clears_the_inq_option_a_full_read_set() {
    use std::os::fd::AsRawFd;
    let inq_of = |fd: i32| {
        let mut v: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v` and `len` are valid for writes of their sizes.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_INQ,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        v
    };
    let std_stream = block_on(Flavor::CurrentThread, async {
        let (mut a, mut b) = connected_pair().await.unwrap();
        a.write_all(b"0123").await.unwrap();
        let mut four = [0u8; 4];
        b.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"0123");
        assert_eq!(inq_of(b.as_raw_fd()), 1, "a full read sets TCP_INQ");
        b.into_std().unwrap()
    });
    assert_eq!(inq_of(std_stream.as_raw_fd()), 0);
}
