//! UDP as a user sees it: round trips with and without `connect`, one
//! datagram per receive (never split, never merged), truncation to the
//! buffer, empty datagrams, `peek_from`, `try_*`, readiness, socket options.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};

use runtime::io::Interest;
use runtime::net::UdpSocket;
use runtime_tests::{block_on, flavor_tests, pattern, Flavor};

async fn pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    (a, b)
}

fn send_to_and_recv_from_round_trip_with_sender_address(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
        b.send_to(b"pong", from).await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], b_addr));
    });
}

fn connected_sockets_send_and_recv(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..100u32 {
            a.send(&i.to_le_bytes()).await.unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(b.recv(&mut buf).await.unwrap(), 4);
            assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
        }
        let unconnected = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = unconnected.send(b"x").await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotConnected | ErrorKind::InvalidInput
            ) || err.raw_os_error() == Some(libc::EDESTADDRREQ),
            "send without a peer: {err}"
        );
    });
}

/// Datagrams of different sizes, sent back to back, come out one per
/// receive with their exact sizes: never merged, never split.
fn datagrams_are_never_merged_or_split(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        let b_addr = b.local_addr().unwrap();
        let sizes = [1usize, 1000, 7, 8192, 0, 60_000, 3];
        let payloads: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| pattern(n, i as u64))
            .collect();
        for p in &payloads {
            assert_eq!(a.send_to(p, b_addr).await.unwrap(), p.len());
        }
        let mut buf = vec![0u8; 65_536];
        for p in &payloads {
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(n, p.len(), "one datagram per receive, whole");
            assert_eq!(&buf[..n], &p[..]);
        }
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

/// A datagram longer than the buffer is cut to the buffer's length and its
/// rest discarded; the next receive gets the next datagram.
fn a_long_datagram_is_truncated_to_the_buffer(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        a.connect(b.local_addr().unwrap()).await.unwrap();
        let long = pattern(100, 1);
        a.send(&long).await.unwrap();
        a.send(b"next").await.unwrap();
        let mut small = [0u8; 10];
        assert_eq!(b.recv(&mut small).await.unwrap(), 10);
        assert_eq!(&small, &long[..10]);
        let mut buf = [0u8; 100];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next", "the rest of the long one was dropped");
    });
}

/// Oversized sends fail with an error instead of being split.
fn an_oversized_datagram_is_an_error(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        let huge = vec![0u8; 70_000];
        let err = a.send_to(&huge, b.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
    });
}

fn peek_from_leaves_the_datagram_queued(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        a.send_to(b"peekaboo", b.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"peekaboo"[..], a.local_addr().unwrap())
        );
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peekaboo");
    });
}

/// A task parked in `recv_from` is woken by a datagram sent later.
/// `peek`, `peek_sender` and their `try_` and `poll_` forms leave the
/// datagram queued: the receive after them gets it whole, once.
fn peek_and_peek_sender_leave_the_datagram_queued(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        let from = a.local_addr().unwrap();
        b.connect(from).await.unwrap();
        assert_eq!(
            b.try_peek_sender().unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_peek(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.send_to(b"queued", b.local_addr().unwrap()).await.unwrap();
        // Waits for the datagram, then leaves it.
        assert_eq!(b.peek_sender().await.unwrap(), from);
        assert_eq!(b.try_peek_sender().unwrap(), from);
        let n = b.peek(&mut buf[..3]).await.unwrap();
        assert_eq!(&buf[..n], b"que", "a peek truncates to its buffer");
        let n = b.try_peek(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"queued");
        let (n, addr) = b.try_peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], addr), (&b"queued"[..], from));
        let sender = std::future::poll_fn(|cx| b.poll_peek_sender(cx))
            .await
            .unwrap();
        assert_eq!(sender, from);
        let n = std::future::poll_fn(|cx| b.poll_peek(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"queued");
        let (n, addr) = std::future::poll_fn(|cx| b.poll_peek_from(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!((&buf[..n], addr), (&b"queued"[..], from));
        // The datagram is still there, once.
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"queued");
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

fn recv_parks_until_a_datagram_arrives(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        let b_addr = b.local_addr().unwrap();
        let receiver = runtime::spawn(async move {
            let mut buf = [0u8; 16];
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        for _ in 0..3 {
            runtime::task::yield_now().await;
        }
        a.send_to(b"late", b_addr).await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"late");
    });
}

fn try_send_and_try_recv_with_readiness(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = pair().await;
        a.connect(b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(a.ready(Interest::WRITABLE).await.unwrap().is_writable());
        a.writable().await.unwrap();
        assert_eq!(a.try_send(b"now").unwrap(), 3);
        let n = loop {
            b.readable().await.unwrap();
            match b.try_recv_from(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                res => break res.unwrap().0,
            }
        };
        assert_eq!(&buf[..n], b"now");
        assert_eq!(a.try_send_to(b"to", b.local_addr().unwrap()).unwrap(), 2);
    });
}

fn socket_options_round_trip(flavor: Flavor) {
    block_on(flavor, async {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(!s.broadcast().unwrap());
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(9).unwrap();
        assert_eq!(s.ttl().unwrap(), 9);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_loop_v4(true).unwrap();
        assert!(s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 3);
        assert!(s.take_error().unwrap().is_none());
        if let Ok(six) = UdpSocket::bind("[::1]:0").await {
            six.set_multicast_loop_v6(false).unwrap();
            assert!(!six.multicast_loop_v6().unwrap());
            six.set_multicast_loop_v6(true).unwrap();
            assert!(six.multicast_loop_v6().unwrap());
        }
        let std_socket = s.into_std().unwrap();
        let s = UdpSocket::from_std(std_socket).unwrap();
        assert!(s.broadcast().unwrap());
    });
}

/// Joining a multicast group, and a datagram to the group arriving through
/// the loopback of this host's own multicast traffic.
fn join_multicast_v4_and_receive_a_group_datagram(flavor: Flavor) {
    block_on(flavor, async {
        let group = Ipv4Addr::new(239, 255, 77, 77);
        let receiver = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        let port = receiver.local_addr().unwrap().port();
        if let Err(e) = receiver.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED) {
            // No multicast-capable interface (a bare container): the call
            // must at least fail cleanly.
            assert!(
                matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)),
                "join_multicast_v4: {e}"
            );
            return;
        }
        let sender = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        sender.set_multicast_loop_v4(true).unwrap();
        let target = SocketAddr::from((group, port));
        if sender.send_to(b"group", target).await.is_err() {
            return; // no multicast route
        }
        let mut buf = [0u8; 16];
        let (n, _) = receiver.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"group");
        receiver
            .leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED)
            .unwrap();
    });
}

fn ipv6_round_trip(flavor: Flavor) {
    block_on(flavor, async {
        let Ok(a) = UdpSocket::bind("[::1]:0").await else {
            return; // no IPv6
        };
        let b = UdpSocket::bind("[::1]:0").await.unwrap();
        a.send_to(b"six", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"six"[..], a.local_addr().unwrap()));
    });
}

flavor_tests!(
    send_to_and_recv_from_round_trip_with_sender_address,
    connected_sockets_send_and_recv,
    datagrams_are_never_merged_or_split,
    a_long_datagram_is_truncated_to_the_buffer,
    an_oversized_datagram_is_an_error,
    peek_from_leaves_the_datagram_queued,
    peek_and_peek_sender_leave_the_datagram_queued,
    recv_parks_until_a_datagram_arrives,
    try_send_and_try_recv_with_readiness,
    socket_options_round_trip,
    join_multicast_v4_and_receive_a_group_datagram,
    ipv6_round_trip,
);
