//! Making connections: `TcpSocket` options before bind/listen/connect,
//! `TcpListener::bind` on IPv4 and IPv6, `TcpStream::connect` trying every
//! resolved address, and a refused connect that is an error (never `Ok`,
//! never a hang).

use std::io::ErrorKind;
use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime_tests::{block_on, closed_port_addr, connected_pair, flavor_tests, Flavor};

fn socket_options_set_before_listen_and_connect_are_kept(flavor: Flavor) {
    block_on(flavor, async {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        assert!(socket.reuseaddr().unwrap());
        socket.set_reuseport(true).unwrap();
        assert!(socket.reuseport().unwrap());
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let listener = socket.listen(16).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);

        let client = TcpSocket::new_v4().unwrap();
        client.set_nodelay(true).unwrap();
        client.set_send_buffer_size(128 * 1024).unwrap();
        assert!(client.send_buffer_size().unwrap() >= 128 * 1024);
        client.set_linger(Some(Duration::from_secs(3))).unwrap();
        let mut stream = client.connect(addr).await.unwrap();
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY survives connect");
        assert_eq!(stream.linger().unwrap(), Some(Duration::from_secs(3)));

        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, stream.local_addr().unwrap());
        stream.write_all(b"options").await.unwrap();
        let mut buf = [0u8; 7];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"options");
    });
}

/// Two listeners on one port with `SO_REUSEPORT`; without it the second
/// bind fails with `AddrInUse`.
fn reuseport_lets_two_listeners_share_a_port(flavor: Flavor) {
    block_on(flavor, async {
        let first = TcpSocket::new_v4().unwrap();
        first.set_reuseport(true).unwrap();
        first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let _l1 = first.listen(8).unwrap();

        let second = TcpSocket::new_v4().unwrap();
        second.set_reuseport(true).unwrap();
        second.bind(addr).unwrap();
        let _l2 = second.listen(8).unwrap();

        let third = TcpSocket::new_v4().unwrap();
        let err = third.bind(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
}

fn stream_options_round_trip(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        assert_eq!(client.linger().unwrap(), None);
        client.set_linger(Some(Duration::ZERO)).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
        client.set_linger(None).unwrap();
        assert_eq!(client.linger().unwrap(), None);
        assert!(client.take_error().unwrap().is_none());
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
    });
}

fn listener_binds_ipv6_loopback(flavor: Flavor) {
    block_on(flavor, async {
        let listener = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            // A machine without IPv6 cannot run this test.
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => return,
            Err(e) => panic!("binding [::1]:0: {e}"),
        };
        let addr = listener.local_addr().unwrap();
        assert_eq!(addr.ip(), Ipv6Addr::LOCALHOST);
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert!(peer.is_ipv6());
        client.write_all(b"six").await.unwrap();
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"six");
    });
}

fn tcp_socket_v6_binds_and_connects(flavor: Flavor) {
    block_on(flavor, async {
        let Ok(socket) = TcpSocket::new_v6() else {
            return; // no IPv6
        };
        if socket.bind("[::1]:0".parse().unwrap()).is_err() {
            return;
        }
        let addr = socket.local_addr().unwrap();
        let listener = socket.listen(8).unwrap();
        let stream = TcpSocket::new_v6().unwrap().connect(addr).await.unwrap();
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, stream.local_addr().unwrap());
    });
}

/// A refused connect is `ConnectionRefused`, promptly, through both entry
/// points.
fn refused_connect_is_connection_refused(flavor: Flavor) {
    block_on(flavor, async {
        let addr = closed_port_addr();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

/// Many refused connects in a row: each is an error, none hangs, none
/// leaks a registration.
fn many_refused_connects_all_fail(flavor: Flavor) {
    block_on(flavor, async {
        let addr = closed_port_addr();
        for _ in 0..50 {
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        }
    });
}

/// `connect` with several addresses tries them in turn: a closed port
/// first, then the listener.
fn connect_tries_every_address_in_turn(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let addrs: [SocketAddr; 3] = [closed_port_addr(), closed_port_addr(), good];
        let stream = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        let (_server, _) = listener.accept().await.unwrap();

        // With no good address the last error is returned.
        let bad: [SocketAddr; 2] = [closed_port_addr(), closed_port_addr()];
        let err = TcpStream::connect(&bad[..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // Nothing to try at all.
        let none: [SocketAddr; 0] = [];
        let err = TcpStream::connect(&none[..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

/// A host name resolves and connects.
fn connect_resolves_localhost(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stream = TcpStream::connect(("localhost", port)).await.unwrap();
        assert!(stream.peer_addr().unwrap().ip().is_loopback());
    });
}

/// `from_std`/`into_std` hand a listener over in both directions, and
/// `poll_accept` accepts like `accept`.
fn listener_from_std_into_std_and_poll_accept(flavor: Flavor) {
    block_on(flavor, async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (stream, _) = std::future::poll_fn(|cx| listener.poll_accept(cx))
            .await
            .unwrap();
        drop(stream);
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
        // And back again.
        let listener = TcpListener::from_std(std_listener).unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        listener.accept().await.unwrap();
    });
}

flavor_tests!(
    socket_options_set_before_listen_and_connect_are_kept,
    reuseport_lets_two_listeners_share_a_port,
    stream_options_round_trip,
    listener_binds_ipv6_loopback,
    tcp_socket_v6_binds_and_connects,
    refused_connect_is_connection_refused,
    many_refused_connects_all_fail,
    connect_tries_every_address_in_turn,
    connect_resolves_localhost,
    listener_from_std_into_std_and_poll_accept,
);
