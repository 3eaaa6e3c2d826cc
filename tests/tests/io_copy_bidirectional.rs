//! `runtime::io::copy_bidirectional` as a proxy between two real
//! connections: `client <-> [front | proxy | back] <-> upstream`.
//!
//! Both paths are checked: our sockets on both sides take the splice path
//! on Linux (the process-wide splice counter grows by at least the bytes
//! proxied), a wrapper type takes the buffered path (every byte goes
//! through the wrapper's `poll_read`, and the splice counter stands
//! still). The tests take `serial()` so that no other test of this binary
//! moves the counter meanwhile.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::join;
use runtime::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use runtime::net::{TcpStream, UnixStream};
use runtime_tests::{
    assert_bytes_eq, block_on_with_limit, connected_pair, flavor_tests, pattern, serial, Flavor,
    HANG_LIMIT,
};

const MIB: usize = 1024 * 1024;

fn spliced() -> u64 {
    runtime_net::spliced_bytes()
}

/// Writes `send` and closes the write side, while reading everything the
/// peer sends until EOF; returns what was read.
async fn endpoint<S>(s: &S, send: &[u8]) -> io::Result<Vec<u8>>
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
{
    let write = async {
        let mut w = s;
        w.write_all(send).await?;
        w.close().await
    };
    let read = async { read_all(s).await };
    let (w, r) = join(write, read).await;
    w?;
    r
}

/// Reads until EOF. (Not `read_to_end` into a large `Vec`: it zeroes the
/// spare capacity on every read, which is slow for tens of MiB in a debug
/// build.)
async fn read_all<R>(mut r: R) -> io::Result<Vec<u8>>
where
    R: AsyncRead + Unpin,
{
    let mut got = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(got);
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// A stream wrapper that counts the bytes read through it: a type that is
/// not one of our sockets, so the copy takes the buffered path.
struct Counted<T> {
    inner: T,
    read: Arc<AtomicU64>,
}

impl<T> Counted<T> {
    fn new(inner: T) -> (Counted<T>, Arc<AtomicU64>) {
        let read = Arc::new(AtomicU64::new(0));
        (
            Counted {
                inner,
                read: read.clone(),
            },
            read,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Two loopback connections: `(client, front, back, upstream)`; the proxy
/// copies between `front` and `back`.
async fn two_pairs() -> (TcpStream, TcpStream, TcpStream, TcpStream) {
    let (client, front) = connected_pair().await.unwrap();
    let (back, upstream) = connected_pair().await.unwrap();
    (client, front, back, upstream)
}

/// Proxies `len` bytes each way at once and checks every byte and the
/// counts; `wrap` chooses the path.
async fn proxy_both_ways(len: usize, wrap: bool) {
    let (client, front, back, upstream) = two_pairs().await;
    let up = pattern(len, 1);
    let down = pattern(len, 2);
    let before = spliced();
    let proxy = runtime::spawn(async move {
        if wrap {
            let (mut f, f_read) = Counted::new(front);
            let (mut b, b_read) = Counted::new(back);
            let res = runtime::io::copy_bidirectional(&mut f, &mut b).await;
            let reads = (
                f_read.load(Ordering::Relaxed),
                b_read.load(Ordering::Relaxed),
            );
            (res, Some(reads))
        } else {
            let (mut f, mut b) = (front, back);
            (runtime::io::copy_bidirectional(&mut f, &mut b).await, None)
        }
    });
    let up2 = up.clone();
    let down2 = down.clone();
    let client_side = runtime::spawn(async move { endpoint(&client, &up2).await });
    let upstream_side = runtime::spawn(async move { endpoint(&upstream, &down2).await });
    let got_down = client_side.await.unwrap().expect("client side");
    let got_up = upstream_side.await.unwrap().expect("upstream side");
    assert_bytes_eq(&got_up, &up, "client to upstream");
    assert_bytes_eq(&got_down, &down, "upstream to client");
    let (res, reads) = proxy.await.unwrap();
    assert_eq!(res.expect("proxy"), (len as u64, len as u64));
    let moved = spliced() - before;
    match reads {
        Some(reads) => {
            assert_eq!(reads, (len as u64, len as u64), "bytes read by the wrapper");
            assert_eq!(moved, 0, "a wrapper type must take the buffered path");
        }
        None if cfg!(target_os = "linux") => {
            assert!(
                moved >= 2 * len as u64,
                "spliced {moved} of {} bytes",
                2 * len
            );
        }
        None => {}
    }
}

fn sixty_four_mib_each_way_spliced(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, proxy_both_ways(64 * MIB, false));
}

fn sixty_four_mib_each_way_buffered_through_a_wrapper(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, proxy_both_ways(64 * MIB, true));
}

/// One side closes its write half first; the other direction keeps going
/// and its reply (sent only after the EOF arrived) gets through.
async fn half_close(client_first: bool, wrap: bool) {
    let (client, front, back, upstream) = two_pairs().await;
    let request = pattern(MIB, 3);
    let reply = pattern(MIB, 4);
    let proxy = runtime::spawn(async move {
        if wrap {
            let (mut f, _) = Counted::new(front);
            let (mut b, _) = Counted::new(back);
            runtime::io::copy_bidirectional(&mut f, &mut b).await
        } else {
            let (mut f, mut b) = (front, back);
            runtime::io::copy_bidirectional_with_sizes(&mut f, &mut b, 4096, 256 * 1024).await
        }
    });
    // The closing side sends and closes; the other side reads to EOF, and
    // only then sends its own bytes and closes.
    let (first, second) = if client_first {
        (client, upstream)
    } else {
        (upstream, client)
    };
    let (req, rep) = (request.clone(), reply.clone());
    let first_side = runtime::spawn(async move {
        let mut s = &first;
        s.write_all(&req).await?;
        s.close().await?;
        let mut got = Vec::new();
        s.read_to_end(&mut got).await?;
        Ok::<_, io::Error>(got)
    });
    let mut s = &second;
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_bytes_eq(&got, &request, "bytes before the half-close");
    s.write_all(&rep).await.unwrap();
    s.close().await.unwrap();
    let back_got = first_side.await.unwrap().unwrap();
    assert_bytes_eq(&back_got, &reply, "bytes after the half-close");
    let counts = proxy.await.unwrap().unwrap();
    let (n_req, n_rep) = (request.len() as u64, reply.len() as u64);
    let expected = if client_first {
        (n_req, n_rep)
    } else {
        (n_rep, n_req)
    };
    assert_eq!(counts, expected);
}

fn half_close_from_the_client_spliced(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, half_close(true, false));
}

fn half_close_from_upstream_spliced(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, half_close(false, false));
}

