//! Writing to a peer that is gone is an `io::Error` (`BrokenPipe` or
//! `ConnectionReset`), never a `SIGPIPE` that kills the process.
//!
//! Rust binaries ignore `SIGPIPE` by default, which would hide a `send`
//! without `MSG_NOSIGNAL`; so every test here first restores the default
//! action (terminate), and this file is its own test binary, so that the
//! changed disposition touches no other test. If a write raised the signal,
//! the whole binary would die and the run would fail.

use std::io::{self, ErrorKind};
use std::os::fd::AsRawFd;

use runtime::io::AsyncWriteExt;
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{block_on, flavor_tests, restore_default_sigpipe, set_linger_zero, Flavor};

/// Writes until a write fails (at most 10,000 writes of 64 KiB, far more
/// than the socket buffers hold) and returns the error.
async fn write_until_error(mut s: &TcpStream) -> io::Error {
    let buf = vec![0x5au8; 64 * 1024];
    for _ in 0..10_000 {
        if let Err(e) = s.write(&buf).await {
            return e;
        }
    }
    panic!("10,000 writes to a dead peer all succeeded");
}

/// Like [`write_until_error`], with `try_write` (waiting with `writable`).
async fn try_write_until_error(s: &TcpStream) -> io::Error {
    let buf = vec![0x5au8; 64 * 1024];
    for _ in 0..10_000 {
        match s.try_write(&buf) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => s.writable().await.unwrap(),
            Err(e) => return e,
        }
    }
    panic!("10,000 try_writes to a dead peer all succeeded");
}

#[track_caller]
fn assert_dead_peer_error(e: &io::Error) {
    assert!(
        matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "expected BrokenPipe or ConnectionReset, got {:?}: {e}",
        e.kind()
    );
}

/// A `runtime` client connected to a standard-library peer that has been
/// reset (`SO_LINGER {on, 0}`, then closed).
async fn client_with_reset_peer() -> TcpStream {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    // The handshake is done, so this accept returns at once.
    let (peer, _) = listener.accept().unwrap();
    set_linger_zero(&peer).unwrap();
    drop(peer);
    client
}

fn write_to_reset_peer_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let client = client_with_reset_peer().await;
        assert_dead_peer_error(&write_until_error(&client).await);
    });
}

fn try_write_to_reset_peer_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let client = client_with_reset_peer().await;
        assert_dead_peer_error(&try_write_until_error(&client).await);
    });
}

/// The accepted side of a `runtime` listener writes to a reset client.
fn accepted_stream_write_to_reset_peer_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        set_linger_zero(&peer).unwrap();
        drop(peer);
        assert_dead_peer_error(&write_until_error(&server).await);
    });
}

/// A stream made with `TcpStream::from_std` writes to a reset peer.
fn from_std_stream_write_to_reset_peer_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let client = TcpStream::from_std(std_client).unwrap();
        let (peer, _) = listener.accept().unwrap();
        set_linger_zero(&peer).unwrap();
        drop(peer);
        assert_dead_peer_error(&write_until_error(&client).await);
    });
}

/// The peer closes normally (FIN, no linger): the first write may still be
/// accepted (the peer answers it with a reset), the next ones must fail.
fn write_after_peer_closed_normally_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (peer, _) = listener.accept().unwrap();
        drop(peer);
        assert_dead_peer_error(&write_until_error(&client).await);
    });
}

/// `copy_bidirectional` between two of our sockets, with the default
/// `SIGPIPE` action: a splice into a socket could raise the signal, so the
/// copy takes the buffered path (nothing is spliced) and a reset upstream
/// is an error, not a dead process.
fn copy_bidirectional_to_reset_peer_is_an_error_not_sigpipe(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let (client, mut front) = runtime_tests::connected_pair().await.unwrap();
        let (mut back, upstream) = runtime_tests::connected_pair().await.unwrap();
        let before = runtime_net::spliced_bytes();
        let proxy =
            runtime::spawn(
                async move { runtime::io::copy_bidirectional(&mut front, &mut back).await },
            );
        set_linger_zero(&upstream).unwrap();
        drop(upstream);
        let sender = runtime::spawn(async move {
            let chunk = vec![0x5au8; 64 * 1024];
            let mut s = &client;
            for _ in 0..10_000 {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            panic!("10,000 writes into a proxy to a dead peer all succeeded");
        });
        let err = proxy.await.unwrap().expect_err("the copy must fail");
        assert_dead_peer_error(&err);
        sender.await.unwrap();
        assert_eq!(
            runtime_net::spliced_bytes(),
            before,
            "nothing may be spliced"
        );
    });
}

/// The check itself works: with the default action restored, a `send`
/// without `MSG_NOSIGNAL` to a reset peer does kill a process. Run in a
/// forked child so only the child dies.
#[test]
fn sigpipe_default_action_is_restored_and_kills_a_plain_send() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    set_linger_zero(&peer).unwrap();
    drop(peer);
    let fd = client.as_raw_fd();
    // SAFETY: the child only calls async-signal-safe functions (`signal`,
    // `send`, `_exit`) before it exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", io::Error::last_os_error());
    if pid == 0 {
        let buf = [0u8; 1024];
        // SAFETY: async-signal-safe calls on an fd inherited from the
        // parent and a live stack buffer; `_exit` never returns.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for _ in 0..1000 {
                libc::send(fd, buf.as_ptr().cast(), buf.len(), 0);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid: {}", io::Error::last_os_error());
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGPIPE,
        "a plain send to a reset peer did not raise SIGPIPE (status {status:#x}): the \
         other tests here would not notice a missing MSG_NOSIGNAL"
    );
    drop(client);
}

flavor_tests!(
    write_to_reset_peer_is_an_error_not_sigpipe,
    try_write_to_reset_peer_is_an_error_not_sigpipe,
    accepted_stream_write_to_reset_peer_is_an_error_not_sigpipe,
    from_std_stream_write_to_reset_peer_is_an_error_not_sigpipe,
    write_after_peer_closed_normally_is_an_error_not_sigpipe,
    copy_bidirectional_to_reset_peer_is_an_error_not_sigpipe,
);
