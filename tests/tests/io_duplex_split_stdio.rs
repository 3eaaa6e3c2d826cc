//! `runtime::io::{duplex, split, stdin, stdout, stderr}`, and which `split`
//! a socket's `stream.split()` resolves to with `AsyncReadExt` in scope.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use futures_util::future::join;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{tcp, TcpStream, UnixStream};
use runtime_tests::{
    assert_bytes_eq, block_on, child_case, connected_pair, flavor_tests, pattern, Flavor,
    CHILD_CASE_ENV,
};

/// More than the buffer through a small duplex: backpressure makes the
/// writer wait for the reader, and every byte arrives in order.
fn duplex_backpressure_and_order(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = runtime::io::duplex(100);
        let data = pattern(100_000, 1);
        let d2 = data.clone();
        let writer = runtime::spawn(async move {
            a.write_all(&d2).await?;
            // A full buffer takes only what fits.
            Ok::<_, io::Error>(a)
        });
        let mut got = vec![0u8; data.len()];
        b.read_exact(&mut got).await.unwrap();
        assert_bytes_eq(&got, &data, "through the duplex");
        let _a = writer.await.unwrap().unwrap();
    });
}

fn duplex_write_takes_only_what_fits(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = runtime::io::duplex(10);
        assert_eq!(a.write(&[7u8; 25]).await.unwrap(), 10);
        let mut buf = [0u8; 64];
        assert_eq!(b.read(&mut buf).await.unwrap(), 10);
        assert_eq!(&buf[..10], &[7u8; 10]);
    });
}

fn duplex_close_gives_eof_after_the_data(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = runtime::io::duplex(64);
        a.write_all(b"last words").await.unwrap();
        a.close().await.unwrap();
        let err = a.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let mut text = String::new();
        b.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "last words");
        // The other direction is still open.
        b.write_all(b"reply").await.unwrap();
        let mut buf = [0u8; 5];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"reply");
    });
}

fn duplex_drop_wakes_a_blocked_writer_with_broken_pipe(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, b) = runtime::io::duplex(4);
        let writer = runtime::spawn(async move { a.write_all(&[1u8; 1000]).await });
        runtime::task::yield_now().await;
        drop(b);
        let err = writer.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    });
}

fn duplex_drop_lets_the_peer_read_the_rest_then_eof(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = runtime::io::duplex(64);
        a.write_all(b"kept").await.unwrap();
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"kept");
    });
}

#[test]
#[should_panic(expected = "max_buf_size must be non-zero")]
fn duplex_of_zero_panics() {
    let _ = runtime::io::duplex(0);
}

/// `io::split` halves used from two tasks at once, then put back together.
fn split_halves_work_in_two_tasks_and_unsplit(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        let (mut rd, mut wr) = runtime::io::split(server);
        let data = pattern(1 << 20, 2);
        let d2 = data.clone();
        let echo_back = runtime::spawn(async move {
            let mut got = vec![0u8; d2.len()];
            rd.read_exact(&mut got).await?;
            Ok::<_, io::Error>((rd, got))
        });
        let writer = runtime::spawn(async move {
            wr.write_all(b"from the server").await?;
            Ok::<_, io::Error>(wr)
        });
        let mut c = &client;
        let mut hello = [0u8; 15];
        let (w, r) = join(c.write_all(&data), async {
            let mut c = &client;
            c.read_exact(&mut hello).await
        })
        .await;
        w.unwrap();
        r.unwrap();
        assert_eq!(&hello, b"from the server");
        let (rd, got) = echo_back.await.unwrap().unwrap();
        assert_bytes_eq(&got, &data, "read half");
        let wr = writer.await.unwrap().unwrap();
        assert!(rd.is_pair_of(&wr) && wr.is_pair_of(&rd));
        let server: TcpStream = rd.unsplit(wr);
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    });
}

#[test]
#[should_panic(expected = "write half of another stream")]
fn unsplit_with_a_foreign_half_panics() {
    let (a, _a) = runtime::io::duplex(1);
    let (b, _b) = runtime::io::duplex(1);
    let (rd, _) = runtime::io::split(a);
    let (_, wr) = runtime::io::split(b);
    let (rd2, _wr2) = (rd, wr);
    let _ = rd2.unsplit(_wr2);
}

