//! `yield_now` lets the reactor run: a task that loops on `yield_now` until
//! a socket becomes readable, or until a timer has fired, sees it on every
//! scheduler (current-thread, multi-thread with one worker and with four),
//! and the runtime drops normally and goes idle afterwards.
//!
//! Where the yielding thread is the only one that polls the reactor
//! (current-thread, one worker), the tests also count how many times the
//! loop yields *after* the event is certainly there (the peer's `write`
//! returned, or the clock is past the timer's deadline): a yielded task runs
//! again only after the reactor was polled, so that count is 0 or 1 (a few
//! rounds may lose a race with the reactor thread: `MAX_LATE_ROUNDS`); a runtime that polls only every few dozen task runs, or leaves it
//! to the reactor thread's stall guard, shows dozens to thousands. These are
//! counts of loop turns, never durations. With four workers another worker
//! may be the one blocked in the reactor, so only the outcome is checked.
//!
//! Each test holds [`serial`]: every runtime in the process shares the one
//! reactor, and another test's worker waiting in it would poll it for us.

use std::future::Future;
use std::io::{ErrorKind, Write};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpStream};
use runtime::task::yield_now;
use runtime::Runtime;
use runtime_tests::{assert_idle, serial, CpuMeter, Watchdog, HANG_LIMIT};

/// Events per test: the worst round counts. (Before yields waited for the
/// reactor, a round of the timer tests was sometimes lucky: the reactor
/// thread fires due timers on its own schedule too.)
const ROUNDS: usize = 16;

/// Yields allowed after the event is certainly there, where the yielding
/// thread polls the reactor itself: the first yield after the event polls
/// it in, so the count is 0 or 1; the slack covers a poll that found the
/// reactor busy with the reactor thread's own short turn.
const MAX_YIELDS_AFTER_EVENT: u64 = 4;

/// Rounds that may exceed [`MAX_YIELDS_AFTER_EVENT`]: the reactor thread
/// fires due timers on its own too, and if it is preempted in the middle of
/// that turn (this machine is shared), the yielding thread finds the
/// reactor taken and yields on until it is done. Without the rule, most
/// rounds exceed the bound, by dozens to thousands of yields.
const MAX_LATE_ROUNDS: usize = 2;

/// How far past a timer's deadline the clock must be before the timer is
/// certainly due (the wheel rounds deadlines up to the next millisecond).
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// The schedulers under test.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setup {
    /// Current-thread; the yielding loop is a spawned task.
    CurrentThread,
    /// Current-thread; the yielding loop is the `block_on` future itself.
    CurrentThreadBlockOn,
    /// Multi-thread with this many workers; the loop is a spawned task.
    Workers(usize),
}

impl Setup {
    fn build(self) -> Runtime {
        match self {
            Setup::CurrentThread | Setup::CurrentThreadBlockOn => {
                runtime::Builder::new_current_thread().enable_all().build()
            }
            Setup::Workers(n) => runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build(),
        }
        .unwrap_or_else(|e| panic!("building {self:?}: {e}"))
    }

    /// Whether the yielding thread is the only poller of the reactor, so
    /// the count of yields after an event is bounded.
    fn counts_yields(self) -> bool {
        self != Setup::Workers(4)
    }

    /// Runs `body` as the yielding loop (a task or the `block_on` future)
    /// and returns its output, then drops the runtime (which must return)
    /// and checks that the runtime is idle.
    fn run<F>(self, body: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let _watchdog = Watchdog::start(HANG_LIMIT);
        let rt = self.build();
        let out = if self == Setup::CurrentThreadBlockOn {
            rt.block_on(body())
        } else {
            let handle = rt.spawn(async move { body().await });
            rt.block_on(handle).expect("the yielding task failed")
        };
        // Nothing is runnable any more: no worker may keep polling in a
        // loop (a deferred yield left behind would make it spin).
        let meter = CpuMeter::start();
        std::thread::sleep(Duration::from_millis(300));
        assert_idle(meter.read(), 0.2, &format!("{self:?} after the yield loop"));
        drop(rt);
        out
    }
}

/// Checks the yields counted after the event in each round, per the
/// setup's rule: only a few rounds may exceed the bound.
fn check_counts(setup: Setup, counts: &[u64], what: &str) {
    assert_eq!(counts.len(), ROUNDS, "{setup:?}: every round completes");
    if setup.counts_yields() {
        let late = counts
            .iter()
            .filter(|&&n| n > MAX_YIELDS_AFTER_EVENT)
            .count();
        assert!(
            late <= MAX_LATE_ROUNDS,
            "{setup:?}: in {late} of {ROUNDS} rounds a task looping on yield_now saw {what} \
             only after more than {MAX_YIELDS_AFTER_EVENT} further yields (per round: \
             {counts:?}); a yield must let the reactor run"
        );
    }
}

