//! Unix-domain streams: round trips over a pathname and (on Linux) an
//! abstract address, `pair`, peer credentials, half-close, and no socket
//! file left behind.

use std::io::ErrorKind;
use std::net::Shutdown;

use runtime::io::{AsyncReadExt, AsyncWriteExt, Interest};
use runtime::net::{UnixListener, UnixStream};
use runtime_tests::{assert_bytes_eq, block_on, flavor_tests, pattern, Flavor, TempDir};

/// Echoes one connection of `listener` until EOF.
fn spawn_echo(listener: UnixListener) -> runtime::JoinHandle<()> {
    runtime::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = (&stream, &stream);
        runtime::io::copy(&mut r, &mut w).await.unwrap();
        stream.shutdown_std(Shutdown::Write).unwrap();
    })
}

fn pathname_round_trip_and_the_socket_file_is_removed(flavor: Flavor) {
    let dir = TempDir::new("uds-stream");
    let path = dir.join("echo.sock");
    block_on(flavor, async {
        let listener = UnixListener::bind(&path).unwrap();
        assert!(path.exists(), "bind creates the socket file");
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
        let echo = spawn_echo(listener);
        let mut client = UnixStream::connect(&path).await.unwrap();
        assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(&*path));
        assert!(client.local_addr().unwrap().is_unnamed());
        let data = pattern(1 << 20, 20);
        let expected = data.clone();
        let (mut r, mut w) = (&client, &client);
        let reader = async move {
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            got
        };
        let writer = async move {
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
        };
        let (got, ()) = futures_util::future::join(reader, writer).await;
        assert_bytes_eq(&got, &expected, "Unix stream echo");
        echo.await.unwrap();
        client.close().await.unwrap();
    });
    // The listener is gone but its file is not (as with std and tokio):
    // whoever binds removes it.
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();
    assert!(!path.exists(), "no socket file left behind");
    drop(dir);
}

/// Binding a path whose file exists (a stale socket) is `AddrInUse`;
/// connecting to a missing one is `NotFound`, to a file nobody listens on
/// `ConnectionRefused`.
fn bind_and_connect_errors(flavor: Flavor) {
    let dir = TempDir::new("uds-errors");
    let path = dir.join("stale.sock");
    block_on(flavor, async {
        drop(UnixListener::bind(&path).unwrap());
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        let err = UnixStream::connect(dir.join("missing.sock"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let long = dir.join(&"x".repeat(200));
        let err = UnixListener::bind(long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address_round_trip_leaves_no_file(flavor: Flavor) {
    use runtime::net::unix::SocketAddr;
    block_on(flavor, async {
        let name = format!("runtime-test-{}-{flavor:?}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
        let echo = spawn_echo(listener);
        let mut client = UnixStream::connect_addr(&addr).await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        client.close().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"abstract");
        echo.await.unwrap();
        // The NUL-prefixed path form names the same address.
        let path = format!("\0{name}-path");
        let listener = UnixListener::bind(&path).unwrap();
        let _client = UnixStream::connect(&path).await.unwrap();
        let (_server, _) = listener.accept().await.unwrap();
        assert!(!std::path::Path::new(&name).exists());
    });
}

fn pair_round_trip_and_peer_credentials(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"pair").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");
        let cred = b.peer_cred().unwrap();
        // SAFETY: getuid/getgid/getpid have no preconditions.
        let (uid, gid, pid) = unsafe { (libc::getuid(), libc::getgid(), libc::getpid()) };
        assert_eq!(cred.uid(), uid);
        assert_eq!(cred.gid(), gid);
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            assert_eq!(cred.pid(), Some(pid));
        }
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(b.peer_addr().unwrap().is_unnamed());
    });
}

/// Half-close on a Unix stream: the peer reads all, then EOF repeatedly,
/// and can still write back.
fn half_close_then_reply(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"question").await.unwrap();
        a.shutdown_std(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"question");
        assert_eq!(b.read(&mut [0u8; 8]).await.unwrap(), 0);
        assert_eq!(b.read(&mut [0u8; 8]).await.unwrap(), 0);
        b.write_all(b"answer").await.unwrap();
        let mut buf = [0u8; 6];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"answer");
    });
}

fn try_io_readiness_and_peek(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(
            b.try_read(&mut [0u8; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(a.ready(Interest::WRITABLE).await.unwrap().is_writable());
        a.writable().await.unwrap();
        let bufs = [std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")];
        assert_eq!(a.try_write_vectored(&bufs).unwrap(), 4);
        let mut buf = [0u8; 4];
        assert_eq!(b.peek(&mut buf).await.unwrap(), 4);
        b.readable().await.unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        // Into std and back.
        let std_a = a.into_std().unwrap();
        let a = UnixStream::from_std(std_a).unwrap();
        a.writable().await.unwrap(); // the new registration's first event
        assert_eq!(a.try_write(b"x").unwrap(), 1);
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
flavor_tests!(abstract_address_round_trip_leaves_no_file);

flavor_tests!(
    pathname_round_trip_and_the_socket_file_is_removed,
    bind_and_connect_errors,
    pair_round_trip_and_peer_credentials,
    half_close_then_reply,
    try_io_readiness_and_peek,
);
