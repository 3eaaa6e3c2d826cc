//! Many tasks waiting on one direction of one shared socket: every one of
//! them is woken by readiness (the waiter list), as in tokio, for the
//! `async` methods: `readable()`/`writable()`/`ready()`, `accept()` on a
//! shared listener, `recv_from`/`send_to` on a shared datagram socket, and
//! `AsyncFd::readable()`.
//!
//! The `timeout`s below are hang guards that turn a lost wake-up into a
//! clear failure, far above any healthy run; they are not what is checked.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::unix::AsyncFd;
use runtime::io::{AsyncWriteExt, Interest};
use runtime::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use runtime::time::timeout;
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor, TempDir};

/// A hang guard for one phase of a test.
const GUARD: Duration = Duration::from_secs(30);

async fn guarded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match timeout(GUARD, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: still waiting after {GUARD:?}: a wake-up was lost"),
    }
}

/// Waits until `count` reaches `n` (the spawned tasks have started waiting
/// or finished a phase), yielding to them.
async fn until_count(count: &AtomicUsize, n: usize) {
    for _ in 0..1_000_000 {
        if count.load(Ordering::SeqCst) >= n {
            return;
        }
        runtime::task::yield_now().await;
    }
    panic!(
        "only {} of {n} tasks got there",
        count.load(Ordering::SeqCst)
    );
}

/// 1,000 tasks accept on one `Arc<TcpListener>` while 1,000 clients
/// connect: every connection is accepted, each by one task.
fn thousand_tasks_accept_on_one_listener(flavor: Flavor) {
    const N: usize = 1000;
    block_on(flavor, async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let acceptors: Vec<_> = (0..N)
            .map(|_| {
                let listener = listener.clone();
                let started = started.clone();
                runtime::spawn(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    let (stream, peer) = listener.accept().await.unwrap();
                    (stream, peer)
                })
            })
            .collect();
        until_count(&started, N).await;
        let mut clients = Vec::with_capacity(N);
        for _ in 0..N {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut peers = Vec::with_capacity(N);
        for a in acceptors {
            let (stream, peer) = guarded("an acceptor", a).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), peer);
            peers.push(peer);
        }
        let mut locals: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals, "each client accepted exactly once");
    });
}

/// A pool of acceptor tasks, each accepting in a loop on one `Arc`'d
/// Unix listener: every connection is served.
fn acceptor_pool_on_one_unix_listener_serves_every_connection(flavor: Flavor) {
    const TASKS: usize = 8;
    const CONNS: usize = 200;
    block_on(flavor, async {
        let dir = TempDir::new("shared-accept");
        let path = dir.join("sock");
        let listener = Arc::new(UnixListener::bind(&path).unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let pool: Vec<_> = (0..TASKS)
            .map(|_| {
                let listener = listener.clone();
                let served = served.clone();
                runtime::spawn(async move {
                    while served.load(Ordering::SeqCst) < CONNS {
                        let accept = timeout(Duration::from_millis(50), listener.accept()).await;
                        if let Ok(res) = accept {
                            let (mut s, _) = res.unwrap();
                            s.write_all(b"x").await.unwrap();
                            served.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for _ in 0..CONNS {
            let mut c = UnixStream::connect(&path).await.unwrap();
            let mut b = [0u8; 1];
            guarded(
                "a pooled accept",
                runtime::io::AsyncReadExt::read_exact(&mut c, &mut b),
            )
            .await
            .unwrap();
        }
        for t in pool {
            guarded("the pool", t).await.unwrap();
        }
        assert_eq!(served.load(Ordering::SeqCst), CONNS);
    });
}

/// 1,000 tasks wait in `readable()` on one `Arc<TcpStream>`; one write
/// wakes every one of them.
fn thousand_readers_of_one_stream_all_woken_by_one_write(flavor: Flavor) {
    const N: usize = 1000;
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let client = Arc::new(client);
        let waiting = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let (client, waiting, woken) = (client.clone(), waiting.clone(), woken.clone());
                runtime::spawn(async move {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    client.readable().await.unwrap();
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        until_count(&waiting, N).await;
        // Let every task reach its wait (a task counted itself just before).
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        assert_eq!(woken.load(Ordering::SeqCst), 0, "no data yet");
        server.write_all(b"!").await.unwrap();
        for t in tasks {
            guarded("a reader", t).await.unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), N);
        let mut b = [0u8; 1];
        assert_eq!(client.try_read(&mut b).unwrap(), 1);
    });
}

/// Several tasks wait in `writable()` and `ready(WRITABLE)` on one stream
/// whose send buffer is full; draining the peer wakes all of them.
fn writers_of_one_full_stream_all_woken_when_it_drains(flavor: Flavor) {
    block_on(flavor, async {
        let (client, server) = connected_pair().await.unwrap();
        let client = Arc::new(client);
        let chunk = vec![7u8; 64 * 1024];
        let mut filled = 0usize;
        loop {
            match client.try_write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling the buffer: {e}"),
            }
        }
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let client = client.clone();
                runtime::spawn(async move {
                    if i % 2 == 0 {
                        client.writable().await.unwrap();
                    } else {
                        let r = client.ready(Interest::WRITABLE).await.unwrap();
                        assert!(r.is_writable());
                    }
                })
            })
            .collect();
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        // Drain what was written, from another thread, so the writers wake.
        let mut server = server.into_std().unwrap();
        server.set_nonblocking(false).unwrap();
        let drain = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            while got < filled {
                got += server.read(&mut buf).unwrap();
            }
            server
        });
        for t in tasks {
            guarded("a writer", t).await.unwrap();
        }
        drain.join().unwrap();
    });
}

/// Two tasks in `recv_from` on one `Arc<UdpSocket>`: both get datagrams.
fn two_tasks_receive_on_one_udp_socket(flavor: Flavor) {
    block_on(flavor, async {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let waiting = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (socket, waiting) = (socket.clone(), waiting.clone());
                runtime::spawn(async move {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 16];
                    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            })
            .collect();
        until_count(&waiting, 2).await;
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.send_to(b"one", addr).await.unwrap();
        sender.send_to(b"two", addr).await.unwrap();
        let mut got = Vec::new();
        for t in tasks {
            got.push(guarded("a receiver", t).await.unwrap());
        }
        got.sort();
        assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    });
}