/// A task loops on `yield_now` and `try_read` until the bytes a plain
/// thread writes arrive, `ROUNDS` times.
fn yield_loop_sees_tcp_data(setup: Setup) {
    let _serial = serial();
    let counts = setup.run(|| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let written = Arc::new(AtomicUsize::new(0));
        let w = written.clone();
        let writer = std::thread::spawn(move || {
            let mut peer = std::net::TcpStream::connect(addr).unwrap();
            for round in 1..=ROUNDS {
                if go_rx.recv().is_err() {
                    return;
                }
                // Let the reader settle into its loop first.
                std::thread::sleep(Duration::from_millis(2));
                peer.write_all(b"x").unwrap();
                w.store(round, Ordering::SeqCst);
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut counts = Vec::with_capacity(ROUNDS);
        for round in 1..=ROUNDS {
            go_tx.send(()).unwrap();
            counts.push(yield_until_read(&stream, &written, round).await);
        }
        writer.join().unwrap();
        counts
    });
    check_counts(setup, &counts, "readable data");
}

/// Yields until one byte can be read from `stream`; returns how many
/// yields happened after `written` showed `round` (the byte was in the
/// kernel's queue).
async fn yield_until_read(stream: &TcpStream, written: &AtomicUsize, round: usize) -> u64 {
    let start = Instant::now();
    let mut after = 0;
    let mut buf = [0u8; 8];
    loop {
        let was_written = written.load(Ordering::SeqCst) == round;
        match stream.try_read(&mut buf) {
            Ok(n) => {
                assert_eq!(n, 1, "one byte per round");
                return after;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("try_read: {e}"),
        }
        assert!(
            start.elapsed() < HANG_LIMIT,
            "round {round}: the data never became readable"
        );
        if was_written {
            after += 1;
        }
        yield_now().await;
    }
}

/// A task loops on `yield_now` until another task, sleeping on a timer,
/// sets a flag, `ROUNDS` times.
fn yield_loop_sees_timer_fire(setup: Setup) {
    let _serial = serial();
    let counts = setup.run(|| async move {
        let mut counts = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let fired = Arc::new(AtomicBool::new(false));
            let f = fired.clone();
            let delay = Duration::from_millis(5);
            let due = Instant::now() + delay + TIMER_SLACK;
            runtime::spawn(async move {
                runtime::time::sleep(delay).await;
                f.store(true, Ordering::SeqCst);
            });
            let mut after = 0;
            loop {
                let was_due = Instant::now() >= due;
                if fired.load(Ordering::SeqCst) {
                    break;
                }
                assert!(
                    Instant::now() < due + HANG_LIMIT,
                    "the sleeping task never ran"
                );
                if was_due {
                    after += 1;
                }
                yield_now().await;
            }
            counts.push(after);
        }
        counts
    });
    check_counts(setup, &counts, "a fired timer");
}

/// The loop polls a `sleep` future by hand (with a waker that does
/// nothing), between yields: only the reactor firing the timer can make it
/// ready.
fn yield_loop_sees_sleep_polled_by_hand(setup: Setup) {
    let _serial = serial();
    let counts = setup.run(|| async move {
        let mut counts = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let delay = Duration::from_millis(5);
            let due = Instant::now() + delay + TIMER_SLACK;
            let mut sleep = pin!(runtime::time::sleep(delay));
            let mut after = 0;
            loop {
                let was_due = Instant::now() >= due;
                let ready = sleep
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_ready();
                if ready {
                    break;
                }
                assert!(Instant::now() < due + HANG_LIMIT, "the timer never fired");
                if was_due {
                    after += 1;
                }
                yield_now().await;
            }
            counts.push(after);
        }
        counts
    });
    check_counts(setup, &counts, "a due timer");
}

/// Other runnable tasks still run before a task that yields: the yielder
/// resumes only after a task spawned before its yield has run.
fn yield_lets_runnable_tasks_run_first(setup: Setup) {
    let _serial = serial();
    setup.run(|| async move {
        for _ in 0..ROUNDS {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let other = runtime::spawn(async move { r.store(true, Ordering::SeqCst) });
            yield_now().await;
            assert!(
                ran.load(Ordering::SeqCst),
                "a task made runnable before the yield ran before the yielder resumed"
            );
            other.await.unwrap();
        }
    });
}

macro_rules! setups {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::Setup;

                #[test]
                fn current_thread() {
                    super::$name(Setup::CurrentThread)
                }

                #[test]
                fn current_thread_block_on() {
                    super::$name(Setup::CurrentThreadBlockOn)
                }

                #[test]
                fn one_worker() {
                    super::$name(Setup::Workers(1))
                }

                #[test]
                fn four_workers() {
                    super::$name(Setup::Workers(4))
                }
            }
        )*
    };
}

setups!(
    yield_loop_sees_tcp_data,
    yield_loop_sees_timer_fire,
    yield_loop_sees_sleep_polled_by_hand,
);

mod yield_lets_runnable_tasks_run_first {
    use super::Setup;

    #[test]
    fn current_thread() {
        super::yield_lets_runnable_tasks_run_first(Setup::CurrentThread)
    }

    #[test]
    fn one_worker() {
        super::yield_lets_runnable_tasks_run_first(Setup::Workers(1))
    }
}
