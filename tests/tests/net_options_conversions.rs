//! `TcpSocket` keep-alive, type of service and bound device, checked on the
//! kernel's side (`getsockopt` on the fd, or the connection that results),
//! and `TryFrom` the standard library's sockets.

use std::os::fd::AsRawFd;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{
    TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use runtime_tests::{block_on, flavor_tests, Flavor, TempDir};

fn raw_int_option(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is open for the call; `v` and `len` are live and sized.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt: {}", std::io::Error::last_os_error());
    v
}

fn keepalive_and_tos_reach_the_kernel_and_survive_connect(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        assert!(!socket.keepalive().unwrap());
        socket.set_keepalive(true).unwrap();
        assert!(socket.keepalive().unwrap());
        socket.set_tos(0x10).unwrap();
        assert_eq!(socket.tos().unwrap(), 0x10);
        assert!(socket.set_tos(u32::MAX).is_err());
        let mut stream = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(
            raw_int_option(&stream, libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            1
        );
        assert_eq!(
            raw_int_option(&stream, libc::IPPROTO_IP, libc::IP_TOS),
            0x10
        );
        let (mut server, _) = listener.accept().await.unwrap();
        stream.write_all(b"ok").await.unwrap();
        let mut b = [0u8; 2];
        server.read_exact(&mut b).await.unwrap();
        socket_off_again();
    });
}

fn socket_off_again() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_keepalive(true).unwrap();
    socket.set_keepalive(false).unwrap();
    assert_eq!(
        raw_int_option(&socket, libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        0
    );
}

/// `SO_BINDTODEVICE` to the loopback interface: set, read back, and a
/// connection over loopback still works; an unknown device is an error.
#[cfg(target_os = "linux")]
fn bind_device_to_loopback(flavor: Flavor) {
    block_on(flavor, async {
        let socket = TcpSocket::new_v4().unwrap();
        assert_eq!(socket.device().unwrap(), None);
        match socket.bind_device(Some(b"lo")) {
            Ok(()) => {}
            // Unprivileged on an old kernel: nothing more to check here.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return,
            Err(e) => panic!("bind_device(lo): {e}"),
        }
        assert_eq!(socket.device().unwrap().as_deref(), Some(&b"lo"[..]));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _stream = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let other = TcpSocket::new_v4().unwrap();
        assert!(other.bind_device(Some(b"no-such-if0")).is_err());
        other.bind_device(Some(b"lo")).unwrap();
        other.bind_device(None).unwrap();
        assert_eq!(other.device().unwrap(), None);
    });
}

fn try_from_std_sockets(flavor: Flavor) {
    block_on(flavor, async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::try_from(std_listener).unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let mut client = TcpStream::try_from(std_client).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"tcp").await.unwrap();
        let mut b = [0u8; 3];
        server.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"tcp");

        let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::try_from(std_udp).unwrap();
        udp.send_to(b"udp", udp.local_addr().unwrap())
            .await
            .unwrap();
        let (n, _) = udp.recv_from(&mut b).await.unwrap();
        assert_eq!(&b[..n], b"udp");

        let dir = TempDir::new("try-from");
        let path = dir.join("sock");
        let ul =
            UnixListener::try_from(std::os::unix::net::UnixListener::bind(&path).unwrap()).unwrap();
        let mut uc =
            UnixStream::try_from(std::os::unix::net::UnixStream::connect(&path).unwrap()).unwrap();
        let (mut us, _) = ul.accept().await.unwrap();
        uc.write_all(b"uds").await.unwrap();
        us.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"uds");

        let (da, db) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let (da, db) = (
            UnixDatagram::try_from(da).unwrap(),
            UnixDatagram::try_from(db).unwrap(),
        );
        da.send(b"dgm").await.unwrap();
        let n = db.recv(&mut b).await.unwrap();
        assert_eq!(&b[..n], b"dgm");
    });
}

/// `UdpSocket::set_tos` reaches the kernel; `TcpStream::set_zero_linger`
/// makes the close a reset the peer reads as `ConnectionReset`;
/// `set_quickack` reads back (Linux).
fn udp_tos_tcp_zero_linger_and_quickack(flavor: Flavor) {
    block_on(flavor, async {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.set_tos(0x10).unwrap();
        assert_eq!(udp.tos().unwrap(), 0x10);
        assert_eq!(raw_int_option(&udp, libc::IPPROTO_IP, libc::IP_TOS), 0x10);
        assert!(udp.set_tos(u32::MAX).is_err());

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        #[cfg(target_os = "linux")]
        {
            client.set_quickack(true).unwrap();
            assert!(client.quickack().unwrap());
        }
        client.set_zero_linger().unwrap();
        assert_eq!(client.linger().unwrap(), Some(std::time::Duration::ZERO));
        drop(client);
        let mut buf = [0u8; 8];
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    });
}

flavor_tests!(
    keepalive_and_tos_reach_the_kernel_and_survive_connect,
    try_from_std_sockets,
    udp_tos_tcp_zero_linger_and_quickack,
);
#[cfg(target_os = "linux")]
flavor_tests!(bind_device_to_loopback);
