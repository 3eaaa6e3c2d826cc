//! Every socket type hands out its fd through `AsRawFd` and `AsFd`, and
//! both name the very socket: a duplicate made from the borrowed fd is the
//! same socket to the kernel (same local address, same peer).

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use runtime::net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use runtime_tests::{block_on, Flavor, TempDir};

/// Checks that `s`'s two fd views agree and returns a duplicate of its fd.
fn dup_of<S: AsFd + AsRawFd>(s: &S) -> OwnedFd {
    let borrowed = s.as_fd();
    assert_eq!(
        borrowed.as_raw_fd(),
        s.as_raw_fd(),
        "AsFd and AsRawFd disagree"
    );
    borrowed.try_clone_to_owned().expect("dup")
}

#[test]
fn the_fd_of_every_socket_type_is_that_socket() {
    block_on(Flavor::CurrentThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let std_listener = std::net::TcpListener::from(dup_of(&listener));
        assert_eq!(std_listener.local_addr().unwrap(), addr);

        let stream = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let std_stream = std::net::TcpStream::from(dup_of(&stream));
        assert_eq!(
            std_stream.local_addr().unwrap(),
            stream.local_addr().unwrap()
        );
        assert_eq!(std_stream.peer_addr().unwrap(), addr);
        let std_accepted = std::net::TcpStream::from(dup_of(&accepted));
        assert_eq!(
            std_accepted.peer_addr().unwrap(),
            stream.local_addr().unwrap()
        );

        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind("127.0.0.1:0".parse::<SocketAddr>().unwrap())
            .unwrap();
        let std_socket = std::net::TcpListener::from(dup_of(&socket));
        assert_eq!(
            std_socket.local_addr().unwrap(),
            socket.local_addr().unwrap()
        );

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let std_udp = std::net::UdpSocket::from(dup_of(&udp));
        assert_eq!(std_udp.local_addr().unwrap(), udp.local_addr().unwrap());

        let dir = TempDir::new("fd-traits");
        let path = dir.path().join("dgram.sock");
        let dgram = UnixDatagram::bind(&path).unwrap();
        let std_dgram = std::os::unix::net::UnixDatagram::from(dup_of(&dgram));
        assert_eq!(
            std_dgram.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );

        let (a, b) = UnixStream::pair().unwrap();
        let std_a = std::os::unix::net::UnixStream::from(dup_of(&a));
        // A byte written through the duplicate arrives at the other end.
        std::io::Write::write_all(&mut &std_a, b"x").unwrap();
        let mut byte = [0u8; 1];
        runtime::io::AsyncReadExt::read_exact(&mut &b, &mut byte)
            .await
            .unwrap();
        assert_eq!(&byte, b"x");
    });
}
