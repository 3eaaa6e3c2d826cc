//! Host names resolve off the worker: `lookup_host`, and the `connect`,
//! `bind` and `send_to` that take names, wait for a lookup running on the
//! blocking pool while the worker runs its other tasks. Literal addresses
//! resolve at once and never leave the calling thread.
//!
//! The slow and failing lookups come from a resolver installed through the
//! test hook of `runtime-net` (it replaces `getaddrinfo` for the names
//! below and hands every other name to it), so they are deterministic. Every
//! test here reads the process-wide lookup counter or the hook, so they run
//! one at a time (`serial`).

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use runtime::net::{lookup_host, TcpListener, TcpStream, UdpSocket};
use runtime_net::lookup_hooks::{off_thread_lookups, set_resolver_for_tests};
use runtime_tests::{block_on, flavor_tests, serial, Flavor, Watchdog, HANG_LIMIT};

/// Answers after this long for `slow.test`.
const SLOW: Duration = Duration::from_millis(500);

/// `slow.test` is 127.0.0.1 after [`SLOW`]; `fail.test` does not resolve;
/// every other name goes to `getaddrinfo`.
fn test_resolver(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    match host {
        "slow.test" => {
            std::thread::sleep(SLOW);
            Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))])
        }
        "fail.test" => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "fail.test does not resolve",
        )),
        _ => std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map(Iterator::collect),
    }
}

/// A runtime of `flavor` with one worker for the multi-thread flavor, so a
/// blocked worker would stop every task.
fn one_worker(flavor: Flavor) -> runtime::Runtime {
    match flavor {
        Flavor::CurrentThread => flavor.build(),
        Flavor::MultiThread => runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    }
}

/// While `connect("slow.test:PORT")` waits for its lookup, a ticker task on
/// the same (only) worker keeps ticking; then the connection is made.
fn a_slow_lookup_does_not_stop_the_other_tasks_on_the_worker(flavor: Flavor) {
    let _serial = serial();
    set_resolver_for_tests(Some(test_resolver));
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = one_worker(flavor);
    let lookups_before = off_thread_lookups();
    let ticks_during_lookup = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ticks = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (ticks.clone(), stop.clone());
        // Bounded: stops when told, or after far more ticks than the
        // lookup could take.
        let ticker = runtime::spawn(async move {
            for _ in 0..1_000_000 {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                t.fetch_add(1, Ordering::SeqCst);
                runtime::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let t = ticks.clone();
        let connect = runtime::spawn(async move {
            let before = t.load(Ordering::SeqCst);
            let stream = TcpStream::connect(format!("slow.test:{port}")).await;
            (stream, t.load(Ordering::SeqCst) - before)
        });
        let (stream, during) = connect.await.unwrap();
        let stream = stream.expect("connect to slow.test");
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, stream.local_addr().unwrap());
        stop.store(true, Ordering::SeqCst);
        ticker.await.unwrap();
        during
    });
    drop(rt);
    set_resolver_for_tests(None);
    assert!(
        off_thread_lookups() > lookups_before,
        "the name was not looked up off the worker"
    );
    // A blocked worker could not tick at all during the lookup; 500 ms of
    // 1 ms sleeps leaves room for hundreds.
    assert!(
        ticks_during_lookup >= 3,
        "the ticker ticked only {ticks_during_lookup} times during a {SLOW:?} lookup"
    );
}

/// `localhost` resolves (through `getaddrinfo`): `lookup_host` gives
/// loopback addresses, and `connect`, `bind` and UDP `connect`/`send_to`
/// with names reach a listener on 127.0.0.1.
fn names_resolve_for_connect_bind_and_send_to(flavor: Flavor) {
    let _serial = serial();
    set_resolver_for_tests(Some(test_resolver));
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let addrs: Vec<_> = lookup_host(format!("localhost:{port}"))
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == port),
            "{addrs:?}"
        );
        // Each resolved address is tried: `::1` (if listed) is refused,
        // 127.0.0.1 connects.
        let client = TcpStream::connect(("localhost", port)).await.unwrap();
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());

        let named = TcpListener::bind("localhost:0").await.unwrap();
        assert!(named.local_addr().unwrap().ip().is_loopback());

        let rx = UdpSocket::bind("slow.test:0").await.unwrap();
        let rx_port = rx.local_addr().unwrap().port();
        let tx = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
        tx.send_to(b"by name", format!("slow.test:{rx_port}"))
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"by name"[..], tx.local_addr().unwrap())
        );
        tx.connect(("localhost", rx_port)).await.unwrap();
        tx.send(b"connected").await.unwrap();
        let n = rx.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");
    });
    set_resolver_for_tests(None);
}

/// A name that does not resolve is an `io::Error` from every entry point,
/// as is malformed input; nothing panics.
fn unresolvable_names_are_io_errors(flavor: Flavor) {
    let _serial = serial();
    set_resolver_for_tests(Some(test_resolver));
    block_on(flavor, async {
        let e = TcpStream::connect("fail.test:80").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert!(TcpListener::bind(("fail.test", 0)).await.is_err());
        assert!(UdpSocket::bind("fail.test:0").await.is_err());
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(udp.send_to(b"x", "fail.test:9").await.is_err());
        assert!(udp.connect("fail.test:9").await.is_err());
        assert!(lookup_host("fail.test:1").await.is_err());
        for bad in ["localhost", "localhost:http", "localhost:99999", ""] {
            let e = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {e}");
        }
    });
    set_resolver_for_tests(None);
}

/// Literal addresses, in every form, never go off the calling thread.
fn literal_addresses_take_no_detour(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let before = off_thread_lookups();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr.to_string()).await.unwrap();
        let _c = TcpStream::connect(("127.0.0.1", addr.port()))
            .await
            .unwrap();
        let _d = TcpStream::connect(&[addr][..]).await.unwrap();
        let _e = TcpStream::connect((Ipv4Addr::LOCALHOST, addr.port()))
            .await
            .unwrap();
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        udp.send_to(b"x", peer_addr.to_string()).await.unwrap();
        udp.connect(&peer_addr).await.unwrap();
        let v6: Vec<_> = lookup_host("[::1]:80").await.unwrap().collect();
        assert_eq!(v6, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
        assert_eq!(
            off_thread_lookups(),
            before,
            "a literal address was looked up"
        );
    });
}

flavor_tests!(
    a_slow_lookup_does_not_stop_the_other_tasks_on_the_worker,
    names_resolve_for_connect_bind_and_send_to,
    unresolvable_names_are_io_errors,
    literal_addresses_take_no_detour,
);

/// Wakes a parked thread.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` to completion on this thread with no runtime at all.
fn block_on_without_runtime<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let _w = Watchdog::start(HANG_LIMIT);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Outside any runtime (another executor), a lookup still runs off the
/// polling thread, on a thread of its own, and resolves.
#[test]
fn a_lookup_outside_any_runtime_runs_on_its_own_thread() {
    let _serial = serial();
    set_resolver_for_tests(Some(test_resolver));
    let before = off_thread_lookups();
    let addrs: Vec<_> = block_on_without_runtime(lookup_host("slow.test:7"))
        .unwrap()
        .collect();
    assert_eq!(addrs, [SocketAddr::from((Ipv4Addr::LOCALHOST, 7))]);
    assert_eq!(off_thread_lookups(), before + 1);
    set_resolver_for_tests(None);
}