/// Many tasks `send_to` and `recv` through one shared Unix datagram socket
/// pair; every datagram arrives.
fn tasks_share_a_unix_datagram_socket(flavor: Flavor) {
    const TASKS: usize = 4;
    const EACH: usize = 200;
    block_on(flavor, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let (a, b) = (Arc::new(a), Arc::new(b));
        let receivers: Vec<_> = (0..TASKS)
            .map(|_| {
                let b = b.clone();
                runtime::spawn(async move {
                    let mut n = 0;
                    let mut buf = [0u8; 8];
                    while let Ok(Ok(len)) =
                        timeout(Duration::from_millis(500), b.recv(&mut buf)).await
                    {
                        assert_eq!(len, 8);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let senders: Vec<_> = (0..TASKS)
            .map(|i| {
                let a = a.clone();
                runtime::spawn(async move {
                    for j in 0..EACH {
                        a.send(&((i * EACH + j) as u64).to_le_bytes())
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            guarded("a sender", s).await.unwrap();
        }
        let mut total = 0;
        for r in receivers {
            total += guarded("a receiver", r).await.unwrap();
        }
        assert_eq!(total, TASKS * EACH);
    });
}

/// Several tasks in `AsyncFd::readable()` on one `Arc<AsyncFd>`: all of
/// them are woken by one write.
fn asyncfd_readable_from_several_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let (theirs, mut peer) = StdUnixStream::pair().unwrap();
        theirs.set_nonblocking(true).unwrap();
        let fd = Arc::new(AsyncFd::new(theirs).unwrap());
        let waiting = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (fd, waiting) = (fd.clone(), waiting.clone());
                runtime::spawn(async move {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    let guard = fd.readable().await.unwrap();
                    assert!(guard.ready().is_readable());
                    guard.retain_ready();
                })
            })
            .collect();
        until_count(&waiting, 32).await;
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        peer.write_all(b"go").unwrap();
        for t in tasks {
            guarded("an AsyncFd waiter", t).await.unwrap();
        }
    });
}

/// A waiter dropped while it is being woken (its task aborted just as the
/// data arrives) does not take the wake-up of the waiter beside it. 200
/// rounds, each with a fresh pair.
fn dropped_waiter_does_not_swallow_another_waiters_wake_up(flavor: Flavor) {
    block_on(flavor, async {
        for round in 0..200 {
            let (client, mut server) = connected_pair().await.unwrap();
            let client = Arc::new(client);
            let waiting = Arc::new(AtomicUsize::new(0));
            let spawn_waiter = |client: Arc<TcpStream>, waiting: Arc<AtomicUsize>| {
                runtime::spawn(async move {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    client.readable().await.unwrap();
                })
            };
            let keeper = spawn_waiter(client.clone(), waiting.clone());
            let doomed = spawn_waiter(client.clone(), waiting.clone());
            until_count(&waiting, 2).await;
            for _ in 0..(round % 4) {
                runtime::task::yield_now().await;
            }
            // The abort races the wake-up.
            let write = server.write_all(b"?");
            doomed.abort();
            write.await.unwrap();
            guarded("the waiter beside the dropped one", keeper)
                .await
                .unwrap();
            let _ = doomed.await;
        }
    });
}

flavor_tests!(
    thousand_tasks_accept_on_one_listener,
    acceptor_pool_on_one_unix_listener_serves_every_connection,
    thousand_readers_of_one_stream_all_woken_by_one_write,
    writers_of_one_full_stream_all_woken_when_it_drains,
    two_tasks_receive_on_one_udp_socket,
    tasks_share_a_unix_datagram_socket,
    asyncfd_readable_from_several_tasks,
    dropped_waiter_does_not_swallow_another_waiters_wake_up,
);
