//! `Handle::metrics`: the counters move as the work they count happens
//! (spawns, polls over real TCP, parks, steals, blocking threads, queue
//! depths, the reactor's events and turns, pending timers, the poll-time
//! histogram), and go back down when the work is gone. Only relations
//! between readings are asserted, never durations against a bound (except
//! that a poll that slept took at least the time slept).

use std::sync::mpsc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::metrics::RuntimeMetrics;
use runtime::net::TcpStream;
use runtime::{HistogramConfiguration, LogHistogram, Runtime};
use runtime_tests::{echo_server, flavor_tests, serial, yield_until, Flavor, Watchdog, HANG_LIMIT};

/// Waits (outside any runtime) until `done` holds; the watchdog guards it.
fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn sum(m: &RuntimeMetrics, f: impl Fn(&RuntimeMetrics, usize) -> u64) -> u64 {
    (0..m.num_workers()).map(|w| f(m, w)).sum()
}

fn one_worker(flavor: Flavor) -> Runtime {
    match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread().build().unwrap(),
        Flavor::MultiThread => runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    }
}

fn counts_follow_tcp_echo_work(flavor: Flavor) {
    const N: usize = 8;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let m = rt.handle().metrics();
    assert_eq!(
        m.num_workers(),
        if flavor == Flavor::MultiThread { 2 } else { 1 }
    );
    assert_eq!(m.spawned_tasks_count(), 0);
    assert_eq!(sum(&m, RuntimeMetrics::worker_poll_count), 0);
    assert_eq!(m.num_alive_tasks(), 0);

    rt.block_on(async {
        let (addr, stats) = echo_server().await.unwrap();
        let clients: Vec<_> = (0..N)
            .map(|i| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    let msg = format!("hello {i}");
                    s.write_all(msg.as_bytes()).await.unwrap();
                    s.shutdown_std(std::net::Shutdown::Write).unwrap();
                    let mut back = String::new();
                    s.read_to_string(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(stats.accepted.load(std::sync::atomic::Ordering::SeqCst), N);
    });

    // The accept loop, one task per connection, and the clients.
    assert!(m.spawned_tasks_count() >= (2 * N + 1) as u64);
    // Every finished task was polled at least once, on some worker.
    assert!(sum(&m, RuntimeMetrics::worker_poll_count) >= (N + 1) as u64);
    let busy: Duration = (0..m.num_workers())
        .map(|w| m.worker_total_busy_duration(w))
        .sum();
    assert!(busy > Duration::ZERO);
    // Polls are not timed by default (no histogram, no stall detector):
    // the longest poll is not kept.
    let longest = (0..m.num_workers())
        .map(|w| m.worker_max_poll_duration(w))
        .max()
        .unwrap();
    assert_eq!(longest, Duration::ZERO);
    // Only the accept loop is left alive.
    assert!(m.num_alive_tasks() >= 1);
}

fn alive_tasks_go_back_to_zero(flavor: Flavor) {
    const N: usize = 5;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let m = rt.handle().metrics();
    let (tx, rx) = runtime::sync::watch::channel(false);
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let mut rx = rx.clone();
            rt.spawn(async move {
                rx.wait_for(|go| *go).await.unwrap();
            })
        })
        .collect();
    assert_eq!(m.num_alive_tasks(), N);
    assert_eq!(m.spawned_tasks_count(), N as u64);
    tx.send(true).unwrap();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    // A task leaves the list when it completes, which may trail its
    // output by a moment on another worker.
    wait_until(|| m.num_alive_tasks() == 0);
    assert_eq!(m.spawned_tasks_count(), N as u64);
}

