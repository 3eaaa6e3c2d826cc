//! An I/O resource dropped while another task is parked on it.
//!
//! In safe Rust a task parked on `&TcpStream` keeps the stream borrowed, so
//! the stream cannot be dropped under it. The shape that can happen is
//! shared ownership of the registration (an `AsyncFd` or a stream behind an
//! `Arc<Mutex<Option<_>>>`) where the owner removes it while another task is
//! parked: dropping a [`Registration`] deregisters the fd and wakes every
//! task parked on it, whose next poll finds the resource gone (an error),
//! instead of sleeping forever on a waker nobody will call. These tests
//! build that shape directly on `runtime_reactor::Registration` (the layer
//! every socket type and `AsyncFd` sit on) with a Unix socket pair.
//!
//! The last test races deregistration against events for the same fd (the
//! peer writes while the owner drops) a thousand times, with fd numbers
//! reused between rounds: under AddressSanitizer (`.ci/sanitizers.sh`) a
//! use-after-free of the registration or a waker would abort it.

use std::future::poll_fn;
use std::io::{self, ErrorKind, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use runtime_reactor::{Direction, Reactor, Registration};
use runtime_tests::{block_on, flavor_tests, note_pending, yield_until, Flavor, WakeCounter};

/// A registered fd shared between tasks; `None` once its owner removed it.
/// The tuple drops the registration before the socket, as every owner must
/// (deregister, then close).
type Shared = Arc<Mutex<Option<(Registration, UnixStream)>>>;

fn gone() -> io::Error {
    io::Error::new(ErrorKind::NotConnected, "the registration was removed")
}

/// A non-blocking socket pair whose first end is registered.
fn registered_pair() -> (Shared, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    // SAFETY: `a` is kept beside `reg` in the tuple, whose first field (the
    // registration) is dropped first.
    let reg = unsafe { Reactor::get().unwrap().register(a.as_fd()) }.unwrap();
    (Arc::new(Mutex::new(Some((reg, a)))), b)
}

/// Polls the shared registration for readiness in `direction` (the lock is
/// held only during the poll); an error once it is gone.
fn poll_shared(
    shared: &Shared,
    cx: &mut Context<'_>,
    direction: Direction,
) -> Poll<io::Result<()>> {
    match &*shared.lock() {
        None => Poll::Ready(Err(gone())),
        Some((reg, _)) => reg.poll_ready(cx, direction).map_ok(drop),
    }
}

/// Fills the send buffer of the registered end so that it is not writable,
/// and clears the write readiness that the last `WouldBlock` proved stale.
async fn fill_send_buffer(shared: &Shared) {
    // Wait for the reactor to report the fresh socket writable.
    poll_fn(|cx| poll_shared(shared, cx, Direction::Write))
        .await
        .unwrap();
    let chunk = [0u8; 64 * 1024];
    loop {
        let guard = shared.lock();
        let (reg, sock) = guard.as_ref().unwrap();
        match reg.try_io(Direction::Write, || (&*sock).write(&chunk)) {
            Ok(_) => continue,
            // `try_io` cleared the write readiness: the next poll parks.
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => panic!("filling the send buffer: {e}"),
        }
    }
}

/// A reader parked on read readiness and a writer parked on write readiness
/// (send buffer full) of one registration; a third task removes it. Both
/// parked tasks are woken and end with the "gone" error.
fn dropping_a_registration_wakes_tasks_parked_on_both_directions(flavor: Flavor) {
    block_on(flavor, async {
        let (shared, peer) = registered_pair();
        fill_send_buffer(&shared).await;

        let mut parked_flags = Vec::new();
        let mut waiters = Vec::new();
        for direction in [Direction::Read, Direction::Write] {
            let parked = Arc::new(AtomicBool::new(false));
            parked_flags.push(parked.clone());
            let s = shared.clone();
            waiters.push(runtime::spawn(note_pending(
                parked,
                poll_fn(move |cx| poll_shared(&s, cx, direction)),
            )));
        }
        yield_until(|| parked_flags.iter().all(|p| p.load(Ordering::SeqCst))).await;

        let s = shared.clone();
        runtime::spawn(async move {
            // Deregisters (waking the parked tasks), then closes the fd.
            drop(s.lock().take());
        })
        .await
        .unwrap();

        for (w, dir) in waiters.into_iter().zip(["read", "write"]) {
            match w.await.unwrap() {
                Err(e) if e.kind() == ErrorKind::NotConnected => {}
                other => panic!("the task parked on {dir} readiness got {other:?}"),
            }
        }
        drop(peer);
    });
}

/// The wake-up itself, without a scheduler in between: wakers stored in
/// both directions are each woken exactly once by the drop.
#[test]
fn dropping_a_registration_wakes_each_stored_waker_once() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    // SAFETY: `reg` is dropped below, before `a` goes out of scope.
    let reg = unsafe { Reactor::get().unwrap().register(a.as_fd()) }.unwrap();
    let (reads, read_waker) = WakeCounter::new();
    let (writes, write_waker) = WakeCounter::new();
    // Writable readiness arrives from the reactor thread shortly after the
    // registration; read readiness never does (nothing is sent).
    assert!(reg
        .poll_ready(&mut Context::from_waker(&read_waker), Direction::Read)
        .is_pending());
    // Park a write waker too if the socket is not yet reported writable.
    let write_parked = reg
        .poll_ready(&mut Context::from_waker(&write_waker), Direction::Write)
        .is_pending();
    drop(reg);
    assert_eq!(
        reads.count(),
        1,
        "the parked reader was not woken by the drop"
    );
    if write_parked {
        // The reactor may have woken it once already with writability.
        assert!(
            (1..=2).contains(&writes.count()),
            "the parked writer was woken {} times",
            writes.count()
        );
    }
    drop(a);
}

