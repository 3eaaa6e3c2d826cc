//! A peer that resets the connection (`SO_LINGER {on, 0}`, then close)
//! while we wait: a pending read, a large `write_all` and a large vectored
//! write each end with an error, never a hang and never a `SIGPIPE`.
//!
//! The default `SIGPIPE` action is restored first (Rust ignores the signal
//! by default, which would hide a send without `MSG_NOSIGNAL`); this file
//! is its own test binary so that the change touches no other test.

use std::io::{self, ErrorKind, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{
    block_on, flavor_tests, pattern, restore_default_sigpipe, set_linger_zero, sleep_blocking,
    write_all_vectored, Flavor,
};

/// A `runtime` client and the standard-library peer it is connected to.
async fn client_and_std_peer() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (peer, _) = listener.accept().unwrap();
    (client, peer)
}

fn reset(peer: std::net::TcpStream) {
    set_linger_zero(&peer).unwrap();
    drop(peer);
}

#[track_caller]
fn assert_reset_error(e: &io::Error) {
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
        ),
        "expected a reset error, got {:?}: {e}",
        e.kind()
    );
}

fn reset_during_a_pending_read_is_connection_reset(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let (mut client, peer) = client_and_std_peer().await;
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 1024];
            client.read(&mut buf).await
        });
        sleep_blocking(Duration::from_millis(30)).await; // the read parks
        assert!(!reader.is_finished(), "nothing to read yet");
        reset(peer);
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    });
}

fn reset_during_a_large_write_all_is_an_error_not_a_signal(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let (mut client, peer) = client_and_std_peer().await;
        let writer = runtime::spawn(async move {
            let data = pattern(64 << 20, 7);
            client.write_all(&data).await
        });
        sleep_blocking(Duration::from_millis(50)).await; // the buffers fill up
        assert!(!writer.is_finished(), "64 MiB cannot fit in the buffers");
        reset(peer);
        assert_reset_error(&writer.await.unwrap().unwrap_err());
    });
}

fn reset_during_a_large_vectored_write_is_an_error_not_a_signal(flavor: Flavor) {
    restore_default_sigpipe();
    block_on(flavor, async {
        let (client, peer) = client_and_std_peer().await;
        let client = Arc::new(client);
        let c = client.clone();
        let writer = runtime::spawn(async move {
            let data = pattern(64 << 20, 8);
            let mut slices: Vec<IoSlice<'_>> = data.chunks(16 * 1024).map(IoSlice::new).collect();
            let mut w = &*c;
            write_all_vectored(&mut w, &mut slices).await.map(drop)
        });
        sleep_blocking(Duration::from_millis(50)).await;
        assert!(!writer.is_finished(), "64 MiB cannot fit in the buffers");
        reset(peer);
        assert_reset_error(&writer.await.unwrap().unwrap_err());
        // Later vectored writes keep failing, with an error, not a signal.
        let bufs = [IoSlice::new(b"a"), IoSlice::new(b"b")];
        let err = loop {
            match client.try_write_vectored(&bufs) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => client.writable().await.unwrap(),
                Err(e) => break e,
                Ok(_) => {}
            }
        };
        assert_reset_error(&err);
    });
}

flavor_tests!(
    reset_during_a_pending_read_is_connection_reset,
    reset_during_a_large_write_all_is_an_error_not_a_signal,
    reset_during_a_large_vectored_write_is_an_error_not_a_signal,
);
