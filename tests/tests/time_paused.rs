//! The paused test clock: `time::{pause, resume, advance}`,
//! `Builder::start_paused`, auto-advance (held while `spawn_blocking` jobs
//! run), and the timers (`Sleep`, `timeout`, `Interval`) on virtual time.
//!
//! Every check compares exact virtual instants or the order of events,
//! never real durations: a paused clock only moves when told to, so its
//! readings are exact. Hangs (a timer that never fires, auto-advance held
//! forever) are caught by a [`Watchdog`].

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::time::{
    advance, interval, pause, resume, sleep, sleep_until, timeout, Instant, MissedTickBehavior,
};
use runtime::{Builder, Runtime};
use runtime_tests::{echo_server, panic_message, yield_until, Watchdog, HANG_LIMIT};

const HOUR: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn paused_runtime() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .expect("building a paused runtime")
}

/// Runs `future` on a paused current-thread runtime under a watchdog.
fn paused<F: Future>(future: F) -> F::Output {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    paused_runtime().block_on(future)
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The message of the panic `f` raises.
fn panic_of(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    panic_message(&*payload).expect("a panic with a message")
}

#[test]
fn an_hour_long_sleep_completes_at_once_one_virtual_hour_later() {
    let elapsed = paused(async {
        let start = Instant::now();
        sleep(HOUR).await;
        Instant::now() - start
    });
    assert_eq!(elapsed, HOUR);
}

#[test]
fn auto_advance_also_when_the_reactor_thread_drives() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .worker_driven_reactor(false)
        .build()
        .unwrap();
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        sleep(HOUR).await;
        sleep(HOUR).await;
        start.elapsed()
    });
    assert_eq!(elapsed, 2 * HOUR);
}

#[test]
fn a_paused_clock_stands_still_until_advanced() {
    paused(async {
        let a = Instant::now();
        std::thread::sleep(ms(2));
        runtime::task::yield_now().await;
        assert_eq!(Instant::now(), a);
        // The real clock moved on.
        assert!(std::time::Instant::now() > a.into_std());
    });
}

