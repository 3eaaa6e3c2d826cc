//! The cooperative budget charges only progress, on both schedulers:
//!
//! - One task that polls 500 idle sockets in one poll (a `select_all` over
//!   500 UDP receives, a hand-written loop over 500 TCP reads) spends no
//!   budget on them and parks: the process stays idle (no self-wake loop),
//!   and the datagram or bytes sent to one of them are received.
//! - `task::consume_budget` in a tight loop yields once the budget is spent,
//!   so another task on a current-thread runtime gets to run.
//! - Elapsed sleeps spend budget (a loop of them yields), pending ones do
//!   not.
//! - `task::unconstrained` switches the budget off: a loop over always-ready
//!   I/O (a socket with data queued, `io::repeat`) completes in one poll,
//!   where the same loop budgeted yields every 128 operations.
//!
//! The CPU checks compare the process's CPU time with wall time over a
//! second, with a generous bound (20 % of one core; a spinning task uses
//! ~100 %), as `adv_idle.rs` does. Every test holds [`serial`] so the
//! others in this binary do not add their CPU time to a measurement.

use std::future::{poll_fn, Future};
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::select_all;
use runtime::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime_reactor::coop::BUDGET;
use runtime_tests::{
    assert_idle, block_on, connected_pair, flavor_tests, serial, settle_async, sleep_blocking,
    CpuMeter, Flavor, PollCounter,
};

/// Idle sockets one task polls in a single poll: well over the budget.
const IDLE_SOCKETS: usize = 500;

/// The socket that is finally sent something.
const CHOSEN: usize = 317;

/// At most this share of one core may be used by a process that should be
/// idle (a spinning thread shows as ~100 %).
const IDLE_CORES: f64 = 0.20;

/// How long the idle stretch is measured.
const IDLE_WINDOW: Duration = Duration::from_millis(1000);

/// Polls the parked task may see during the idle window: it should see none
/// (nothing wakes it); a task that wakes itself is polled millions of times.
const IDLE_POLLS: usize = 100;

/// Waits until the task counted by `polls` has been polled at least once,
/// lets it settle, then checks that over [`IDLE_WINDOW`] the process stays
/// idle and the task is (next to) never polled.
async fn assert_parked_and_idle(polls: &AtomicUsize, what: &str) {
    let first = settle_async(true, Duration::from_secs(20), || {
        polls.load(Ordering::SeqCst) > 0
    })
    .await;
    assert!(first, "{what}: the task was never polled");
    sleep_blocking(Duration::from_millis(50)).await;

    let before = polls.load(Ordering::SeqCst);
    let meter = CpuMeter::start();
    sleep_blocking(IDLE_WINDOW).await;
    let usage = meter.read();
    let during = polls.load(Ordering::SeqCst) - before;
    assert!(
        during < IDLE_POLLS,
        "{what}: polled {during} times in {:?} with nothing to read: it wakes itself",
        usage.wall
    );
    assert_idle(usage, IDLE_CORES, what);
}

/// One task receives on 500 idle UDP sockets through one `select_all` of
/// their `recv_from` futures: it parks without spinning, and the datagram
/// later sent to one of them is what it receives.
fn a_select_over_500_idle_udp_receives_sleeps_then_receives(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let mut sockets = Vec::with_capacity(IDLE_SOCKETS);
        for _ in 0..IDLE_SOCKETS {
            sockets.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        let target = sockets[CHOSEN].local_addr().unwrap();
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let receiver = runtime::spawn(async move {
            let mut bufs = vec![[0u8; 64]; IDLE_SOCKETS];
            let (index, n) = {
                let receives: Vec<_> = sockets
                    .iter()
                    .zip(bufs.iter_mut())
                    .map(|(s, buf)| Box::pin(s.recv_from(buf)))
                    .collect();
                let mut select = select_all(receives);
                let (res, index, _rest) = poll_fn(|cx| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Pin::new(&mut select).poll(cx)
                })
                .await;
                (index, res.unwrap().0)
            };
            (index, bufs[index][..n].to_vec())
        });

        assert_parked_and_idle(&polls, "a task selecting over 500 idle UDP receives").await;

        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"wake up", target).unwrap();
        let (index, data) = receiver.await.unwrap();
        assert_eq!(index, CHOSEN, "the datagram was received on another socket");
        assert_eq!(data, b"wake up");
    });
}

