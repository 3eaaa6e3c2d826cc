//! `sleep`, `sleep_until` and `Sleep::reset` on both schedulers: a sleep
//! never completes before its deadline, 100,000 concurrent sleeps all
//! complete, each wakes its own task (also when the timer was registered on
//! another thread, or by another task), an earlier timer registered from a
//! foreign thread interrupts a worker blocked in the reactor, and timers
//! work on a thread with no runtime at all.
//!
//! Timing assertions are lower bounds only ("not before"); "eventually" is
//! guarded by the watchdog of `block_on`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use runtime::time::{sleep, sleep_until, Instant, Sleep};
use runtime_tests::{block_on, flavor_tests, Flavor, Watchdog, HANG_LIMIT};

/// Asserts that at least `d` passed since `start`.
#[track_caller]
fn assert_not_before(start: Instant, d: Duration, what: &str) {
    let elapsed = start.elapsed();
    assert!(
        elapsed >= d,
        "{what}: completed after {elapsed:?}, before its {d:?}"
    );
}

/// Wakes a thread parked in [`block_on_thread`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on the calling thread with no runtime: park until woken.
fn block_on_thread<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

fn sleep_never_returns_before_its_duration(flavor: Flavor) {
    block_on(flavor, async {
        for d in [
            Duration::ZERO,
            Duration::from_micros(1),
            Duration::from_micros(500),
            Duration::from_millis(1),
            Duration::from_micros(1500),
            Duration::from_millis(7),
            Duration::from_millis(64),
            Duration::from_millis(65),
            Duration::from_millis(150),
        ] {
            let start = Instant::now();
            sleep(d).await;
            assert_not_before(start, d, "sleep");
        }
    });
}

fn sleep_until_waits_for_the_deadline_and_a_past_one_is_ready(flavor: Flavor) {
    block_on(flavor, async {
        let deadline = Instant::now() + Duration::from_millis(20);
        let s = sleep_until(deadline);
        assert_eq!(s.deadline(), deadline);
        assert!(!s.is_elapsed());
        s.await;
        assert!(Instant::now() >= deadline);

        // A past deadline: ready on first poll.
        let past = Instant::now() - Duration::from_millis(5);
        let mut s = pin!(sleep_until(past));
        let ready = std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx).is_ready())).await;
        assert!(ready, "a sleep until a past deadline is ready at once");
        assert!(s.is_elapsed());
    });
}

