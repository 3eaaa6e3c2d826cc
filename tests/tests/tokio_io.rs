//! tokio's `AsyncRead`/`AsyncWrite` on our sockets (feature `tokio-io`),
//! with crates written against them: tokio-util's `Framed` with
//! `LinesCodec`, and hyper-util's `auto` server over `TokioIo`, all on this
//! runtime with no tokio runtime anywhere in the process.
#![cfg(feature = "tokio-io")]

use std::convert::Infallible;
use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use runtime::hyper::HyperExecutor;
use runtime::io::AsyncReadExt as _;
use runtime::net::{TcpListener, TcpStream, UnixStream};
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

fn assert_no_tokio_runtime() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "a tokio runtime is current"
    );
}

/// A line server and client, both `Framed<TcpStream, LinesCodec>` over
/// 127.0.0.1: the server answers each line upper-cased, the client checks
/// every answer, and closing the client's sink ends the server's stream.
fn framed_lines_over_tcp(flavor: Flavor) {
    block_on(flavor, async {
        assert_no_tokio_runtime();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut lines = Framed::new(stream, LinesCodec::new());
            let mut served = 0;
            while let Some(line) = lines.next().await {
                lines.send(line.unwrap().to_uppercase()).await.unwrap();
                served += 1;
            }
            served
        });

        let stream = TcpStream::connect(addr).await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        for i in 0..200 {
            lines.send(format!("line {i}")).await.unwrap();
            assert_eq!(lines.next().await.unwrap().unwrap(), format!("LINE {i}"));
        }
        // A long line (longer than any one read) in one piece.
        let long = "x".repeat(300_000);
        lines.send(long.clone()).await.unwrap();
        assert_eq!(lines.next().await.unwrap().unwrap(), long.to_uppercase());
        // `close` is `poll_shutdown`: the server reads EOF.
        SinkExt::<String>::close(&mut lines).await.unwrap();
        assert_eq!(server.await.unwrap(), 201);
        assert!(lines.next().await.is_none(), "the server closed too");
    });
}

/// The halves implement tokio's traits too: a `FramedRead` on one half and
/// a `FramedWrite` on the other, owned and borrowed, and over a Unix
/// stream.
fn framed_over_halves_and_unix(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = connected_pair().await.unwrap();
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        let mut write_a = FramedWrite::new(wa, LinesCodec::new());
        let mut read_b = FramedRead::new(rb, LinesCodec::new());
        write_a.send("owned halves").await.unwrap();
        assert_eq!(read_b.next().await.unwrap().unwrap(), "owned halves");
        let mut write_b = FramedWrite::new(wb, LinesCodec::new());
        let mut read_a = FramedRead::new(ra, LinesCodec::new());
        write_b.send("and back").await.unwrap();
        assert_eq!(read_a.next().await.unwrap().unwrap(), "and back");

        let mut a = read_a.into_inner().reunite(write_a.into_inner()).unwrap();
        let mut b = read_b.into_inner().reunite(write_b.into_inner()).unwrap();
        {
            let (ra, wa) = TcpStream::split(&mut a);
            let (rb, wb) = TcpStream::split(&mut b);
            let mut write_a = FramedWrite::new(wa, LinesCodec::new());
            let mut read_b = FramedRead::new(rb, LinesCodec::new());
            write_a.send("borrowed halves").await.unwrap();
            assert_eq!(read_b.next().await.unwrap().unwrap(), "borrowed halves");
            let mut write_b = FramedWrite::new(wb, LinesCodec::new());
            let mut read_a = FramedRead::new(ra, LinesCodec::new());
            write_b.send("back").await.unwrap();
            assert_eq!(read_a.next().await.unwrap().unwrap(), "back");
            // The borrowed write half's `poll_shutdown` shuts down the
            // stream's write direction.
            SinkExt::<String>::close(&mut write_a).await.unwrap();
        }
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());

        let (u, v) = UnixStream::pair().unwrap();
        let mut u = Framed::new(u, LinesCodec::new());
        let mut v = Framed::new(v, LinesCodec::new());
        u.send("unix").await.unwrap();
        assert_eq!(v.next().await.unwrap().unwrap(), "unix");
        // Unix halves, owned and borrowed.
        let (ur, uw) = u.into_inner().into_split();
        let mut v = v.into_inner();
        let (vr, vw) = v.split();
        let mut to_v = FramedWrite::new(uw, LinesCodec::new());
        let mut from_u = FramedRead::new(vr, LinesCodec::new());
        to_v.send("unix owned half").await.unwrap();
        assert_eq!(from_u.next().await.unwrap().unwrap(), "unix owned half");
        let mut to_u = FramedWrite::new(vw, LinesCodec::new());
        let mut from_v = FramedRead::new(ur, LinesCodec::new());
        to_u.send("unix borrowed half").await.unwrap();
        assert_eq!(from_v.next().await.unwrap().unwrap(), "unix borrowed half");
    });
}

