//! `Handle::metrics`: the counters move as the work they count happens
//! (spawns, polls over real TCP, parks, steals, blocking threads, queue
//! depths), and go back down when the work is gone. Only relations between
//! readings are asserted, never durations against a bound.

use std::sync::mpsc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::metrics::RuntimeMetrics;
use runtime::net::TcpStream;
use runtime::Runtime;
use runtime_tests::{echo_server, flavor_tests, Flavor, Watchdog, HANG_LIMIT};

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
                    s.shutdown(std::net::Shutdown::Write).unwrap();
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
    let longest = (0..m.num_workers())
        .map(|w| m.worker_max_poll_duration(w))
        .max()
        .unwrap();
    assert!(longest > Duration::ZERO);
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

flavor_tests!(
    counts_follow_tcp_echo_work,
    alive_tasks_go_back_to_zero,
    park_count_grows_when_idle,
    queue_depths_count_waiting_tasks,
    blocking_thread_counts,
);
