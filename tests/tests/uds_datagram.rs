//! Unix-domain datagrams: round trips between bound sockets with the
//! sender's address, `pair`, unbound senders, truncation, abstract
//! addresses, and no socket files left behind.

use std::io::ErrorKind;

use runtime::net::UnixDatagram;
use runtime_tests::{block_on, flavor_tests, pattern, Flavor, TempDir};

fn bound_sockets_round_trip_with_sender_path_and_files_are_removed(flavor: Flavor) {
    let dir = TempDir::new("uds-dgram");
    let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
    block_on(flavor, async {
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(&*pa));
        assert_eq!(a.send_to(b"hello", &pb).await.unwrap(), 5);
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.as_pathname(), Some(&*pa));
        b.send_to_addr(b"back", &from).await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"back");
    });
    for p in [&pa, &pb] {
        std::fs::remove_file(p).unwrap();
        assert!(!p.exists());
    }
}

/// Datagrams keep their boundaries, big and empty ones included, and a
/// long one is truncated to the buffer.
fn pair_keeps_datagram_boundaries_and_truncates(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let payloads = [
            pattern(1, 1),
            pattern(0, 2),
            pattern(50_000, 3),
            pattern(9, 4),
        ];
        for p in &payloads {
            assert_eq!(a.send(p).await.unwrap(), p.len());
        }
        let mut buf = vec![0u8; 65_536];
        for p in &payloads {
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &p[..], "one datagram per receive");
        }
        a.send(&pattern(100, 5)).await.unwrap();
        a.send(b"next").await.unwrap();
        let mut small = [0u8; 10];
        assert_eq!(b.recv(&mut small).await.unwrap(), 10);
        assert_eq!(&small[..], &pattern(100, 5)[..10]);
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next");
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

/// A full peer queue parks the sender, and draining it wakes the sender.
fn a_full_queue_parks_the_sender_until_the_peer_drains(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut sent = 0usize;
        let chunk = [7u8; 1024];
        a.writable().await.unwrap();
        loop {
            match a.try_send(&chunk) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("try_send: {e}"),
            }
        }
        assert!(sent > 0);
        let sender = runtime::spawn(async move {
            a.send(b"after the wait").await.unwrap();
            a
        });
        let mut buf = [0u8; 2048];
        for _ in 0..sent {
            assert_eq!(b.recv(&mut buf).await.unwrap(), 1024);
        }
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"after the wait");
        drop(sender.await.unwrap());
    });
}

fn unbound_sender_is_unnamed_and_connect_sets_the_peer(flavor: Flavor) {
    let dir = TempDir::new("uds-unbound");
    let path = dir.join("server.sock");
    block_on(flavor, async {
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.send_to(b"anon", &path).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"anon");
        assert!(from.is_unnamed(), "{from:?}");
        client.connect(&path).unwrap();
        assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(&*path));
        client.send(b"connected").await.unwrap();
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");
        assert_eq!(
            client
                .try_send_to(b"x", dir.join("nobody.sock"))
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_datagram_round_trip(flavor: Flavor) {
    use runtime::net::unix::SocketAddr;
    block_on(flavor, async {
        let name = format!("runtime-dgram-{}-{flavor:?}", std::process::id());
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect_addr(&addr).unwrap();
        client.send(b"abstract").await.unwrap();
        let mut buf = [0u8; 16];
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"abstract");
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
flavor_tests!(abstract_datagram_round_trip);

flavor_tests!(
    bound_sockets_round_trip_with_sender_path_and_files_are_removed,
    pair_keeps_datagram_boundaries_and_truncates,
    a_full_queue_parks_the_sender_until_the_peer_drains,
    unbound_sender_is_unnamed_and_connect_sets_the_peer,
);
