//! A peer that resets (`SO_LINGER {on, 0}`, then close: an RST instead of
//! a FIN) while two of our tasks are parked on the same stream, one in
//! `read` and one in a `write` stuck on a full send buffer: both are woken,
//! and neither hangs. The kernel reports the reset (`ECONNRESET`) once, to
//! whichever operation comes first; after that the socket reads EOF and
//! writes fail with `EPIPE`. So the writer always fails, the reader fails
//! or reads EOF, and one of the two sees the reset itself.
//!
//! (A reset during a lone pending read, and a reset during a large write,
//! are in `tcp_reset`; a client that resets before `accept` is in
//! `accept_exhaustion`.)

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{block_on, flavor_tests, note_pending, set_linger_zero, yield_until, Flavor};

/// A runtime client and its standard-library peer.
async fn client_and_std_peer() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    // The handshake is done, so this accept returns at once.
    let (peer, _) = listener.accept().unwrap();
    (client, peer)
}

/// One task parked in `read`, another parked in a `write` that filled the
/// send buffer (the peer reads nothing), both on the same stream. The peer
/// resets: each task is woken and its operation fails.
fn peer_reset_wakes_parked_reader_and_writer_with_errors(flavor: Flavor) {
    block_on(flavor, async {
        let (client, peer) = client_and_std_peer().await;
        let client = Arc::new(client);

        let reader_parked = Arc::new(AtomicBool::new(false));
        let (c, p) = (client.clone(), reader_parked.clone());
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 64];
            note_pending(p, (&*c).read(&mut buf)).await
        });

        let writer_parked = Arc::new(AtomicBool::new(false));
        let (c, p) = (client.clone(), writer_parked.clone());
        let writer = runtime::spawn(async move {
            // Far more than the socket buffers hold: parks once they fill.
            let chunk = vec![0x5au8; 256 * 1024];
            note_pending(p, async {
                let mut w = &*c;
                for _ in 0..4096 {
                    w.write_all(&chunk).await?;
                }
                Ok::<_, std::io::Error>(())
            })
            .await
        });

        // Both must really be parked (their wakers stored) before the RST.
        yield_until(|| {
            reader_parked.load(Ordering::SeqCst) && writer_parked.load(Ordering::SeqCst)
        })
        .await;
        set_linger_zero(&peer).unwrap();
        drop(peer);

        // The reset is reported once (see the module docs).
        let read_res = reader.await.unwrap();
        let write_res = writer.await.unwrap();
        let reader_saw_reset = match &read_res {
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            Ok(0) => false,
            other => panic!("a read parked across a peer reset gave {other:?}"),
        };
        let writer_saw_reset = match &write_res {
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            Err(e) if e.kind() == ErrorKind::BrokenPipe => false,
            other => panic!("a write parked across a peer reset gave {other:?}"),
        };
        assert!(
            reader_saw_reset || writer_saw_reset,
            "nobody was told about the reset: read {read_res:?}, write {write_res:?}"
        );
        // Later operations keep failing (or read EOF), they do not hang.
        let mut buf = [0u8; 8];
        match (&*client).read(&mut buf).await {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!("{n} bytes read from a reset connection"),
        }
    });
}

flavor_tests!(peer_reset_wakes_parked_reader_and_writer_with_errors);