const RACE_ROUNDS: usize = 1_000;

/// 1,000 rounds of: a task parked on read readiness (draining whatever
/// arrives), a peer thread writing to the socket, and another task removing
/// the registration and closing the fd in the middle of it. Every parked
/// task ends with the "gone" error, whatever the interleaving; fd numbers
/// are reused from round to round.
fn deregistration_racing_events_wakes_every_parked_task(flavor: Flavor) {
    block_on(flavor, async {
        let finished = Arc::new(AtomicUsize::new(0));
        for round in 0..RACE_ROUNDS {
            let (shared, mut peer) = registered_pair();
            let parked = Arc::new(AtomicBool::new(false));
            let s = shared.clone();
            let fin = finished.clone();
            let reader = runtime::spawn(note_pending(parked.clone(), async move {
                let mut buf = [0u8; 4096];
                let res = poll_fn(|cx| loop {
                    let guard = s.lock();
                    let Some((reg, sock)) = guard.as_ref() else {
                        return Poll::Ready(Err::<(), _>(gone()));
                    };
                    match reg.poll_io(cx, Direction::Read, || {
                        std::io::Read::read(&mut &*sock, &mut buf)
                    }) {
                        Poll::Ready(Ok(0)) => panic!("EOF while the peer is open"),
                        Poll::Ready(Ok(_)) => continue,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                })
                .await;
                fin.fetch_add(1, Ordering::SeqCst);
                res
            }));
            let writer = std::thread::spawn(move || {
                for _ in 0..20 {
                    if peer.write_all(&[round as u8; 512]).is_err() {
                        break;
                    }
                }
                peer
            });
            if round % 2 == 0 {
                yield_until(|| parked.load(Ordering::SeqCst)).await;
            }
            let s = shared.clone();
            runtime::spawn(async move { drop(s.lock().take()) })
                .await
                .unwrap();
            match reader.await.unwrap() {
                Err(e) if e.kind() == ErrorKind::NotConnected => {}
                other => panic!("round {round}: the parked reader got {other:?}"),
            }
            drop(writer.join().unwrap());
        }
        assert_eq!(finished.load(Ordering::SeqCst), RACE_ROUNDS);
    });
}

flavor_tests!(
    dropping_a_registration_wakes_tasks_parked_on_both_directions,
    deregistration_racing_events_wakes_every_parked_task,
);