#[test]
fn sleeps_complete_in_deadline_order_at_their_exact_deadlines() {
    let log = paused(async {
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let minutes = [30u64, 10, 50, 20, 40, 10];
        let tasks: Vec<_> = minutes
            .iter()
            .map(|&m| {
                let log = log.clone();
                runtime::spawn(async move {
                    sleep(Duration::from_secs(60 * m)).await;
                    log.lock().unwrap().push((m, Instant::now() - start));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    let expected: Vec<(u64, Duration)> = [10u64, 10, 20, 30, 40, 50]
        .iter()
        .map(|&m| (m, Duration::from_secs(60 * m)))
        .collect();
    assert_eq!(log, expected);
}

#[test]
fn advance_fires_exactly_the_timers_it_reaches() {
    paused(async {
        let start = Instant::now();
        let mut early = pin!(sleep(ms(10)));
        let mut at_edge = pin!(sleep(ms(20)));
        let mut late = pin!(sleep(ms(30)));
        let mut later = pin!(sleep_until(start + ms(20) + Duration::from_nanos(1)));
        // Registered with the clock.
        assert!(poll_once(early.as_mut()).is_pending());
        assert!(poll_once(at_edge.as_mut()).is_pending());
        assert!(poll_once(late.as_mut()).is_pending());
        assert!(poll_once(later.as_mut()).is_pending());

        advance(ms(20)).await;
        assert_eq!(Instant::now() - start, ms(20));
        assert!(early.is_elapsed() && at_edge.is_elapsed());
        assert!(!late.is_elapsed() && !later.is_elapsed());
        assert!(poll_once(early.as_mut()).is_ready());
        assert!(poll_once(at_edge.as_mut()).is_ready());
        assert!(poll_once(late.as_mut()).is_pending());
        assert!(poll_once(later.as_mut()).is_pending());

        advance(Duration::from_nanos(1)).await;
        assert!(later.is_elapsed() && !late.is_elapsed());
        assert!(poll_once(later.as_mut()).is_ready());
        assert!(poll_once(late.as_mut()).is_pending());

        advance(ms(10)).await;
        assert!(poll_once(late.as_mut()).is_ready());
        assert_eq!(Instant::now() - start, ms(30) + Duration::from_nanos(1));
    });
}

#[test]
fn advance_wakes_the_tasks_whose_timers_it_fired() {
    paused(async {
        let done = Arc::new(Mutex::new(Vec::new()));
        for n in [5u64, 15] {
            let done = done.clone();
            runtime::spawn(async move {
                sleep(ms(n)).await;
                done.lock().unwrap().push(n);
            });
        }
        // Let both tasks register their sleeps.
        runtime::task::yield_now().await;
        advance(ms(10)).await;
        yield_until(|| !done.lock().unwrap().is_empty()).await;
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        assert_eq!(*done.lock().unwrap(), [5]);
        advance(ms(5)).await;
        yield_until(|| done.lock().unwrap().len() == 2).await;
        assert_eq!(*done.lock().unwrap(), [5, 15]);
    });
}

#[test]
fn timeout_on_the_paused_clock() {
    paused(async {
        let start = Instant::now();
        assert!(timeout(Duration::from_secs(5), pending::<()>())
            .await
            .is_err());
        assert_eq!(Instant::now() - start, Duration::from_secs(5));

        let start = Instant::now();
        let res = timeout(Duration::from_secs(5), async {
            sleep(Duration::from_secs(1)).await;
            7
        })
        .await;
        assert_eq!(res, Ok(7));
        assert_eq!(Instant::now() - start, Duration::from_secs(1));

        // A deadline moved by `advance` fails the timeout of a task that
        // waits for something else.
        let (tx, rx) = runtime::sync::oneshot::channel::<()>();
        let waiter = runtime::spawn(timeout(HOUR, rx));
        runtime::task::yield_now().await;
        advance(HOUR).await;
        assert!(waiter.await.unwrap().is_err());
        drop(tx);
    });
}

#[test]
fn sleep_reset_on_the_paused_clock() {
    paused(async {
        let start = Instant::now();
        let mut s = pin!(sleep(HOUR));
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().reset(start + Duration::from_secs(1));
        s.as_mut().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
        // Reset after completing: completes again at the new deadline.
        s.as_mut().reset(start + Duration::from_secs(3));
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    });
}

/// Takes `n` ticks after a 35 ms `advance` of a 10 ms interval set to
/// `behavior`; returns (tick instant, time taken), both from the start.
fn ticks_after_a_late_advance(behavior: MissedTickBehavior, n: usize) -> Vec<(Duration, Duration)> {
    paused(async move {
        let start = Instant::now();
        let mut every = interval(ms(10));
        every.set_missed_tick_behavior(behavior);
        assert_eq!(every.tick().await, start);
        advance(ms(35)).await;
        let mut ticks = Vec::new();
        for _ in 0..n {
            let at = every.tick().await;
            ticks.push((at - start, Instant::now() - start));
        }
        ticks
    })
}

#[test]
fn interval_burst_catches_up_then_keeps_the_schedule() {
    assert_eq!(
        ticks_after_a_late_advance(MissedTickBehavior::Burst, 4),
        [
            (ms(10), ms(35)),
            (ms(20), ms(35)),
            (ms(30), ms(35)),
            (ms(40), ms(40))
        ]
    );
}

#[test]
fn interval_delay_shifts_the_schedule() {
    assert_eq!(
        ticks_after_a_late_advance(MissedTickBehavior::Delay, 3),
        [(ms(10), ms(35)), (ms(45), ms(45)), (ms(55), ms(55))]
    );
}

#[test]
fn interval_skip_drops_the_missed_ticks() {
    assert_eq!(
        ticks_after_a_late_advance(MissedTickBehavior::Skip, 3),
        [(ms(10), ms(35)), (ms(40), ms(40)), (ms(50), ms(50))]
    );
}

#[test]
fn interval_on_time_ticks_at_exact_periods() {
    paused(async {
        let start = Instant::now();
        let mut every = interval(HOUR);
        for n in 0..4 {
            assert_eq!(every.tick().await, start + n * HOUR);
            assert_eq!(Instant::now(), start + n * HOUR);
        }
    });
}

#[test]
fn pause_advance_and_resume_from_a_task() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        runtime::spawn(async {
            pause();
            let paused_at = Instant::now();
            std::thread::sleep(ms(2));
            assert_eq!(Instant::now(), paused_at);
            advance(HOUR).await;
            assert_eq!(Instant::now(), paused_at + HOUR);
            // Auto-advance works on a clock paused at run time too.
            sleep(HOUR).await;
            assert_eq!(Instant::now(), paused_at + 2 * HOUR);

            resume();
            std::thread::sleep(ms(2));
            let resumed = Instant::now();
            // Running again, from the advanced time.
            assert!(resumed > paused_at + 2 * HOUR);
            // A timer on the resumed clock fires in real time.
            let real = std::time::Instant::now();
            sleep(ms(5)).await;
            assert!(Instant::now() >= resumed + ms(5));
            assert!(real.elapsed() >= ms(5));

            // Paused again: stands still again.
            pause();
            let again = Instant::now();
            std::thread::sleep(ms(2));
            assert_eq!(Instant::now(), again);
        })
        .await
        .unwrap();
    });
}

#[test]
fn pause_resume_and_advance_misuse_panics_as_tokio() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    assert_eq!(
        panic_of(pause),
        "time cannot be frozen from outside the runtime"
    );
    assert_eq!(
        panic_of(resume),
        "time cannot be frozen from outside the runtime"
    );
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(panic_of(resume), "time is not frozen");
        let advanced = runtime::spawn(advance(ms(1))).await.unwrap_err();
        assert!(advanced.is_panic());
        assert_eq!(
            panic_message(&*advanced.into_panic()).unwrap(),
            "time is not frozen"
        );
        pause();
        assert_eq!(panic_of(pause), "time is already frozen");
        resume();
    });
}

