//! tokio's escape hatches on real sockets: `try_io`/`async_io` running raw
//! `recv`/`send`/`read` calls against the reactor's readiness (not called
//! when nothing is ready; a `WouldBlock` from the call makes the next wait
//! wait for a new event), the `poll_*_ready` methods of `UnixStream`,
//! `UdpSocket` and `UnixDatagram`, `UnixDatagram::{poll_send,
//! poll_send_to}`, and `UdpSocket::bind_device`, on both schedulers.

use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt, Interest};
use runtime::net::{UdpSocket, UnixDatagram, UnixStream};
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor, TempDir};

/// A raw, non-blocking `recv(2)`: the kind of call `try_io` is for.
fn raw_recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn raw_send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live buffer of `buf.len()` bytes.
    let n = unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

async fn udp_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    (a, b)
}

fn try_io_runs_only_when_ready_and_clears_on_would_block(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = udp_pair().await;
        let mut calls = 0;
        let res = b.try_io(Interest::READABLE, || {
            calls += 1;
            Ok(())
        });
        assert_eq!(res.unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(calls, 0, "nothing readable: the closure is not called");

        a.send(b"one").await.unwrap();
        b.readable().await.unwrap();
        let mut buf = [0u8; 16];
        let n = b
            .try_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf))
            .unwrap();
        assert_eq!(&buf[..n], b"one");
        // The queue is empty now: the raw call says so, and readiness is
        // cleared, so the closure is not even called the time after.
        let err = b
            .try_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let mut called = false;
        let err = b
            .try_io(Interest::READABLE, || {
                called = true;
                raw_recv(b.as_raw_fd(), &mut buf)
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(!called, "readiness was cleared by the WouldBlock");
        // ... and a new datagram makes it ready again.
        a.send(b"two").await.unwrap();
        b.readable().await.unwrap();
        let n = b
            .try_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf))
            .unwrap();
        assert_eq!(&buf[..n], b"two");
    });
}

fn async_io_waits_for_data_sent_later(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = udp_pair().await;
        let b = std::sync::Arc::new(b);
        let receiver = {
            let b = b.clone();
            runtime::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..20 {
                    let mut buf = [0u8; 8];
                    let n = b
                        .async_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf))
                        .await
                        .unwrap();
                    got.push(buf[..n].to_vec());
                }
                got
            })
        };
        for i in 0..20u8 {
            runtime::time::sleep(Duration::from_millis(1)).await;
            a.send(&[i, i]).await.unwrap();
        }
        let got = receiver.await.unwrap();
        assert_eq!(got, (0..20u8).map(|i| vec![i, i]).collect::<Vec<_>>());

        // A dropped wait made no call and loses nothing.
        let mut buf = [0u8; 8];
        let early = runtime::time::timeout(
            Duration::from_millis(20),
            b.async_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf)),
        )
        .await;
        assert!(early.is_err());
        a.send(b"late").await.unwrap();
        let n = b
            .async_io(Interest::READABLE, || raw_recv(b.as_raw_fd(), &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"late");
    });
}

fn tcp_async_io_writes_until_the_buffer_fills(flavor: Flavor) {
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        // Raw sends until the kernel refuses, through async_io: each
        // WouldBlock waits for writability, which only the reader gives.
        let total = 8 * 1024 * 1024;
        let writer = runtime::spawn(async move {
            let chunk = vec![0xa5u8; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let len = chunk.len().min(total - sent);
                sent += client
                    .async_io(Interest::WRITABLE, || {
                        raw_send(client.as_raw_fd(), &chunk[..len])
                    })
                    .await
                    .unwrap();
            }
            assert_eq!(
                client
                    .try_io(Interest::READABLE, || Ok(()))
                    .unwrap_err()
                    .kind(),
                ErrorKind::WouldBlock,
                "the server never wrote"
            );
        });
        let mut got = 0;
        let mut buf = vec![0u8; 100_000];
        while got < total {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0 && buf[..n].iter().all(|&b| b == 0xa5));
            got += n;
        }
        writer.await.unwrap();
        server.write_all(b"done").await.unwrap();
    });
}