/// One task polls `poll_read` of 500 idle TCP streams in a hand-written
/// loop, in each of its polls: it parks without spinning, and the bytes
/// later written to one peer are what it reads.
fn a_loop_over_500_idle_tcp_reads_sleeps_then_reads(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peers = Vec::with_capacity(IDLE_SOCKETS);
        let mut streams = Vec::with_capacity(IDLE_SOCKETS);
        for _ in 0..IDLE_SOCKETS {
            peers.push(std::net::TcpStream::connect(addr).unwrap());
            streams.push(listener.accept().await.unwrap().0);
        }
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 64];
            poll_fn(|cx| {
                counted.fetch_add(1, Ordering::SeqCst);
                for (i, s) in streams.iter_mut().enumerate() {
                    if let Poll::Ready(res) = Pin::new(s).poll_read(cx, &mut buf) {
                        let n = res.unwrap();
                        return Poll::Ready((i, buf[..n].to_vec()));
                    }
                }
                Poll::Pending
            })
            .await
        });

        assert_parked_and_idle(&polls, "a task polling 500 idle TCP reads").await;

        peers[CHOSEN].write_all(b"wake up").unwrap();
        let (index, data) = reader.await.unwrap();
        assert_eq!(index, CHOSEN, "the bytes were read from another stream");
        assert_eq!(data, b"wake up");
        drop(peers);
    });
}

/// A task spinning on `consume_budget` (and on nothing else) yields once its
/// budget is spent, so a task queued behind it on the same thread runs.
#[test]
fn a_consume_budget_loop_lets_another_task_run_on_a_current_thread_runtime() {
    let _serial = serial();
    block_on(Flavor::CurrentThread, async {
        let ran = Arc::new(AtomicBool::new(false));
        let seen = ran.clone();
        let spinner = runtime::spawn(async move {
            for round in 0..100 * BUDGET as usize {
                if seen.load(Ordering::SeqCst) {
                    return Some(round);
                }
                runtime::task::consume_budget().await;
            }
            None
        });
        let other = runtime::spawn(async move { ran.store(true, Ordering::SeqCst) });
        let rounds = spinner
            .await
            .unwrap()
            .expect("the other task never ran while the spinner consumed budget");
        other.await.unwrap();
        assert!(
            rounds <= 2 * BUDGET as usize,
            "the spinner ran {rounds} rounds before yielding (budget {BUDGET})"
        );
    });
}

/// A task looping on readiness of an always-ready socket (`readable()` or
/// `poll_read_ready`, then a one-byte `try_read` that leaves data queued)
/// yields once its budget is spent, so a task queued behind it on the same
/// thread runs.
#[test]
fn a_readiness_loop_on_an_always_ready_socket_lets_another_task_run() {
    for use_poll in [false, true] {
        block_on(Flavor::CurrentThread, async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut writer = TcpStream::connect(addr).await.unwrap();
            let (reader, _) = listener.accept().await.unwrap();
            writer.write_all(&vec![1u8; 64 * 1024]).await.unwrap();
            // The reactor has reported the data: every wait below is ready.
            reader.readable().await.unwrap();
            let ran = Arc::new(AtomicBool::new(false));
            let seen = ran.clone();
            let spinner = runtime::spawn(async move {
                let mut byte = [0u8; 1];
                for round in 0..100 * BUDGET as usize {
                    if seen.load(Ordering::SeqCst) {
                        return Some(round);
                    }
                    if use_poll {
                        poll_fn(|cx| reader.poll_read_ready(cx)).await.unwrap();
                    } else {
                        reader.readable().await.unwrap();
                    }
                    assert_eq!(reader.try_read(&mut byte).unwrap(), 1);
                }
                None
            });
            let other = runtime::spawn(async move { ran.store(true, Ordering::SeqCst) });
            let rounds = spinner.await.unwrap().unwrap_or_else(|| {
                panic!("the other task never ran (poll_read_ready: {use_poll})")
            });
            other.await.unwrap();
            assert!(
                rounds <= 2 * BUDGET as usize,
                "the spinner ran {rounds} rounds before yielding (budget {BUDGET})"
            );
        });
    }
}