fn park_count_grows_when_idle(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    // Its sleeps are in the process's wheel, which `timers_pending_*` count.
    let _serial = serial();
    let rt = flavor.build();
    let m = rt.handle().metrics();
    rt.block_on(async {
        for _ in 0..3 {
            runtime::spawn(async { runtime::time::sleep(Duration::from_millis(2)).await })
                .await
                .unwrap();
        }
    });
    let before = sum(&m, RuntimeMetrics::worker_park_count);
    if flavor == Flavor::CurrentThread {
        // The thread in `block_on` parked while the timers ran.
        assert!(before > 0);
    }
    // Work after that: the worker that runs it parks again afterwards.
    let waiter = rt.spawn(async { runtime::time::sleep(Duration::from_millis(2)).await });
    rt.block_on(waiter).unwrap();
    if flavor == Flavor::MultiThread {
        wait_until(|| sum(&m, RuntimeMetrics::worker_park_count) > before);
    } else {
        assert!(sum(&m, RuntimeMetrics::worker_park_count) > before);
    }
}

fn queue_depths_count_waiting_tasks(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = one_worker(flavor);
    let m = rt.handle().metrics();
    let (release, released) = mpsc::channel::<()>();
    let (spawned_tx, spawned) = mpsc::channel::<()>();
    // A task that spawns five more on its own worker, then blocks that
    // worker until the test has looked.
    let blocker = rt.spawn(async move {
        let children: Vec<_> = (0..5).map(|_| runtime::spawn(async {})).collect();
        spawned_tx.send(()).unwrap();
        released.recv().unwrap();
        children
    });
    let outer = match flavor {
        // The thread in `block_on` is the worker: run the blocker there.
        Flavor::CurrentThread => {
            let h = rt.handle().clone();
            let looker = std::thread::spawn(move || {
                spawned.recv().unwrap();
                let m = h.metrics();
                let from_outside: Vec<_> = (0..3).map(|_| h.spawn(async {})).collect();
                let global = m.global_queue_depth();
                let alive = m.num_alive_tasks();
                release.send(()).unwrap();
                (global, alive, from_outside)
            });
            let children = rt.block_on(blocker).unwrap();
            let (global, alive, from_outside) = looker.join().unwrap();
            assert!(global >= 3, "global queue depth {global}");
            assert!(alive >= 1 + 5 + 3, "alive {alive}");
            // The batch that ended with the blocker left the children
            // queued on the thread.
            assert!(m.worker_local_queue_depth(0) >= 1);
            (children, from_outside)
        }
        Flavor::MultiThread => {
            spawned.recv().unwrap();
            // One in the LIFO slot, the rest in the local queue.
            assert!(
                m.worker_local_queue_depth(0) >= 3,
                "{}",
                m.worker_local_queue_depth(0)
            );
            let from_outside: Vec<_> = (0..3).map(|_| rt.spawn(async {})).collect();
            assert!(m.global_queue_depth() >= 3);
            assert!(m.num_alive_tasks() >= 1 + 5 + 3);
            release.send(()).unwrap();
            (rt.block_on(blocker).unwrap(), from_outside)
        }
    };
    rt.block_on(async move {
        for h in outer.0.into_iter().chain(outer.1) {
            h.await.unwrap();
        }
    });
    if flavor == Flavor::MultiThread {
        wait_until(|| m.global_queue_depth() == 0 && m.worker_local_queue_depth(0) == 0);
    }
    assert_eq!(m.global_queue_depth(), 0);
}

#[test]
fn idle_workers_steal_from_a_blocked_one() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    let (release, released) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        let children: Vec<_> = (0..16).map(|_| runtime::spawn(async {})).collect();
        // Blocks this worker: the other one has to take the children.
        released.recv().unwrap();
        children
    });
    wait_until(|| sum(&m, RuntimeMetrics::worker_steal_count) > 0);
    release.send(()).unwrap();
    let children = rt.block_on(blocker).unwrap();
    rt.block_on(async {
        for c in children {
            c.await.unwrap();
        }
    });
}