fn hundred_thousand_concurrent_sleeps_all_complete(flavor: Flavor) {
    const N: usize = 100_000;
    block_on(flavor, async {
        let done = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(N);
        for i in 0..N {
            let done = done.clone();
            // Spread over 0..250 ms: several wheel levels and many slots.
            let d = Duration::from_micros((i as u64 * 7919) % 250_000);
            handles.push(runtime::spawn(async move {
                let start = Instant::now();
                sleep(d).await;
                assert_not_before(start, d, "one of 100,000 sleeps");
                done.fetch_add(1, Ordering::Relaxed);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(done.load(Ordering::Relaxed), N);
    });
}

fn each_sleep_wakes_its_own_task(flavor: Flavor) {
    // Deadlines registered from whichever worker runs each task, fired by
    // whichever thread drives the reactor: every task must see its own
    // deadline pass, not another's.
    block_on(flavor, async {
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                runtime::spawn(async move {
                    let d = Duration::from_millis(1 + (i * 37) % 120);
                    let start = Instant::now();
                    sleep(d).await;
                    assert_not_before(start, d, "task sleep");
                    i
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i as u64);
        }
    });
}

fn a_sleep_polled_by_one_task_then_awaited_by_another_wakes_the_second(flavor: Flavor) {
    block_on(flavor, async {
        let deadline = Instant::now() + Duration::from_millis(30);
        let mut s: Pin<Box<Sleep>> = Box::pin(sleep_until(deadline));
        // Register it with this task's waker...
        let first = std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        // ...then hand it to another task: only that one's waker is live.
        let h = runtime::spawn(async move {
            s.as_mut().await;
            Instant::now()
        });
        let woke_at = h.await.unwrap();
        assert!(woke_at >= deadline);
    });
}

fn reset_moves_the_deadline_both_ways(flavor: Flavor) {
    block_on(flavor, async {
        // Later.
        let start = Instant::now();
        let mut s = pin!(sleep(Duration::from_millis(5)));
        s.as_mut().reset(start + Duration::from_millis(40));
        s.as_mut().await;
        assert_not_before(start, Duration::from_millis(40), "reset later");

        // Earlier, after it was registered.
        let start = Instant::now();
        let mut s = pin!(sleep(Duration::from_secs(3600)));
        let first = std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        s.as_mut().reset(start + Duration::from_millis(10));
        s.as_mut().await;
        assert_not_before(start, Duration::from_millis(10), "reset earlier");

        // After it completed: it completes again at the new deadline.
        assert!(s.is_elapsed());
        let again = Instant::now();
        s.as_mut().reset(again + Duration::from_millis(15));
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert_not_before(again, Duration::from_millis(15), "reset after completion");
    });
}

fn reset_keeps_waking_the_task_that_polled_it(flavor: Flavor) {
    // tokio's rule: a registered sleep that is reset keeps its waker, so a
    // task that resets it and returns `Pending` without polling it again is
    // still woken at the new deadline.
    block_on(flavor, async {
        let start = Instant::now();
        let mut s = Box::pin(sleep(Duration::from_secs(3600)));
        let mut reset_done = false;
        std::future::poll_fn(|cx| {
            if s.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if !reset_done {
                reset_done = true;
                s.as_mut().reset(Instant::now() + Duration::from_millis(20));
            }
            Poll::Pending
        })
        .await;
        assert_not_before(start, Duration::from_millis(20), "reset sleep");
    });
}

fn dropping_unfired_sleeps_unregisters_them(flavor: Flavor) {
    block_on(flavor, async {
        let before = runtime_reactor::Reactor::get().unwrap().timer_count();
        let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..1000)
            .map(|i| Box::pin(sleep(Duration::from_secs(3600 + i))))
            .collect();
        std::future::poll_fn(|cx| {
            for s in &mut sleeps {
                assert!(s.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        drop(sleeps);
        // Other tests of this binary may hold timers too; ours are gone.
        let after = runtime_reactor::Reactor::get().unwrap().timer_count();
        assert!(after < before + 1000, "{before} before, {after} after");
    });
}

/// Durations too long for any clock (`Duration::MAX`, a deadline a
/// century out) are "never": the sleep stays pending without a panic or an
/// overflow, a timeout that long returns its future's value, and resetting
/// such a sleep to a near deadline makes it fire.
fn durations_too_long_for_the_clock_mean_never(flavor: Flavor) {
    block_on(flavor, async {
        let forever = runtime::time::timeout(Duration::from_millis(20), sleep(Duration::MAX));
        assert!(forever.await.is_err(), "sleep(Duration::MAX) completed");
        let value = runtime::time::timeout(Duration::MAX, async { 7 }).await;
        assert_eq!(value.unwrap(), 7);
        let century = Instant::now()
            .checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
            .expect("a century fits in an Instant");
        let far = runtime::time::timeout(Duration::from_millis(20), sleep_until(century));
        assert!(far.await.is_err(), "a sleep a century out completed");
        let mut s = pin!(sleep(Duration::MAX));
        let start = Instant::now();
        s.as_mut().reset(start + Duration::from_millis(5));
        s.await;
        assert_not_before(start, Duration::from_millis(5), "reset sleep");
        let mut iv = runtime::time::interval(Duration::MAX);
        iv.tick().await;
        let second = runtime::time::timeout(Duration::from_millis(20), iv.tick());
        assert!(
            second.await.is_err(),
            "an interval of Duration::MAX ticked twice"
        );
        // A first tick taken late goes through the missed-tick rule of each
        // behaviour, which must saturate as well.
        for behavior in [
            runtime::time::MissedTickBehavior::Burst,
            runtime::time::MissedTickBehavior::Delay,
            runtime::time::MissedTickBehavior::Skip,
        ] {
            let past = Instant::now()
                .checked_sub(Duration::from_millis(50))
                .expect("the clock is 50 ms old");
            let mut iv = runtime::time::interval_at(past, Duration::MAX);
            iv.set_missed_tick_behavior(behavior);
            assert_eq!(iv.tick().await, past);
            let second = runtime::time::timeout(Duration::from_millis(20), iv.tick());
            assert!(
                second.await.is_err(),
                "a late interval of Duration::MAX ticked twice ({behavior:?})"
            );
        }
    });
}

flavor_tests!(
    durations_too_long_for_the_clock_mean_never,
    sleep_never_returns_before_its_duration,
    sleep_until_waits_for_the_deadline_and_a_past_one_is_ready,
    hundred_thousand_concurrent_sleeps_all_complete,
    each_sleep_wakes_its_own_task,
    a_sleep_polled_by_one_task_then_awaited_by_another_wakes_the_second,
    reset_moves_the_deadline_both_ways,
    reset_keeps_waking_the_task_that_polled_it,
    dropping_unfired_sleeps_unregisters_them,
);

/// Timers are the reactor's, not a runtime's: a plain thread can sleep.
#[test]
fn sleep_works_on_a_thread_without_a_runtime() {
    let _w = Watchdog::start(HANG_LIMIT);
    let start = Instant::now();
    block_on_thread(sleep(Duration::from_millis(25)));
    assert_not_before(start, Duration::from_millis(25), "sleep without runtime");
}

/// The "interrupt if earlier" rule: a worker parked in the reactor with no
/// timeout (nothing to do, no timers) is interrupted by a timer that a
/// foreign thread registers, so it can fire it. Without the interrupt it
/// would sleep forever (the watchdog would fire).
#[test]
fn a_timer_registered_from_a_foreign_thread_wakes_a_worker_blocked_in_the_reactor() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // Let the worker go idle and park in the reactor.
    rt.block_on(async {});
    thread::sleep(Duration::from_millis(50));
    let (tx, rx) = mpsc::channel();
    let foreign = thread::spawn(move || {
        let start = Instant::now();
        block_on_thread(sleep(Duration::from_millis(30)));
        tx.send(start.elapsed()).unwrap();
    });
    let elapsed = rx.recv().unwrap();
    assert!(elapsed >= Duration::from_millis(30));
    foreign.join().unwrap();
    drop(rt);
}

/// A sleep created on one runtime is awaited on another: timers belong to
/// the process-wide reactor.
#[test]
fn a_sleep_moves_between_runtimes() {
    let _w = Watchdog::start(HANG_LIMIT);
    let a = Flavor::CurrentThread.build();
    let b = Flavor::MultiThread.build();
    let start = Instant::now();
    let mut s = Box::pin(sleep(Duration::from_millis(30)));
    let first = a.block_on(std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))));
    assert!(first.is_pending());
    drop(a);
    b.block_on(b.spawn(s)).unwrap();
    assert_not_before(start, Duration::from_millis(30), "moved sleep");
}
