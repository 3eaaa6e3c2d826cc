//! Adversarial peers that give the runtime nothing to do, or less than it
//! thinks: it must stay idle (no busy loop) and keep serving everybody else.
//!
//! - Peers that connect and never send: the server's tasks park, the process
//!   uses next to no CPU, and a well-behaved client is still echoed.
//! - Readiness with no data behind it (the data was taken from the socket
//!   behind the runtime's back, as a spurious wake-up would look): a read
//!   parks again without an error and without spinning, and returns the
//!   next real data.
//!
//! The CPU checks compare the process's CPU time (`getrusage`, every
//! thread) with wall time over at least half a second, with a generous
//! bound (20 % of one core; a spinning thread uses ~100 %). They never
//! bound a latency. Each test holds [`serial`] so the others in this binary
//! do not add their CPU time to its measurement.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{
    assert_idle, block_on, echo_server, flavor_tests, note_pending, pattern, serial, settle_async,
    sleep_blocking, yield_until, CpuMeter, Flavor,
};

/// At most this share of one core may be used by a process that should be
/// idle (a spinning thread shows as ~100 %).
const IDLE_CORES: f64 = 0.20;

/// How long each idle stretch is measured.
const IDLE_WINDOW: Duration = Duration::from_millis(1000);

/// Silent peers connected to the server.
const SILENT: usize = 200;

/// 200 peers connect to an echo server and never send a byte. Once the
/// server has accepted them all (each server task parked in `read`), the
/// process is idle; a well-behaved client that connects meanwhile gets its
/// echo, and the silent connections are still open (not dropped to make
/// room) afterwards.
fn silent_peers_leave_the_runtime_idle_and_other_clients_are_served(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let (addr, stats) = echo_server().await.unwrap();
        let mut silent: Vec<std::net::TcpStream> = (0..SILENT)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let accepted = settle_async(SILENT, Duration::from_secs(20), || {
            stats.accepted.load(Ordering::SeqCst)
        })
        .await;
        assert_eq!(
            accepted, SILENT,
            "the server did not accept every silent peer"
        );
        // Let the echo tasks reach their first read and park.
        sleep_blocking(Duration::from_millis(50)).await;

        let meter = CpuMeter::start();
        sleep_blocking(IDLE_WINDOW).await;
        assert_idle(
            meter.read(),
            IDLE_CORES,
            "a runtime whose only connections are 200 silent peers",
        );

        // A good client is served while the silent peers hang on.
        let mut good = TcpStream::connect(addr).await.unwrap();
        for round in 0..10u64 {
            let msg = pattern(1 + 997 * round as usize, round);
            good.write_all(&msg).await.unwrap();
            let mut back = vec![0u8; msg.len()];
            good.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg, "round {round}: the good client's echo differs");
        }
        good.close().await.unwrap();
        let mut rest = Vec::new();
        good.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());

        // The silent peers were neither answered nor disconnected.
        for (i, s) in silent.iter_mut().enumerate() {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 1];
            match s.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => panic!("silent peer {i}: the server sent or closed: {other:?}"),
            }
        }
        // And they still do not cost anything.
        let meter = CpuMeter::start();
        sleep_blocking(IDLE_WINDOW / 2).await;
        assert_idle(
            meter.read(),
            IDLE_CORES,
            "the runtime after serving a client beside 200 silent peers",
        );
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0);
        drop(silent);
    });
}

/// Takes the bytes queued on `fd` with a raw `recv(2)`, behind the
/// runtime's back, and returns how many there were.
fn steal_queued_bytes(fd: std::os::fd::RawFd) -> usize {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        // SAFETY: `fd` is an open socket owned by the caller's stream for
        // the duration of the call; `buf` is a live writable buffer of the
        // stated length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n > 0 {
            total += n as usize;
            continue;
        }
        let err = std::io::Error::last_os_error();
        assert!(
            n < 0 && err.kind() == ErrorKind::WouldBlock,
            "stealing the queued bytes: recv returned {n} ({err})"
        );
        return total;
    }
}

/// The peer sends; the reactor reports the stream readable; then the data
/// is taken from the socket with a raw `recv` before the runtime reads it,
/// which is what a spurious readiness event looks like from above. Then:
/// `try_read` says `WouldBlock` (not an error); a `read` parks (it does not
/// return, error or spin: the process stays idle for a second); and the
/// next real data is what that read returns. Five rounds on one stream.
fn readiness_without_data_is_never_an_error_or_a_spin(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let fd = client.as_raw_fd();
        for round in 0..5u64 {
            peer.write_all(b"stolen").unwrap();
            client.readable().await.unwrap();
            assert_eq!(steal_queued_bytes(fd), 6, "round {round}");

            // The runtime still believes the stream readable.
            let mut buf = [0u8; 64];
            match client.try_read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => panic!("round {round}: try_read on a drained socket gave {other:?}"),
            }

            // Make it readable-looking again (a second event), steal again,
            // and this time park a task in `read`.
            peer.write_all(b"stolen again").unwrap();
            client.readable().await.unwrap();
            assert_eq!(steal_queued_bytes(fd), 12, "round {round}");
            let parked = Arc::new(AtomicBool::new(false));
            let p = parked.clone();
            let reader = runtime::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let res = note_pending(p, client.read(&mut buf)).await;
                (client, res.map(|n| buf[..n].to_vec()))
            });
            yield_until(|| parked.load(Ordering::SeqCst)).await;

            let meter = CpuMeter::start();
            sleep_blocking(IDLE_WINDOW / 2).await;
            assert_idle(
                meter.read(),
                IDLE_CORES,
                "a task reading a socket whose readiness had no data behind it",
            );
            assert!(
                !reader.is_finished(),
                "round {round}: the read on an empty socket returned"
            );

            let real = pattern(100 + round as usize, round);
            peer.write_all(&real).unwrap();
            let (c, res) = reader.await.unwrap();
            client = c;
            let got = res.unwrap_or_else(|e| {
                panic!("round {round}: the read after a spurious readiness failed: {e}")
            });
            // One read returns what has arrived: all of it or a prefix; read
            // the rest so the next round starts from an empty socket.
            let mut all = got;
            while all.len() < real.len() {
                let mut more = vec![0u8; real.len() - all.len()];
                let n = client.read(&mut more).await.unwrap();
                assert!(n > 0, "round {round}: EOF from a live peer");
                all.extend_from_slice(&more[..n]);
            }
            assert_eq!(
                all, real,
                "round {round}: the real data after the spurious event"
            );
        }
        // A plain echo still works both ways on the same stream.
        client.write_all(b"bye").await.unwrap();
        let mut three = [0u8; 3];
        peer.read_exact(&mut three).unwrap();
        assert_eq!(&three, b"bye");
    });
}

flavor_tests!(
    silent_peers_leave_the_runtime_idle_and_other_clients_are_served,
    readiness_without_data_is_never_an_error_or_a_spin,
);