fn blocking_thread_counts(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let m = rt.handle().metrics();
    assert_eq!(m.num_blocking_threads(), 0);
    let (release, released) = mpsc::channel::<()>();
    let released = std::sync::Arc::new(parking_lot::Mutex::new(released));
    let (started_tx, started) = mpsc::channel::<()>();
    let jobs: Vec<_> = (0..2)
        .map(|_| {
            let released = released.clone();
            let started_tx = started_tx.clone();
            rt.spawn_blocking(move || {
                started_tx.send(()).unwrap();
                released.lock().recv().unwrap();
            })
        })
        .collect();
    started.recv().unwrap();
    started.recv().unwrap();
    // Both jobs hold a thread.
    assert!(m.num_blocking_threads() >= 2);
    assert_eq!(m.num_idle_blocking_threads(), m.num_blocking_threads() - 2);
    release.send(()).unwrap();
    release.send(()).unwrap();
    rt.block_on(async {
        for j in jobs {
            j.await.unwrap();
        }
    });
    // Done, the threads wait for more work (for a keep-alive period).
    wait_until(|| m.num_idle_blocking_threads() == m.num_blocking_threads());
    assert!(m.num_blocking_threads() >= 1);
    // Blocking jobs are not counted as spawned tasks.
    assert_eq!(m.spawned_tasks_count(), 0);
}

#[test]
#[should_panic(expected = "out of range")]
fn worker_index_out_of_range_panics() {
    let rt = runtime::Builder::new_current_thread().build().unwrap();
    rt.handle().metrics().worker_poll_count(1);
}

/// A runtime of `flavor` with the poll-time histogram on, laid out by
/// `config` (tokio's default layout if `None`).
fn with_histogram(flavor: Flavor, config: Option<HistogramConfiguration>) -> Runtime {
    let mut b = match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread(),
        Flavor::MultiThread => {
            let mut b = runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
    };
    b.enable_metrics_poll_time_histogram();
    if let Some(c) = config {
        b.metrics_poll_time_histogram_configuration(c);
    }
    b.build().unwrap()
}

fn histogram_total(m: &RuntimeMetrics) -> u64 {
    (0..m.num_workers())
        .flat_map(|w| (0..m.poll_time_histogram_num_buckets()).map(move |b| (w, b)))
        .map(|(w, b)| m.poll_time_histogram_bucket_count(w, b))
        .sum()
}