/// A task looping over sleeps that have already elapsed yields once its
/// budget is spent (each elapsed sleep spends a unit, as in tokio), so a task
/// queued behind it on the same thread runs.
#[test]
fn a_loop_of_elapsed_sleeps_lets_another_task_run_on_a_current_thread_runtime() {
    let _serial = serial();
    block_on(Flavor::CurrentThread, async {
        let ran = Arc::new(AtomicBool::new(false));
        let seen = ran.clone();
        // A deadline the timer wheel has certainly passed: one that fired.
        let fired = runtime::time::sleep(Duration::from_millis(1));
        let past = fired.deadline();
        fired.await;
        let spinner = runtime::spawn(async move {
            for round in 0..100 * BUDGET as usize {
                if seen.load(Ordering::SeqCst) {
                    return Some(round);
                }
                runtime::time::sleep_until(past).await;
            }
            None
        });
        let other = runtime::spawn(async move { ran.store(true, Ordering::SeqCst) });
        let rounds = spinner
            .await
            .unwrap()
            .expect("the other task never ran while the spinner slept in the past");
        other.await.unwrap();
        assert!(
            rounds <= 2 * BUDGET as usize,
            "the spinner ran {rounds} rounds before yielding (budget {BUDGET})"
        );
    });
}

/// Sleeps that are still pending spend nothing: one poll over ten budgets'
/// worth of them leaves the budget whole, so I/O after them proceeds in the
/// same poll.
fn pending_sleeps_spend_no_budget(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        runtime::spawn(async {
            let far = runtime::time::Instant::now() + Duration::from_secs(3600);
            let mut sleeps: Vec<_> = (0..READS)
                .map(|_| Box::pin(runtime::time::sleep_until(far)))
                .collect();
            poll_fn(|cx| {
                for s in &mut sleeps {
                    assert!(s.as_mut().poll(cx).is_pending());
                }
                assert!(
                    runtime_reactor::coop::has_budget_remaining(),
                    "{READS} pending sleeps spent the budget"
                );
                // A whole budget of ready operations still proceeds.
                let mut r = runtime::io::repeat(0);
                for i in 0..BUDGET {
                    let read = Pin::new(&mut r).poll_read(cx, &mut [0u8; 1]);
                    assert!(read.is_ready(), "read {i} after the sleeps was refused");
                }
                Poll::Ready(())
            })
            .await
        })
        .await
        .unwrap();
    });
}

/// Reads done by [`read_queued_bytes`]: ten budgets' worth.
const READS: usize = 10 * BUDGET as usize;

/// Reads [`READS`] single bytes from a socket that has them all queued (each
/// read is ready at once), counting the polls of the reading future; returns
/// how many polls it took.
async fn read_queued_bytes(unconstrained: bool) -> usize {
    let (mut client, mut server) = connected_pair().await.unwrap();
    server.write_all(&[5u8; READS]).await.unwrap();
    // Wait until the bytes are there, so that no read has to wait.
    let mut first = [0u8; 1];
    client.read_exact(&mut first).await.unwrap();
    let read_all = async move {
        let mut byte = [0u8; 1];
        for _ in 1..READS {
            client.read_exact(&mut byte).await.unwrap();
            assert_eq!(byte[0], 5);
        }
        client
    };
    let (counted, polls) = PollCounter::new(read_all);
    let client: TcpStream = if unconstrained {
        runtime::spawn(runtime::task::unconstrained(counted))
            .await
            .unwrap()
    } else {
        runtime::spawn(counted).await.unwrap()
    };
    drop((client, server));
    polls.load(Ordering::SeqCst)
}