/// With `AsyncReadExt` in scope, `stream.split()` is the socket's own
/// borrowed split (the type annotations below fail to compile otherwise).
fn stream_split_is_the_inherent_one(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let (mut rd, _wr): (tcp::ReadHalf<'_>, tcp::WriteHalf<'_>) = server.split();
        client.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        rd.read_exact(&mut b).await.unwrap();
        let (mut ua, _ub) = UnixStream::pair().unwrap();
        let (_r, _w): (
            runtime::net::unix::ReadHalf<'_>,
            runtime::net::unix::WriteHalf<'_>,
        ) = ua.split();
    });
}

/// The child side of the stdio test: echoes stdin to stdout in upper
/// case, writes a line to stderr, and flushes.
fn stdio_child() {
    block_on(Flavor::MultiThread, async {
        let mut input = Vec::new();
        runtime::io::stdin().read_to_end(&mut input).await.unwrap();
        let mut out = runtime::io::stdout();
        out.write_all(b"<<").await.unwrap();
        out.write_all(&input.to_ascii_uppercase()).await.unwrap();
        out.write_all(b">>\n").await.unwrap();
        out.flush().await.unwrap();
        let mut err = runtime::io::stderr();
        err.write_all(b"stderr says hi\n").await.unwrap();
        err.flush().await.unwrap();
    });
}

/// stdin, stdout and stderr over pipes in a child process (the test binary
/// run again): 1 MiB in, all of it back, in order.
#[test]
fn stdio_through_pipes() {
    if child_case().as_deref() == Some("stdio") {
        stdio_child();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "stdio_through_pipes",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_CASE_ENV, "stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: Vec<u8> = pattern(1 << 20, 3)
        .into_iter()
        .map(|b| b'a' + b % 26)
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let feed = {
        let input = input.clone();
        std::thread::spawn(move || stdin.write_all(&input))
    };
    let out = child.wait_with_output().unwrap();
    feed.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = out.stdout;
    let start = stdout
        .windows(2)
        .position(|w| w == b"<<")
        .expect("echo start")
        + 2;
    let end = stdout
        .windows(3)
        .rposition(|w| w == b">>\n")
        .expect("echo end");
    assert_bytes_eq(
        &stdout[start..end],
        &input.to_ascii_uppercase(),
        "echoed stdin",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stderr says hi"));
}

/// `simplex`: 100 kB through a 64-byte pipe between two tasks, byte-exact
/// (the writer waits for the reader), then `shutdown` gives EOF after the
/// data and later writes fail; the halves unsplit into the stream.
fn simplex_between_two_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let (mut reader, mut writer) = runtime::io::simplex(64);
        let data = pattern(100_000, 9);
        let d2 = data.clone();
        let producer = runtime::spawn(async move {
            writer.write_all(&d2).await.unwrap();
            writer.shutdown().await.unwrap();
            assert_eq!(
                writer.write(b"x").await.unwrap_err().kind(),
                io::ErrorKind::BrokenPipe
            );
            writer
        });
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        assert_bytes_eq(&got, &data, "through the simplex");
        let writer = producer.await.unwrap();
        let mut whole = reader.unsplit(writer);
        assert_eq!(whole.read(&mut [0u8; 4]).await.unwrap(), 0, "still EOF");

        // One value, written then read; a write to a full pipe takes what
        // fits.
        let mut pipe = runtime::io::SimplexStream::new_unsplit(8);
        assert_eq!(pipe.write(b"0123456789").await.unwrap(), 8);
        let mut buf = [0u8; 16];
        assert_eq!(pipe.read(&mut buf).await.unwrap(), 8);
        assert_eq!(&buf[..8], b"01234567");
    });
}

#[test]
#[should_panic(expected = "max_buf_size must be non-zero")]
fn simplex_of_zero_panics() {
    let _ = runtime::io::simplex(0);
}

flavor_tests!(
    simplex_between_two_tasks,
    duplex_backpressure_and_order,
    duplex_write_takes_only_what_fits,
    duplex_close_gives_eof_after_the_data,
    duplex_drop_wakes_a_blocked_writer_with_broken_pipe,
    duplex_drop_lets_the_peer_read_the_rest_then_eof,
    split_halves_work_in_two_tasks_and_unsplit,
    stream_split_is_the_inherent_one,
);