/// tokio-util's codecs over our child pipes and files: lines through
/// `cat` (`FramedWrite` on its stdin, `FramedRead` on its stdout), and
/// lines written to a `File`, sought back to the start with tokio's
/// two-step seek, and read again.
fn framed_over_a_child_and_a_file(flavor: Flavor) {
    use std::io::SeekFrom;
    use std::process::Stdio;

    use runtime::fs::File;
    use runtime::process::Command;
    use tokio::io::AsyncSeek;

    let dir = runtime_tests::TempDir::new("tokio-io-file");
    block_on(flavor, async {
        assert_no_tokio_runtime();
        let lines = ["one", "two", "three: a longer line"];
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sink = FramedWrite::new(cat.stdin.take().unwrap(), LinesCodec::new());
        let mut stream = FramedRead::new(cat.stdout.take().unwrap(), LinesCodec::new());
        for line in lines {
            sink.send(line).await.unwrap();
        }
        drop(sink);
        let got: Vec<String> = (&mut stream).map(Result::unwrap).collect().await;
        assert_eq!(got, lines);
        assert!(cat.wait().await.unwrap().success());

        let path = dir.join("lines");
        let mut sink = FramedWrite::new(File::create(&path).await.unwrap(), LinesCodec::new());
        for line in lines {
            sink.send(line).await.unwrap();
        }
        SinkExt::<&str>::close(&mut sink).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "one\ntwo\nthree: a longer line\n"
        );
        let mut file = File::open(&path).await.unwrap();
        let mut first = FramedRead::new(&mut file, LinesCodec::new());
        assert_eq!(first.next().await.unwrap().unwrap(), "one");
        drop(first);
        // The codec read ahead: seek back to the start, tokio's way.
        Pin::new(&mut file).start_seek(SeekFrom::Start(0)).unwrap();
        let at = poll_fn(|cx| Pin::new(&mut file).poll_complete(cx))
            .await
            .unwrap();
        assert_eq!(at, 0);
        let again: Vec<String> = FramedRead::new(file, LinesCodec::new())
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(again, lines);
    });
}

flavor_tests!(
    framed_lines_over_tcp,
    framed_over_halves_and_unix,
    framed_over_a_child_and_a_file
);

/// Polls `io`'s tokio `AsyncRead` once into a fresh uninitialised buffer
/// of `cap` bytes and returns what it filled.
async fn tokio_read<T: AsyncRead + Unpin>(io: &mut T, cap: usize) -> Vec<u8> {
    let mut storage = vec![MaybeUninit::<u8>::uninit(); cap];
    let mut buf = ReadBuf::uninit(&mut storage);
    poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, &mut buf))
        .await
        .unwrap();
    buf.filled().to_vec()
}

/// tokio's `AsyncRead` fills an uninitialised `ReadBuf` with exactly what
/// arrived (short reads included) and fills nothing at EOF; `AsyncWrite`
/// writes, vectored too, and `poll_shutdown` makes the peer read EOF.
#[test]
fn read_into_uninitialised_read_buf() {
    block_on(Flavor::CurrentThread, async {
        let (mut a, mut b) = connected_pair().await.unwrap();
        assert!(AsyncWrite::is_write_vectored(&a));
        let bufs = [
            std::io::IoSlice::new(b"tokio"),
            std::io::IoSlice::new(b" io"),
        ];
        let n = poll_fn(|cx| Pin::new(&mut a).poll_write_vectored(cx, &bufs))
            .await
            .unwrap();
        assert_eq!(n, 8);
        assert_eq!(tokio_read(&mut b, 5).await, b"tokio");
        assert_eq!(tokio_read(&mut b, 100).await, b" io");
        poll_fn(|cx| Pin::new(&mut a).poll_flush(cx)).await.unwrap();
        poll_fn(|cx| Pin::new(&mut a).poll_shutdown(cx))
            .await
            .unwrap();
        assert!(
            tokio_read(&mut b, 100).await.is_empty(),
            "EOF fills nothing"
        );

        // A `ReadBuf` partly filled already: the read appends.
        let (c, mut d) = connected_pair().await.unwrap();
        let mut c = c;
        poll_fn(|cx| Pin::new(&mut c).poll_write(cx, b"world"))
            .await
            .unwrap();
        let mut storage = [MaybeUninit::<u8>::uninit(); 16];
        let mut buf = ReadBuf::uninit(&mut storage);
        buf.put_slice(b"hello ");
        poll_fn(|cx| Pin::new(&mut d).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"hello world");
    });
}

/// hyper-util's `auto` server (HTTP/1.1 and HTTP/2 detected per
/// connection) over `TokioIo<runtime::net::TcpStream>` with our executor:
/// each version's request is served, and no tokio runtime exists in the
/// handler or anywhere else.
#[test]
fn hyper_util_auto_server_over_tokio_io() {
    block_on(Flavor::MultiThread, async {
        assert_no_tokio_runtime();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                runtime::spawn(async move {
                    let service = service_fn(|req: Request<Incoming>| async move {
                        assert_no_tokio_runtime();
                        let answer = format!("{:?} {}", req.version(), req.uri().path());
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
                    });
                    hyper_util::server::conn::auto::Builder::new(HyperExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                        .unwrap();
                })
                .await
                .unwrap();
            }
        });

        // HTTP/1.1, our stream bare on the client side.
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        let conn = runtime::spawn(conn);
        let resp = sender
            .send_request(Request::get("/one").body(Full::<Bytes>::default()).unwrap())
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/1.1 /one");
        drop(sender);
        conn.await.unwrap().unwrap();

        // HTTP/2, the client over `TokioIo` as well.
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(HyperExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        let conn = runtime::spawn(conn);
        let resp = sender
            .send_request(
                Request::get("http://x/two")
                    .body(Full::<Bytes>::default())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/2.0 /two");
        drop(sender);
        conn.await.unwrap().unwrap();

        server.await.unwrap();
        assert_no_tokio_runtime();
    });
}