fn unix_stream_poll_ready(flavor: Flavor) {
    block_on(flavor, async {
        let (a, mut b) = UnixStream::pair().unwrap();
        poll_fn(|cx| a.poll_write_ready(cx)).await.unwrap();
        assert_eq!(a.try_write(b"ping").unwrap(), 4);
        poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        // Nothing more to read: the poll stays pending until data comes.
        let pending = runtime::time::timeout(
            Duration::from_millis(20),
            poll_fn(|cx| {
                let _ = b.try_read(&mut [0u8; 1]);
                b.poll_read_ready(cx)
            }),
        )
        .await;
        assert!(pending.is_err());
        assert_eq!(
            a.try_io(Interest::WRITABLE, || raw_send(a.as_raw_fd(), b"raw"))
                .unwrap(),
            3
        );
        poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
        let mut buf = [0u8; 3];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"raw");
    });
}

fn datagram_poll_methods(flavor: Flavor) {
    let dir = TempDir::new("dgram-poll");
    block_on(flavor, async {
        let server_path = dir.join("server");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(dir.join("client")).unwrap();
        poll_fn(|cx| client.poll_send_ready(cx)).await.unwrap();
        let n = poll_fn(|cx| client.poll_send_to(cx, b"to a path", &server_path))
            .await
            .unwrap();
        assert_eq!(n, 9);
        poll_fn(|cx| server.poll_recv_ready(cx)).await.unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = server.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to a path");
        assert_eq!(from.as_pathname(), Some(dir.join("client").as_path()));

        client.connect(&server_path).unwrap();
        let n = poll_fn(|cx| client.poll_send(cx, b"connected"))
            .await
            .unwrap();
        assert_eq!(n, 9);
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");

        // An impossible path is an error from the poll, not a panic.
        let long = dir.join(&"x".repeat(200));
        let err = poll_fn(|cx| client.poll_send_to(cx, b"x", &long))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

        // UDP has the same pair of polls.
        let (a, b) = udp_pair().await;
        poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
        a.try_send(b"udp").unwrap();
        poll_fn(|cx| b.poll_recv_ready(cx)).await.unwrap();
        let n = b.try_recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"udp");
    });
}

fn pipe_try_io_with_a_raw_read(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, rx) = runtime::net::unix::pipe::pipe().unwrap();
        tx.write_all(b"through read(2)").await.unwrap();
        let mut buf = [0u8; 64];
        let n = rx
            .async_io(Interest::READABLE, || {
                // SAFETY: `buf` is a live, writable buffer of its length.
                let n = unsafe { libc::read(rx.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            })
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"through read(2)");
    });
}

/// `SO_BINDTODEVICE` on a UDP socket: set to loopback, read back,
/// datagrams still flow over 127.0.0.1; an unknown interface is an error.
#[cfg(target_os = "linux")]
fn udp_bind_device_to_loopback(flavor: Flavor) {
    block_on(flavor, async {
        let (a, b) = udp_pair().await;
        assert_eq!(a.device().unwrap(), None);
        match a.bind_device(Some(b"lo")) {
            Ok(()) => {}
            // Unprivileged on an old kernel: nothing more to check here.
            Err(e) if e.kind() == ErrorKind::PermissionDenied => return,
            Err(e) => panic!("bind_device(lo): {e}"),
        }
        assert_eq!(a.device().unwrap().as_deref(), Some(&b"lo"[..]));
        a.send(b"over lo").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"over lo");
        assert!(b.bind_device(Some(b"no-such-if0")).is_err());
        a.bind_device(None).unwrap();
        assert_eq!(a.device().unwrap(), None);
    });
}

flavor_tests!(
    try_io_runs_only_when_ready_and_clears_on_would_block,
    async_io_waits_for_data_sent_later,
    tcp_async_io_writes_until_the_buffer_fills,
    unix_stream_poll_ready,
    datagram_poll_methods,
    pipe_try_io_with_a_raw_read,
);
#[cfg(target_os = "linux")]
flavor_tests!(udp_bind_device_to_loopback);