fn half_close_from_the_client_buffered(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, half_close(true, true));
}

fn half_close_from_upstream_buffered(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, half_close(false, true));
}

/// Upstream resets its connection (`SO_LINGER` 0, then close) while the
/// client is still sending: the copy ends with an error, and nothing hangs.
async fn reset_mid_transfer(wrap: bool) {
    let (client, front, back, upstream) = two_pairs().await;
    let proxy = runtime::spawn(async move {
        if wrap {
            let (mut f, _) = Counted::new(front);
            let (mut b, _) = Counted::new(back);
            runtime::io::copy_bidirectional(&mut f, &mut b).await
        } else {
            let (mut f, mut b) = (front, back);
            runtime::io::copy_bidirectional(&mut f, &mut b).await
        }
    });
    // The client sends until its writes fail (the proxy drops `front`
    // once the copy failed), at most 256 MiB.
    let sender = runtime::spawn(async move {
        let chunk = pattern(256 * 1024, 5);
        let mut s = &client;
        for _ in 0..1024 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    let mut u = &upstream;
    while got < MIB {
        let n = u.read(&mut buf).await.unwrap();
        assert!(n > 0, "upstream saw EOF before the reset");
        got += n;
    }
    upstream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(upstream);
    let res = proxy.await.unwrap();
    let err = res.expect_err("a reset mid-transfer must end the copy with an error");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "unexpected error {:?}: {err}",
        err.kind()
    );
    sender.await.unwrap();
}

fn reset_mid_transfer_spliced(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, reset_mid_transfer(false));
}

fn reset_mid_transfer_buffered(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, reset_mid_transfer(true));
}