/// Reads [`READS`] times from `io::repeat`, counting polls, as above.
async fn read_repeat(unconstrained: bool) -> usize {
    let read_all = async {
        let mut r = runtime::io::repeat(9);
        let mut buf = [0u8; 16];
        for _ in 0..READS {
            r.read_exact(&mut buf).await.unwrap();
        }
        assert_eq!(buf, [9u8; 16]);
    };
    let (counted, polls) = PollCounter::new(read_all);
    if unconstrained {
        runtime::spawn(runtime::task::unconstrained(counted))
            .await
            .unwrap();
    } else {
        runtime::spawn(counted).await.unwrap();
    }
    polls.load(Ordering::SeqCst)
}

/// Ten budgets' worth of always-ready reads yield about ten times when
/// budgeted, and not at all inside `unconstrained`: on a socket with the
/// bytes queued and on `io::repeat`.
fn unconstrained_always_ready_reads_do_not_yield(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let min_yields = READS / BUDGET as usize;
        let budgeted = read_queued_bytes(false).await;
        assert!(
            budgeted >= min_yields,
            "{READS} ready socket reads took {budgeted} polls: the budget never ran out"
        );
        let free = read_queued_bytes(true).await;
        assert!(
            free < min_yields,
            "{READS} ready socket reads inside unconstrained took {free} polls: they yielded"
        );

        let budgeted = read_repeat(false).await;
        assert!(
            budgeted >= min_yields,
            "{READS} repeat reads took {budgeted} polls: the budget never ran out"
        );
        let free = read_repeat(true).await;
        assert_eq!(free, 1, "repeat reads inside unconstrained yielded");
    });
}

/// `consume_budget` inside `unconstrained` never yields.
fn consume_budget_inside_unconstrained_never_yields(flavor: Flavor) {
    let _serial = serial();
    block_on(flavor, async {
        let (counted, polls) = PollCounter::new(async {
            for _ in 0..READS {
                runtime::task::consume_budget().await;
            }
        });
        runtime::spawn(runtime::task::unconstrained(counted))
            .await
            .unwrap();
        assert_eq!(polls.load(Ordering::SeqCst), 1);

        let (counted, polls) = PollCounter::new(async {
            for _ in 0..READS {
                runtime::task::consume_budget().await;
            }
        });
        runtime::spawn(counted).await.unwrap();
        assert!(polls.load(Ordering::SeqCst) >= READS / BUDGET as usize);
    });
}

/// `task::coop::cooperative` makes a future that knows nothing of the
/// budget spend it: a loop over an always-ready `std::future::ready`
/// yields once the budget is spent (the other task runs), where the same
/// loop unwrapped never does.
#[test]
fn cooperative_makes_an_always_ready_future_yield() {
    use runtime::task::coop::{cooperative, has_budget_remaining, poll_proceed};
    let _serial = serial();
    block_on(Flavor::CurrentThread, async {
        for wrapped in [true, false] {
            let ran = Arc::new(AtomicBool::new(false));
            let seen = ran.clone();
            let spinner = runtime::spawn(async move {
                for round in 0..10 * BUDGET as usize {
                    if seen.load(Ordering::SeqCst) {
                        return Some(round);
                    }
                    if wrapped {
                        cooperative(std::future::ready(())).await;
                    } else {
                        std::future::ready(()).await;
                    }
                }
                None
            });
            let other = runtime::spawn(async move { ran.store(true, Ordering::SeqCst) });
            let rounds = spinner.await.unwrap();
            other.await.unwrap();
            if wrapped {
                let rounds = rounds.expect("the other task never ran");
                assert!(rounds <= 2 * BUDGET as usize, "{rounds} rounds");
            } else {
                assert_eq!(rounds, None, "an unwrapped ready future never yields");
            }
        }
        // The budget, spent by hand: 128 units of progress, then none left.
        runtime::spawn(async {
            assert!(has_budget_remaining());
            for _ in 0..BUDGET {
                poll_fn(|cx| poll_proceed(cx).map(|unit| unit.made_progress())).await;
            }
            assert!(!has_budget_remaining());
        })
        .await
        .unwrap();
    });
}

flavor_tests!(
    a_select_over_500_idle_udp_receives_sleeps_then_receives,
    a_loop_over_500_idle_tcp_reads_sleeps_then_reads,
    unconstrained_always_ready_reads_do_not_yield,
    consume_budget_inside_unconstrained_never_yields,
    pending_sleeps_spend_no_budget,
);