fn histogram_counts_every_poll(flavor: Flavor) {
    const N: usize = 50;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = with_histogram(flavor, None);
    let m = rt.handle().metrics();
    assert!(m.poll_time_histogram_enabled());
    assert_eq!(histogram_total(&m), 0);
    rt.block_on(async {
        let tasks: Vec<_> = (0..N)
            .map(|_| runtime::spawn(runtime::task::yield_now()))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    // Each task was polled twice (before and after its yield). A worker
    // records a poll just after the task's output went out, so on the
    // multi-thread runtime the last ones may trail for a moment.
    wait_until(|| histogram_total(&m) >= 2 * N as u64);
    let polls = sum(&m, RuntimeMetrics::worker_poll_count);
    assert_eq!(histogram_total(&m), polls);
    for w in 0..m.num_workers() {
        let per_worker: u64 = (0..m.poll_time_histogram_num_buckets())
            .map(|b| m.poll_time_histogram_bucket_count(w, b))
            .sum();
        assert_eq!(per_worker, m.worker_poll_count(w), "worker {w}");
    }
}

fn a_long_poll_lands_in_a_bucket_that_reaches_its_duration(flavor: Flavor) {
    const SLEPT: Duration = Duration::from_millis(20);
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let configs = [
        HistogramConfiguration::linear(Duration::from_millis(5), 10),
        HistogramConfiguration::log(LogHistogram::default()),
        // 20 ms is past the last boundary: the open-ended bucket.
        HistogramConfiguration::log(
            LogHistogram::builder()
                .min_value(Duration::from_micros(1))
                .max_value(Duration::from_millis(10))
                .precision_exact(1),
        ),
    ];
    for config in configs {
        let rt = with_histogram(flavor, Some(config));
        let m = rt.handle().metrics();
        rt.block_on(async {
            runtime::spawn(async { std::thread::sleep(SLEPT) })
                .await
                .unwrap();
        });
        wait_until(|| histogram_total(&m) >= 1);
        let n = m.poll_time_histogram_num_buckets();
        let reaching: u64 = (0..m.num_workers())
            .flat_map(|w| (0..n).map(move |b| (w, b)))
            .filter(|&(_, b)| m.poll_time_histogram_bucket_range(b).end > SLEPT)
            .map(|(w, b)| m.poll_time_histogram_bucket_count(w, b))
            .sum();
        assert!(
            reaching >= 1,
            "{config:?}: no poll counted at {SLEPT:?} or more"
        );
        // The longest poll is counted in the bucket whose range holds it.
        let (w, longest) = (0..m.num_workers())
            .map(|w| (w, m.worker_max_poll_duration(w)))
            .max_by_key(|&(_, d)| d)
            .unwrap();
        assert!(longest >= SLEPT, "{longest:?}");
        let b = (0..n)
            .find(|&b| m.poll_time_histogram_bucket_range(b).contains(&longest))
            .unwrap_or_else(|| panic!("{config:?}: no bucket holds {longest:?}"));
        assert!(m.poll_time_histogram_bucket_count(w, b) >= 1);
    }
}

#[test]
fn histogram_layouts_are_the_documented_ones() {
    let ms = Duration::from_millis;
    let ns = Duration::from_nanos;
    let ranges = |config: Option<HistogramConfiguration>| {
        let rt = with_histogram(Flavor::CurrentThread, config);
        let m = rt.handle().metrics();
        (0..m.poll_time_histogram_num_buckets())
            .map(|b| m.poll_time_histogram_bucket_range(b))
            .collect::<Vec<_>>()
    };
    let open = ns(u64::MAX);
    assert_eq!(
        ranges(Some(HistogramConfiguration::linear(ms(1), 5))),
        [
            ms(0)..ms(1),
            ms(1)..ms(2),
            ms(2)..ms(3),
            ms(3)..ms(4),
            ms(4)..open
        ]
    );
    // tokio's default: 10 buckets of 100 µs.
    let default = ranges(None);
    assert_eq!(default.len(), 10);
    for (i, r) in default.iter().enumerate() {
        let us = |n: u64| Duration::from_micros(n);
        let end = if i == 9 {
            open
        } else {
            us(100 * (i as u64 + 1))
        };
        assert_eq!(*r, us(100 * i as u64)..end);
    }
    // Precision 0: each bucket twice as wide as the one before.
    let doubling = LogHistogram::builder()
        .precision_exact(0)
        .min_value(ns(1024))
        .max_value(ns(16384));
    assert_eq!(
        ranges(Some(HistogramConfiguration::log(doubling))),
        [
            ns(0)..ns(1024),
            ns(1024)..ns(2048),
            ns(2048)..ns(4096),
            ns(4096)..ns(8192),
            ns(8192)..ns(16384),
            ns(16384)..open,
        ]
    );
    // Precision 2: four buckets per power of two, each at most a quarter
    // of its start wide; bucket 0 ends at or below `min_value`, the last
    // starts at or above `max_value`.
    let log = LogHistogram::builder()
        .min_value(Duration::from_micros(1))
        .max_value(ms(100))
        .max_error(0.25);
    let r = ranges(Some(HistogramConfiguration::log(log)));
    assert!(r[0].end <= Duration::from_micros(1), "{:?}", r[0]);
    assert!(r[r.len() - 1].start >= ms(100), "{:?}", r[r.len() - 1]);
    for w in r.windows(2) {
        assert_eq!(w[0].end, w[1].start);
    }
    for b in &r[1..r.len() - 1] {
        assert!((b.end - b.start) * 4 <= b.start.max(ns(4)), "{b:?}");
    }
    assert!(LogHistogram::builder()
        .precision_exact(10)
        .max_buckets(100)
        .is_err());
}

#[test]
fn histogram_is_off_by_default() {
    let rt = runtime::Builder::new_current_thread().build().unwrap();
    let m = rt.handle().metrics();
    rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    assert!(!m.poll_time_histogram_enabled());
    assert_eq!(m.poll_time_histogram_num_buckets(), 0);
    assert_eq!(
        m.poll_time_histogram_bucket_range(0),
        Duration::ZERO..Duration::ZERO
    );
    assert_eq!(m.poll_time_histogram_bucket_count(0, 0), 0);
    assert!(m.worker_poll_count(0) >= 1);
}

#[test]
#[should_panic(expected = "out of range")]
fn histogram_bucket_out_of_range_panics() {
    let rt = with_histogram(Flavor::CurrentThread, None);
    rt.handle().metrics().poll_time_histogram_bucket_range(10);
}

/// The reactor is the process's: its counts only grow, whatever other
/// tests do meanwhile, so "grew" is what can be asserted.
fn reactor_counts_grow_with_tcp_traffic(flavor: Flavor) {
    const ROUND_TRIPS: usize = 50;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let m = rt.handle().metrics();
    let (ready, turns) = (m.io_driver_ready_count(), m.reactor_turn_count());
    rt.block_on(async {
        let (addr, _) = echo_server().await.unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 8];
        for i in 0..ROUND_TRIPS {
            let msg = (i as u64).to_le_bytes();
            s.write_all(&msg).await.unwrap();
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, msg);
        }
    });
    // A connect, an accept, and reads that found nothing until the peer
    // wrote: each waited for an event from a turn of the reactor.
    assert!(m.io_driver_ready_count() > ready);
    assert!(m.reactor_turn_count() > turns);
    let max = m.reactor_max_ready_per_turn();
    assert!(max >= 1);
    // No turn delivered more than all turns together (read in that order).
    assert!(m.io_driver_ready_count() >= max);
}

