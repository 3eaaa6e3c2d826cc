//! `runtime::net::UnixSocket` on both schedulers, over real Unix sockets:
//! a listener and a client each bound first (the server sees the client's
//! path), 1 MiB each way byte-exact, the listen backlog taking effect, a
//! datagram socket from an unbound one, abstract names (Linux), and the
//! errors: the wrong kind of socket for the call (also through
//! `from_raw_fd`), a path in use, nothing at the path.

use std::io::ErrorKind;
use std::os::fd::{FromRawFd, IntoRawFd};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{UnixSocket, UnixStream};
use runtime_tests::{block_on, flavor_tests, Flavor, TempDir};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn bound_listener_and_client_carry_a_mebibyte_each_way(flavor: Flavor) {
    block_on(flavor, async {
        let dir = TempDir::new("unix-socket-stream");
        let (server_path, client_path) = (dir.path().join("server"), dir.path().join("client"));
        let socket = UnixSocket::new_stream().unwrap();
        socket.bind(&server_path).unwrap();
        assert_eq!(
            socket.local_addr().unwrap().as_pathname(),
            Some(server_path.as_path())
        );
        let listener = socket.listen(16).unwrap();

        let client = UnixSocket::new_stream().unwrap();
        client.bind(&client_path).unwrap();
        let mut client = client.connect(&server_path).await.unwrap();
        let (mut served, peer) = listener.accept().await.unwrap();
        assert_eq!(peer.as_pathname(), Some(client_path.as_path()));
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(server_path.as_path())
        );

        let up = pattern(1 << 20, 7);
        let down = pattern(1 << 20, 91);
        let (up2, down2) = (up.clone(), down.clone());
        let server = runtime::spawn(async move {
            let mut got = vec![0; up2.len()];
            served.read_exact(&mut got).await.unwrap();
            assert!(got == up2, "the server read what the client wrote");
            served.write_all(&down2).await.unwrap();
            served.shutdown().await.unwrap();
        });
        client.write_all(&up).await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert!(got == down, "the client read what the server wrote");
        server.await.unwrap();
    });
}

/// Linux queues up to `backlog + 1` connections a listener has not
/// accepted; the next non-blocking connect is refused with `WouldBlock`.
#[cfg(target_os = "linux")]
fn the_listen_backlog_takes_effect(flavor: Flavor) {
    block_on(flavor, async {
        let dir = TempDir::new("unix-socket-backlog");
        let path = dir.path().join("server");
        let socket = UnixSocket::new_stream().unwrap();
        socket.bind(&path).unwrap();
        let listener = socket.listen(2).unwrap();
        let mut queued = Vec::new();
        let refused = loop {
            match UnixSocket::new_stream().unwrap().connect(&path).await {
                Ok(s) => queued.push(s),
                Err(e) => break e,
            }
            assert!(queued.len() <= 8, "a backlog of 2 let 9 connections queue");
        };
        assert_eq!(refused.kind(), ErrorKind::WouldBlock, "{refused}");
        assert!(queued.len() >= 2, "only {} queued", queued.len());
        // Accepting one makes room for one more.
        let _ = listener.accept().await.unwrap();
        queued.push(UnixStream::connect(&path).await.unwrap());
    });
}

fn datagram_sockets_from_bound_and_unbound_ones(flavor: Flavor) {
    block_on(flavor, async {
        let dir = TempDir::new("unix-socket-dgram");
        let path = dir.path().join("receiver");
        let socket = UnixSocket::new_datagram().unwrap();
        socket.bind(&path).unwrap();
        let receiver = socket.datagram().unwrap();
        let sender = UnixSocket::new_datagram().unwrap().datagram().unwrap();
        for i in 0..20u8 {
            let msg = pattern(100 + usize::from(i), i);
            assert_eq!(sender.send_to(&msg, &path).await.unwrap(), msg.len());
            let mut buf = [0; 256];
            let (n, from) = receiver.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &msg[..], "datagram {i} intact");
            assert!(from.is_unnamed(), "the sender was never bound");
        }
    });
}

#[cfg(target_os = "linux")]
fn abstract_names_bind_and_connect(flavor: Flavor) {
    block_on(flavor, async {
        let name = format!("\0runtime-unix-socket-{}-{flavor:?}", std::process::id());
        let socket = UnixSocket::new_stream().unwrap();
        socket.bind(&name).unwrap();
        let listener = socket.listen(8).unwrap();
        let mut client = UnixSocket::new_stream()
            .unwrap()
            .connect(&name)
            .await
            .unwrap();
        let (mut served, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0; 8];
        served.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
    });
}

fn the_wrong_kind_of_socket_is_refused(flavor: Flavor) {
    block_on(flavor, async {
        let dir = TempDir::new("unix-socket-kinds");
        let path = dir.path().join("server");
        let e = UnixSocket::new_datagram().unwrap().listen(8).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("datagram"), "{e}");
        let e = UnixSocket::new_datagram()
            .unwrap()
            .connect(&path)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = UnixSocket::new_stream().unwrap().datagram().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("stream"), "{e}");

        // The kind is the kernel's, not remembered: a datagram socket
        // taken in by fd is refused as well.
        let fd = UnixSocket::new_datagram().unwrap().into_raw_fd();
        // SAFETY: `fd` is an open, non-blocking Unix socket nobody owns.
        let socket = unsafe { UnixSocket::from_raw_fd(fd) };
        let e = socket.listen(8).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

fn a_path_in_use_and_a_missing_one_are_errors(flavor: Flavor) {
    block_on(flavor, async {
        let dir = TempDir::new("unix-socket-errors");
        let path = dir.path().join("server");
        let socket = UnixSocket::new_stream().unwrap();
        socket.bind(&path).unwrap();
        let _listener = socket.listen(8).unwrap();
        let e = UnixSocket::new_stream().unwrap().bind(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        let e = UnixSocket::new_stream()
            .unwrap()
            .connect(dir.path().join("nobody"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let long = dir.path().join("x".repeat(200));
        let e = UnixSocket::new_stream().unwrap().bind(long).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

flavor_tests!(
    bound_listener_and_client_carry_a_mebibyte_each_way,
    datagram_sockets_from_bound_and_unbound_ones,
    the_wrong_kind_of_socket_is_refused,
    a_path_in_use_and_a_missing_one_are_errors,
);

#[cfg(target_os = "linux")]
flavor_tests!(
    the_listen_backlog_takes_effect,
    abstract_names_bind_and_connect
);