#[test]
fn pause_on_a_multi_thread_runtime_panics_as_tokio() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let expected = "`time::pause()` requires the `current_thread` runtime. This is the default \
                    runtime used by `#[runtime::test]`.";
    let msg = panic_of(|| {
        let _ = Builder::new_multi_thread().start_paused(true).build();
    });
    assert_eq!(msg, expected);
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(panic_of(pause), expected);
        assert_eq!(panic_of(resume), "time is not frozen");
        let start = std::time::Instant::now();
        sleep(ms(1)).await;
        // Real timers: the runtime's time was not paused.
        assert!(start.elapsed() >= ms(1));
    });
    let on_worker = rt.block_on(rt.spawn(async { pause() }));
    assert_eq!(
        panic_message(&*on_worker.unwrap_err().into_panic()).unwrap(),
        expected
    );
}

#[test]
fn auto_advance_waits_for_a_running_blocking_job() {
    let log = paused(async {
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let job = runtime::spawn_blocking(move || {
            l.lock().unwrap().push("blocking started");
            std::thread::sleep(ms(50));
            l.lock().unwrap().push("blocking finished");
        });
        let l = log.clone();
        let sleeper = runtime::spawn(async move {
            sleep(HOUR).await;
            l.lock().unwrap().push("slept an hour");
            Instant::now() - start
        });
        assert_eq!(sleeper.await.unwrap(), HOUR);
        job.await.unwrap();
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    assert_eq!(
        log,
        ["blocking started", "blocking finished", "slept an hour"]
    );
}

#[test]
fn auto_advance_waits_for_a_blocking_job_that_panics() {
    let log = paused(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let job = runtime::spawn_blocking(move || {
            std::thread::sleep(ms(50));
            l.lock().unwrap().push("blocking panics");
            panic!("blocking job fails");
        });
        let l = log.clone();
        let sleeper = runtime::spawn(async move {
            sleep(HOUR).await;
            l.lock().unwrap().push("slept an hour");
        });
        sleeper.await.unwrap();
        assert!(job.await.unwrap_err().is_panic());
        // Released: auto-advance works again.
        sleep(HOUR).await;
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    assert_eq!(log, ["blocking panics", "slept an hour"]);
}

#[test]
fn a_cancelled_blocking_job_releases_auto_advance() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let log = rt.block_on(async {
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let running = runtime::spawn_blocking(move || {
            wait.recv().unwrap();
            std::thread::sleep(ms(50));
            l.lock().unwrap().push("first job finished");
        });
        // Queued behind the first on the only thread, then cancelled.
        let l = log.clone();
        let queued = runtime::spawn_blocking(move || l.lock().unwrap().push("never runs"));
        queued.abort();
        go.send(()).unwrap();
        let l = log.clone();
        let sleeper = runtime::spawn(async move {
            sleep(HOUR).await;
            l.lock().unwrap().push("slept an hour");
        });
        sleeper.await.unwrap();
        running.await.unwrap();
        assert!(queued.await.unwrap_err().is_cancelled());
        // Both holds were released: another sleep auto-advances.
        sleep(HOUR).await;
        assert_eq!(Instant::now() - start, 2 * HOUR);
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    assert_eq!(log, ["first job finished", "slept an hour"]);
}

#[test]
fn blocking_jobs_of_a_paused_runtime_read_its_clock() {
    paused(async {
        advance(HOUR).await;
        let main = Instant::now();
        let job = runtime::spawn_blocking(Instant::now).await.unwrap();
        assert_eq!(job, main);
    });
}

#[test]
fn a_paused_runtime_beside_a_real_one_with_tcp_echo() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let start_together = Arc::new(Barrier::new(2));
    let barrier = start_together.clone();
    let virtual_side = std::thread::spawn(move || {
        let rt = paused_runtime();
        rt.block_on(async move {
            barrier.wait();
            let start = Instant::now();
            let mut every = interval(HOUR);
            for _ in 0..24 {
                every.tick().await;
                sleep(Duration::from_secs(1)).await;
            }
            assert!(timeout(HOUR, pending::<()>()).await.is_err());
            // 23 periods, the last tick's second, then the timeout's hour.
            assert_eq!(Instant::now() - start, 24 * HOUR + Duration::from_secs(1));
            // Far ahead of the real clock: this runtime's time only.
            assert!(Instant::now().into_std() > std::time::Instant::now() + 23 * HOUR);
        });
    });
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (addr, _stats) = echo_server().await.unwrap();
        start_together.wait();
        let mut stream = runtime::net::TcpStream::connect(addr).await.unwrap();
        for round in 0..20u8 {
            // Real time on this runtime, while the other one jumps.
            let before = std::time::Instant::now();
            let now = Instant::now().into_std();
            assert!(before <= now && now <= std::time::Instant::now());
            sleep(ms(1)).await;
            assert!(before.elapsed() >= ms(1));
            let msg = [round; 64];
            stream.write_all(&msg).await.unwrap();
            let mut back = [0u8; 64];
            stream.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }
        let before = std::time::Instant::now();
        assert!(timeout(ms(5), pending::<()>()).await.is_err());
        assert!(before.elapsed() >= ms(5));
    });
    virtual_side.join().unwrap();
}

#[test]
fn timers_made_outside_the_paused_runtime_keep_real_time() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    // Created on a plain thread: a real timer, even when awaited on a
    // paused runtime (it is not auto-advanced).
    let real = sleep(ms(5));
    let deadline = real.deadline().into_std();
    let rt = paused_runtime();
    rt.block_on(async {
        let start = Instant::now();
        real.await;
        assert!(std::time::Instant::now() >= deadline);
        // The paused clock did not move meanwhile.
        assert_eq!(Instant::now(), start);
    });
}