/// A Unix stream on one side and TCP on the other (both ours): spliced,
/// byte-exact, and half-close passed on to the Unix peer.
fn unix_to_tcp_spliced(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, async {
        let (client, mut front) = UnixStream::pair().unwrap();
        let (mut back, upstream) = connected_pair().await.unwrap();
        let before = spliced();
        let proxy =
            runtime::spawn(
                async move { runtime::io::copy_bidirectional(&mut front, &mut back).await },
            );
        let up = pattern(8 * MIB, 6);
        let down = pattern(8 * MIB, 7);
        let (up2, down2) = (up.clone(), down.clone());
        let c = runtime::spawn(async move { endpoint(&client, &up2).await });
        let u = runtime::spawn(async move { endpoint(&upstream, &down2).await });
        assert_bytes_eq(&c.await.unwrap().unwrap(), &down, "upstream to unix client");
        assert_bytes_eq(&u.await.unwrap().unwrap(), &up, "unix client to upstream");
        assert_eq!(
            proxy.await.unwrap().unwrap(),
            (up.len() as u64, down.len() as u64)
        );
        if cfg!(target_os = "linux") {
            assert!(spliced() - before >= (up.len() + down.len()) as u64);
        }
    });
}

/// Our sockets behind a reference (`&mut &TcpStream`) are another type:
/// the buffered path, same bytes.
fn references_to_sockets_take_the_buffered_path(flavor: Flavor) {
    let _serial = serial();
    block_on_with_limit(flavor, HANG_LIMIT, async {
        let (client, front, back, upstream) = two_pairs().await;
        let before = spliced();
        let proxy = runtime::spawn(async move {
            let (mut f, mut b) = (&front, &back);
            runtime::io::copy_bidirectional(&mut f, &mut b).await
        });
        let up = pattern(MIB, 8);
        let down = pattern(MIB, 9);
        let (up2, down2) = (up.clone(), down.clone());
        let c = runtime::spawn(async move { endpoint(&client, &up2).await });
        let u = runtime::spawn(async move { endpoint(&upstream, &down2).await });
        assert_bytes_eq(&c.await.unwrap().unwrap(), &down, "down");
        assert_bytes_eq(&u.await.unwrap().unwrap(), &up, "up");
        assert_eq!(proxy.await.unwrap().unwrap(), (MIB as u64, MIB as u64));
        assert_eq!(spliced() - before, 0);
    });
}

/// In-memory streams (`duplex`) work too, with EOF passed through.
fn duplex_streams_are_proxied(flavor: Flavor) {
    block_on_with_limit(flavor, HANG_LIMIT, async {
        let (mut a, a_peer) = runtime::io::duplex(4096);
        let (mut b, b_peer) = runtime::io::duplex(1000);
        let proxy =
            runtime::spawn(async move { runtime::io::copy_bidirectional(&mut a, &mut b).await });
        let up = pattern(300_000, 10);
        let down = pattern(200_000, 11);
        let (up2, down2) = (up.clone(), down.clone());
        let a_side = runtime::spawn(async move {
            let mut p = a_peer;
            let (mut r, mut w) = runtime::io::split(&mut p);
            let write = async {
                w.write_all(&up2).await?;
                w.close().await
            };
            let mut got = Vec::new();
            let (wres, rres) = join(write, r.read_to_end(&mut got)).await;
            wres.and(rres).map(|_| got)
        });
        let b_side = runtime::spawn(async move {
            let mut p = b_peer;
            let (mut r, mut w) = runtime::io::split(&mut p);
            let write = async {
                w.write_all(&down2).await?;
                w.close().await
            };
            let mut got = Vec::new();
            let (wres, rres) = join(write, r.read_to_end(&mut got)).await;
            wres.and(rres).map(|_| got)
        });
        assert_bytes_eq(&a_side.await.unwrap().unwrap(), &down, "down");
        assert_bytes_eq(&b_side.await.unwrap().unwrap(), &up, "up");
        assert_eq!(
            proxy.await.unwrap().unwrap(),
            (up.len() as u64, down.len() as u64)
        );
    });
}

#[test]
#[should_panic(expected = "buffer sizes must be non-zero")]
fn zero_buffer_size_panics() {
    runtime_tests::block_on(Flavor::CurrentThread, async {
        let (mut a, _) = runtime::io::duplex(1);
        let (mut b, _) = runtime::io::duplex(1);
        let _ = runtime::io::copy_bidirectional_with_sizes(&mut a, &mut b, 0, 1).await;
    });
}

flavor_tests!(
    sixty_four_mib_each_way_spliced,
    sixty_four_mib_each_way_buffered_through_a_wrapper,
    half_close_from_the_client_spliced,
    half_close_from_upstream_spliced,
    half_close_from_the_client_buffered,
    half_close_from_upstream_buffered,
    reset_mid_transfer_spliced,
    reset_mid_transfer_buffered,
    unix_to_tcp_spliced,
    references_to_sockets_take_the_buffered_path,
    duplex_streams_are_proxied,
);
