//! `runtime::signal`: real signals sent to this test process. Every
//! listener of a signal receives it; a delivery while no one waits is kept
//! for the next `recv`; a listener made after a delivery does not see it;
//! `ctrl_c` completes on `SIGINT` (and the process survives it); signals
//! that cannot be caught are refused with `InvalidInput`; a storm of
//! signals from another thread while echo traffic runs loses no byte and
//! leaves the listener working, on both schedulers.
//!
//! Signals reach the whole process, so each test uses its own signal and
//! none of them waits for "no delivery" on a signal another test sends.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Context;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::signal::unix::{signal, SignalKind};
use runtime_tests::{assert_bytes_eq, block_on, echo_server, flavor_tests, pattern, Flavor};

fn raise(kind: SignalKind) {
    // SAFETY: `kill` on this process with a signal whose handler the test
    // installed first.
    let rc = unsafe { libc::kill(libc::getpid(), kind.as_raw_value()) };
    assert_eq!(rc, 0);
}

fn is_pending<F: Future>(f: std::pin::Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    f.poll(&mut cx).is_pending()
}

/// Three listeners in three tasks, and one in this task: one `SIGUSR1`
/// reaches every one of them.
fn every_listener_receives_the_signal(flavor: Flavor) {
    block_on(flavor, async {
        let kind = SignalKind::user_defined1();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let mut s = signal(kind).unwrap();
            tasks.push(runtime::spawn(async move { s.recv().await }));
        }
        let mut mine = signal(kind).unwrap();
        raise(kind);
        assert_eq!(mine.recv().await, Some(()));
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(()));
        }
    });
}

/// A `SIGUSR2` that arrives while the listener is not in `recv` (between
/// two calls) is kept: the next `recv` returns at once instead of hanging.
fn a_delivery_between_two_recvs_is_kept(flavor: Flavor) {
    block_on(flavor, async {
        let kind = SignalKind::user_defined2();
        let mut s = signal(kind).unwrap();
        for _ in 0..20 {
            raise(kind); // nobody is in `recv` now
            assert_eq!(s.recv().await, Some(()));
        }
    });
}

/// A listener made after a delivery was dispatched does not see it.
fn a_later_listener_does_not_see_an_earlier_delivery(flavor: Flavor) {
    block_on(flavor, async {
        // One signal per flavor: the two run at once, and this test checks
        // that a delivery is *not* seen.
        let kind = match flavor {
            Flavor::CurrentThread => SignalKind::window_change(),
            Flavor::MultiThread => SignalKind::from_raw(libc::SIGURG),
        };
        let mut first = signal(kind).unwrap();
        raise(kind);
        first.recv().await;
        let mut second = signal(kind).unwrap();
        let mut r = pin!(second.recv());
        assert!(is_pending(r.as_mut()), "the delivery before it was made");
        raise(kind);
        assert_eq!(r.await, Some(()));
    });
}

/// `ctrl_c` completes on `SIGINT` sent to the process, which keeps running.
fn ctrl_c_completes_on_sigint(flavor: Flavor) {
    block_on(flavor, async {
        let mut c = pin!(runtime::signal::ctrl_c());
        // The first poll installs the handler.
        assert!(is_pending(c.as_mut()));
        raise(SignalKind::interrupt());
        c.await.unwrap();
    });
}

/// A storm of `SIGHUP`s from another thread while 4 MiB are echoed over
/// TCP: every byte arrives, the listener receives, and after the storm one
/// more signal is still received.
fn a_signal_storm_during_echo_traffic(flavor: Flavor) {
    block_on(flavor, async {
        let kind = SignalKind::hangup();
        let mut s = signal(kind).unwrap();
        let (addr, _) = echo_server().await.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let storm = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut sent = 0u32;
                while !stop.load(Ordering::SeqCst) && sent < 200_000 {
                    raise(kind);
                    sent += 1;
                    if sent.is_multiple_of(64) {
                        std::thread::yield_now();
                    }
                }
                sent
            })
        };
        let data = pattern(4 << 20, 7);
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            wr.write_all(&sent).await.unwrap();
            wr.close().await.unwrap();
        });
        let mut got = Vec::new();
        rd.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_bytes_eq(&got, &data, "echoed under the storm");
        assert_eq!(s.recv().await, Some(()), "received during the storm");
        stop.store(true, Ordering::SeqCst);
        assert!(storm.join().unwrap() > 0);
        // And it keeps working after the storm.
        raise(kind);
        assert_eq!(s.recv().await, Some(()));
    });
}

flavor_tests!(
    every_listener_receives_the_signal,
    a_delivery_between_two_recvs_is_kept,
    a_later_listener_does_not_see_an_earlier_delivery,
    ctrl_c_completes_on_sigint,
    a_signal_storm_during_echo_traffic,
);

#[test]
fn signals_that_cannot_be_caught_are_refused() {
    for signum in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGILL,
        libc::SIGFPE,
        0,
        -1,
        1000,
    ] {
        let err = signal(SignalKind::from_raw(signum)).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "signal {signum}: {err}"
        );
    }
    assert_eq!(SignalKind::from(libc::SIGTERM), SignalKind::terminate());
    assert_eq!(i32::from(SignalKind::quit()), libc::SIGQUIT);
}
