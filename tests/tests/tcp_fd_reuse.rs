//! Registrations follow the socket, not the fd number: a new stream that
//! reuses a dropped stream's fd works normally and never wakes a waker left
//! behind on the old registration; and every socket's registration is
//! removed when the socket (or the runtime owning it) is dropped.
//!
//! These tests read process-wide state (fd numbers, the reactor's
//! registration count), so each one holds [`serial`] for its whole run and
//! this file is its own test binary.

use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;

use futures_util::FutureExt;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{
    block_on, echo_server, flavor_tests, pattern, registration_count, serial, yield_until,
    DropCounter, Flavor, WakeCounter, Watchdog, HANG_LIMIT,
};

/// Stream A parks a counting waker on its read readiness and is dropped;
/// stream B is opened until it gets A's fd number. B then does three full
/// echo round trips (each one a read readiness event on that fd, with B's
/// task parked), and A's waker must see none of them.
fn stream_on_reused_fd_works_and_never_wakes_the_old_streams_waker(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let (addr, stats) = echo_server().await.unwrap();
        let a = TcpStream::connect(addr).await.unwrap();
        let fd = a.as_raw_fd();
        // The server must have accepted A before A's fd is freed: otherwise,
        // on the multi-thread flavor, the server's `accept` of A can run
        // after `drop(a)` and take the freed (lowest) fd number itself, and
        // no client socket would ever get it back. After this, the only
        // `accept` calls left follow a `socket()` call of ours.
        yield_until(|| stats.accepted.load(Ordering::SeqCst) == 1).await;
        let (old_waker_count, old_waker) = WakeCounter::new();
        {
            let mut cx = Context::from_waker(&old_waker);
            let mut readable = pin!(a.readable());
            assert!(
                readable.as_mut().poll(&mut cx).is_pending(),
                "A is readable before anything was sent to it"
            );
        }
        drop(a);
        // Deregistration may wake A's waker once (tasks parked on a dropped
        // registration are told); that is not what this test is about.
        let woken_by_drop = old_waker_count.count();

        let mut holders = Vec::new();
        let mut b = loop {
            let s = TcpStream::connect(addr).await.unwrap();
            if s.as_raw_fd() == fd {
                break s;
            }
            assert!(
                holders.len() < 64,
                "64 new sockets and none got fd {fd} back"
            );
            holders.push(s);
        };

        for round in 0..3u64 {
            let msg = pattern(1000 + round as usize, round + 10);
            b.write_all(&msg).await.unwrap();
            let mut echo = vec![0u8; msg.len()];
            b.read_exact(&mut echo).await.unwrap();
            assert_eq!(echo, msg, "round {round}: B's echo is wrong");
        }
        // A second reactor turn has completed since B's first read event
        // (each round needs one), so any wake-up that went astray in the
        // same turn as B's has happened by now.
        assert_eq!(
            old_waker_count.count(),
            woken_by_drop,
            "a waker parked on the dropped stream A was woken by events of stream B on the \
             reused fd {fd}"
        );
        b.close().await.unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0);
    });
}

/// The reactor's registration count goes up by one per listener and per
/// stream (connected or accepted) and back to where it was when they drop.
fn registration_count_returns_to_baseline_after_sockets_drop(flavor: Flavor) {
    let _serial = serial();
    let before_runtime = registration_count();
    block_on(flavor, async {
        let baseline = registration_count();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(
            registration_count(),
            baseline + 1,
            "a listener is one registration"
        );
        let mut streams = Vec::new();
        for _ in 0..10 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            streams.push((c, s));
        }
        assert_eq!(
            registration_count(),
            baseline + 21,
            "each stream is one registration"
        );
        drop(streams);
        assert_eq!(
            registration_count(),
            baseline + 1,
            "dropped streams are still registered"
        );
        drop(listener);
        assert_eq!(
            registration_count(),
            baseline,
            "a dropped listener is still registered"
        );
    });
    assert_eq!(
        registration_count(),
        before_runtime,
        "the runtime left registrations behind"
    );
}

/// `into_std` hands back the socket deregistered but still open and usable.
fn into_std_deregisters_and_keeps_the_socket_open(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let baseline = registration_count();
        let (client, mut server) = runtime_tests::connected_pair().await.unwrap();
        assert_eq!(registration_count(), baseline + 2);
        let mut std_client = client.into_std().unwrap();
        assert_eq!(
            registration_count(),
            baseline + 1,
            "into_std did not deregister"
        );
        std_client.set_nonblocking(false).unwrap();
        std::io::Write::write_all(&mut std_client, b"after into_std").unwrap();
        drop(std_client);
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"after into_std");
    });
}

/// Dropping a runtime whose tasks are parked in socket reads drops each
/// task's future exactly once, and with it the socket's registration; the
/// tasks' `JoinHandle`s then report cancellation.
fn dropping_runtime_with_tasks_parked_on_reads_deregisters_and_drops_each_future_once(
    flavor: Flavor,
) {
    const TASKS: usize = 100;
    let _serial = serial();
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let baseline = registration_count();
    let drops = DropCounter::new();
    let started = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    let rt = flavor.build();
    let (handles, peers) = rt.block_on(async {
        let mut handles = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..TASKS {
            let mut client = TcpStream::connect(addr).await.unwrap();
            // Handshake done: returns at once. The peer stays open and
            // silent, so the task's read never completes.
            peers.push(listener.accept().unwrap().0);
            let guard = drops.guard();
            let started = started.clone();
            handles.push(runtime::spawn(async move {
                let _guard = guard;
                started.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 16];
                let res = client.read(&mut buf).await;
                panic!("the read finished ({res:?}) though the peer never wrote or closed");
            }));
        }
        yield_until(|| started.load(Ordering::SeqCst) == TASKS).await;
        (handles, peers)
    });
    assert_eq!(
        registration_count(),
        baseline + TASKS,
        "the parked tasks' sockets are registered"
    );
    assert_eq!(drops.count(), 0, "a parked task's future was dropped early");

    drop(rt);
    assert_eq!(
        drops.count(),
        TASKS,
        "each parked future must be dropped exactly once by runtime drop"
    );
    assert_eq!(
        registration_count(),
        baseline,
        "the dropped tasks' sockets are still registered"
    );
    for (i, handle) in handles.into_iter().enumerate() {
        assert!(
            handle.is_finished(),
            "task {i} is not finished after runtime drop"
        );
        match handle.now_or_never() {
            Some(Err(e)) => assert!(e.is_cancelled(), "task {i}: {e}"),
            Some(Ok(())) => unreachable!(),
            None => panic!("task {i}'s JoinHandle is still pending after runtime drop"),
        }
    }
    assert_eq!(drops.count(), TASKS);
    drop(peers);
}

flavor_tests!(
    stream_on_reused_fd_works_and_never_wakes_the_old_streams_waker,
    registration_count_returns_to_baseline_after_sockets_drop,
    into_std_deregisters_and_keeps_the_socket_open,
    dropping_runtime_with_tasks_parked_on_reads_deregisters_and_drops_each_future_once,
);
