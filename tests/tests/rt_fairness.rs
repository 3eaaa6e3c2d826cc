//! Fairness of the injector under load: a task spawned from outside the
//! runtime, while its only thread is saturated by local tasks that keep
//! re-spawning themselves, runs after a few local polls, and the fewer the
//! longer those polls take (the injector interval follows the average poll
//! time: about 40 µs of local work, at least 2 polls, at most 127).
//!
//! Every local poll bumps a shared counter; a remote task records the
//! counter when it is spawned and when it first runs, and the difference is
//! the number of local polls it waited for. The bounds are on that count,
//! never on a duration; the local tasks' busy-wait is only their workload.
//! A sample during which the spawning thread itself lost its CPU (more than
//! one local poll ended while it was inside `spawn`) is dropped and taken
//! again: it would count polls that ran before the task existed.
//! A fixed interval of 31 polls shows waits up to 31 whatever the polls
//! cost.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use runtime::{Handle, Runtime};
use runtime_tests::{serial, Watchdog, HANG_LIMIT};

/// Local tasks kept alive at once (each re-spawns itself when it ends), so
/// that the local queue is never empty.
const CHAINS: usize = 4;

/// Local polls run before the measured remote spawns, so that the average
/// has settled (it starts from the old fixed interval).
const WARM_UP_POLLS: usize = 100;

/// Remote spawns measured per test.
const REMOTE_SPAWNS: usize = 50;

/// Spawns tried at most to get [`REMOTE_SPAWNS`] undisturbed samples.
const MAX_ATTEMPTS: usize = 20 * REMOTE_SPAWNS;

/// The setups: the thread saturated is the only worker, or the thread in
/// a current-thread runtime's `block_on`.
#[derive(Clone, Copy, Debug)]
enum Setup {
    CurrentThread,
    OneWorker,
}

impl Setup {
    fn build(self) -> Runtime {
        match self {
            Setup::CurrentThread => runtime::Builder::new_current_thread().enable_all().build(),
            Setup::OneWorker => runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build(),
        }
        .unwrap_or_else(|e| panic!("building {self:?}: {e}"))
    }
}

/// What the local tasks share.
struct Load {
    /// Local polls so far.
    polls: AtomicUsize,
    /// Set when the test is over: the chains stop re-spawning.
    stop: AtomicBool,
    /// How long each local poll keeps the thread busy.
    work: Duration,
}

/// Spawns one local task that busy-waits `load.work`, counts its poll and
/// spawns its successor (from the runtime thread: a local spawn).
fn spawn_chain(load: Arc<Load>) {
    drop(runtime::spawn(async move {
        let end = Instant::now() + load.work;
        while Instant::now() < end {
            std::hint::spin_loop();
        }
        load.polls.fetch_add(1, Ordering::SeqCst);
        if !load.stop.load(Ordering::SeqCst) {
            spawn_chain(load);
        }
    }));
}

/// A future that completes once [`Signal::fire`] was called.
#[derive(Default)]
struct Signal {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

struct Wait(Arc<Signal>);

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.fired.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Saturates the runtime's thread with local polls of `work` each, then
/// spawns tasks from this (outside) thread one at a time and returns, for
/// each, the local polls it waited for.
fn remote_waits(setup: Setup, work: Duration) -> Vec<usize> {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Arc::new(setup.build());
    let handle: Handle = rt.handle().clone();
    let load = Arc::new(Load {
        polls: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        work,
    });
    let done = Arc::new(Signal::default());
    // The thread that runs the runtime: on current-thread it runs the
    // tasks; on multi-thread it only waits, and the worker runs them.
    let driver = {
        let (rt, load, done) = (rt.clone(), load.clone(), done.clone());
        std::thread::spawn(move || {
            rt.block_on(async move {
                let starter = runtime::spawn(async move {
                    for _ in 0..CHAINS {
                        spawn_chain(load.clone());
                    }
                });
                starter.await.unwrap();
                Wait(done).await;
            })
        })
    };
    let deadline = Instant::now() + HANG_LIMIT;
    while load.polls.load(Ordering::SeqCst) < WARM_UP_POLLS {
        assert!(
            Instant::now() < deadline,
            "{setup:?}: the local tasks do not run"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut waits = Vec::with_capacity(REMOTE_SPAWNS);
    let mut attempts = 0;
    while waits.len() < REMOTE_SPAWNS {
        attempts += 1;
        assert!(
            attempts <= MAX_ATTEMPTS,
            "{setup:?}: this thread was descheduled during {} of {attempts} spawns",
            attempts - waits.len()
        );
        let (tx, rx) = mpsc::channel();
        let polls_before = load.polls.load(Ordering::SeqCst);
        let l = load.clone();
        drop(handle.spawn(async move {
            let _ = tx.send(l.polls.load(Ordering::SeqCst));
        }));
        let polls_after = load.polls.load(Ordering::SeqCst);
        let polls_at_run = rx
            .recv_timeout(HANG_LIMIT)
            .unwrap_or_else(|_| panic!("{setup:?}: a remote task never ran"));
        // The spawn is pushed somewhere between the two reads. When more
        // than one local poll ended between them, this thread lost its CPU
        // in the middle (a shared 2-core machine does that), and the wait
        // measured from `polls_before` would count polls that ran before
        // the task existed: that sample says nothing about the scheduler.
        if polls_after - polls_before > 1 {
            continue;
        }
        waits.push(polls_at_run - polls_before);
    }
    load.stop.store(true, Ordering::SeqCst);
    done.fire();
    driver.join().expect("the driving thread");
    drop(rt);
    waits
}

/// Asserts that no remote task waited for more than `bound` local polls.
fn check(setup: Setup, work: Duration, waits: &[usize], bound: usize) {
    assert_eq!(
        waits.len(),
        REMOTE_SPAWNS,
        "{setup:?}: every remote task ran"
    );
    let worst = waits.iter().copied().max().unwrap_or(0);
    assert!(
        worst <= bound,
        "{setup:?}: with local polls of {work:?}, a remote task waited for {worst} local polls \
         (bound {bound}; every wait: {waits:?})"
    );
}

/// 1 ms polls: the injector is looked at every 2 polls (the floor), so a
/// remote task waits for the poll in progress and two more at most.
fn remote_task_waits_a_couple_of_long_polls(setup: Setup) {
    let _serial = serial();
    let work = Duration::from_millis(1);
    let waits = remote_waits(setup, work);
    check(setup, work, &waits, 4);
}

/// 5 µs polls: every 8 polls at most (40 µs of work; fewer when the
/// scheduler's own overhead makes polls look longer), plus the poll in
/// progress; the bound doubles that for slack.
fn remote_task_waits_a_few_short_polls(setup: Setup) {
    let _serial = serial();
    let work = Duration::from_micros(5);
    let waits = remote_waits(setup, work);
    check(setup, work, &waits, 16);
}

mod remote_task_waits_a_couple_of_long_polls {
    use super::Setup;

    #[test]
    fn current_thread() {
        super::remote_task_waits_a_couple_of_long_polls(Setup::CurrentThread)
    }

    #[test]
    fn one_worker() {
        super::remote_task_waits_a_couple_of_long_polls(Setup::OneWorker)
    }
}

mod remote_task_waits_a_few_short_polls {
    use super::Setup;

    #[test]
    fn current_thread() {
        super::remote_task_waits_a_few_short_polls(Setup::CurrentThread)
    }

    #[test]
    fn one_worker() {
        super::remote_task_waits_a_few_short_polls(Setup::OneWorker)
    }
}