#[test]
fn timers_pending_counts_sleeps_until_dropped() {
    const N: usize = 20;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    // The wheel is the process's: the other tests that use timers in this
    // file take the same lock.
    let _serial = serial();
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    let before = m.timers_pending();
    let sleeps: Vec<_> = (0..N)
        .map(|_| rt.spawn(runtime::time::sleep(Duration::from_secs(3600))))
        .collect();
    // Registered by each task's first poll.
    wait_until(|| m.timers_pending() >= before + N);
    assert_eq!(m.timers_pending(), before + N);
    for s in &sleeps {
        s.abort();
    }
    rt.block_on(async {
        for s in sleeps {
            assert!(s.await.unwrap_err().is_cancelled());
        }
    });
    // A cancelled task's future (and its timer) is dropped by its worker,
    // which may trail the `JoinHandle` by a moment.
    wait_until(|| m.timers_pending() == before);
}

#[test]
fn timers_pending_counts_a_paused_clocks_timers() {
    const N: usize = 5;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let _serial = serial();
    let rt = runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    let before = m.timers_pending();
    rt.block_on(async {
        let sleeps: Vec<_> = (0..N)
            .map(|_| runtime::spawn(runtime::time::sleep(Duration::from_secs(3600))))
            .collect();
        // While this future keeps yielding the runtime is never idle, so
        // the paused clock does not jump to the deadlines.
        yield_until(|| m.timers_pending() >= before + N).await;
        assert_eq!(m.timers_pending(), before + N);
        for s in sleeps {
            s.abort();
            assert!(s.await.unwrap_err().is_cancelled());
        }
        assert_eq!(m.timers_pending(), before);
    });
}

flavor_tests!(
    counts_follow_tcp_echo_work,
    alive_tasks_go_back_to_zero,
    park_count_grows_when_idle,
    queue_depths_count_waiting_tasks,
    blocking_thread_counts,
    histogram_counts_every_poll,
    a_long_poll_lands_in_a_bucket_that_reaches_its_duration,
    reactor_counts_grow_with_tcp_traffic,
);
