//! The rest of tokio's metric names, checked against known workloads:
//! remote schedules counted for spawns from other threads only, overflow
//! of a full local queue, steal operations against stolen tasks, the
//! park/unpark count odd while parked, worker thread ids (also across
//! `block_in_place`), the blocking queue, the mean poll time, the
//! reactor's registrations, and budget-forced yields.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use runtime::metrics::RuntimeMetrics;
use runtime::{Builder, Runtime};
use runtime_tests::{Watchdog, HANG_LIMIT};

fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..5_000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(done(), "the condition did not become true within 5 s");
}

/// `n` spawns onto `rt` from a thread that is none of its own.
fn spawn_from_plain_thread(rt: &Runtime, n: usize) -> Vec<runtime::task::JoinHandle<usize>> {
    let handle = rt.handle().clone();
    std::thread::spawn(move || {
        (0..n)
            .map(|i| handle.spawn(async move { i }))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap()
}

fn multi(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn remote_schedules_are_spawns_from_outside_the_workers() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for rt in [multi(2), Builder::new_current_thread().build().unwrap()] {
        let m = rt.handle().metrics();
        assert_eq!(m.remote_schedule_count(), 0);
        // 30 spawns from a plain thread.
        let joins = spawn_from_plain_thread(&rt, 30);
        assert_eq!(m.remote_schedule_count(), 30);
        rt.block_on(async move {
            for j in joins {
                j.await.unwrap();
            }
            // 50 spawns by a task: on the runtime's own thread, local.
            let before = runtime::Handle::current().metrics().remote_schedule_count();
            runtime::spawn(async {
                let inner: Vec<_> = (0..50).map(|i| runtime::spawn(async move { i })).collect();
                for j in inner {
                    j.await.unwrap();
                }
            })
            .await
            .unwrap();
            let after = runtime::Handle::current().metrics().remote_schedule_count();
            let outer = match runtime::Handle::current().runtime_flavor() {
                // `block_on`'s thread is not a worker: its spawn is remote.
                runtime::RuntimeFlavor::MultiThread => 1,
                // There it is the runtime's own thread.
                _ => 0,
            };
            assert_eq!(after - before, outer, "the inner spawns were local");
        });
    }
}

#[test]
fn a_full_local_queue_overflows_to_the_global_one() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = multi(1);
    let m = rt.handle().metrics();
    rt.block_on(async {
        runtime::spawn(async {
            // More than the 256 slots, spawned without a pause: the queue
            // sends half of itself to the global queue when it fills.
            let joins: Vec<_> = (0..1_000)
                .map(|i| runtime::spawn(async move { i }))
                .collect();
            for j in joins {
                j.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let overflows = m.worker_overflow_count(0);
    assert!(
        overflows >= 3,
        "1,000 spawns into 256 slots: {overflows} overflows"
    );
    let ct = Builder::new_current_thread().build().unwrap();
    assert_eq!(ct.handle().metrics().worker_overflow_count(0), 0);
}

#[test]
fn steal_operations_count_steals_not_tasks() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = multi(2);
    let m = rt.handle().metrics();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    rt.block_on(async {
        // One task blocks its worker with 100 tasks queued behind it: the
        // other worker steals them, half a queue at a time.
        let blocker = runtime::spawn(async move {
            let joins: Vec<_> = (0..100).map(|i| runtime::spawn(async move { i })).collect();
            release_rx.recv().unwrap();
            joins
        });
        let sum = |f: fn(&RuntimeMetrics, usize) -> u64| (0..2).map(|w| f(&m, w)).sum::<u64>();
        wait_until(|| sum(RuntimeMetrics::worker_steal_count) > 0);
        release_tx.send(()).unwrap();
        for j in blocker.await.unwrap() {
            j.await.unwrap();
        }
        let (ops, tasks) = (
            sum(RuntimeMetrics::worker_steal_operations),
            sum(RuntimeMetrics::worker_steal_count),
        );
        assert!(ops >= 1 && ops <= tasks, "{ops} steals took {tasks} tasks");
    });
}

#[test]
fn park_unpark_count_is_odd_while_parked_and_thread_ids_follow_the_workers() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = multi(2);
    let m = rt.handle().metrics();
    // Idle workers park: odd counts.
    for w in 0..2 {
        wait_until(|| m.worker_park_unpark_count(w) % 2 == 1);
    }
    let ids: HashSet<_> = (0..2).map(|w| m.worker_thread_id(w).unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&std::thread::current().id()));
    // A task wakes one of them: it unparks (even), runs, parks again (odd,
    // and larger).
    let before: Vec<u64> = (0..2).map(|w| m.worker_park_unpark_count(w)).collect();
    rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    wait_until(|| {
        (0..2).all(|w| m.worker_park_unpark_count(w) % 2 == 1)
            && (0..2).any(|w| m.worker_park_unpark_count(w) > before[w])
    });

    // `block_in_place` hands the worker to a new thread.
    let old = ids.clone();
    let m2 = m.clone();
    rt.block_on(async move {
        runtime::spawn(async move {
            let me = std::thread::current().id();
            assert!(old.contains(&me));
            runtime::task::block_in_place(|| {
                // This thread no longer runs a worker; another one does.
                wait_until(|| {
                    let now: HashSet<_> = (0..2).filter_map(|w| m2.worker_thread_id(w)).collect();
                    now.len() == 2 && !now.contains(&me)
                });
            });
        })
        .await
        .unwrap();
    });
    drop(rt);
    for w in 0..2 {
        assert_eq!(m.worker_thread_id(w), None, "stopped workers run nowhere");
    }

    // Current-thread: the thread in `block_on`, only while it is there.
    let ct = Builder::new_current_thread().build().unwrap();
    let m = ct.handle().metrics();
    assert_eq!(m.worker_thread_id(0), None);
    let inside = ct.block_on(async { runtime::Handle::current().metrics().worker_thread_id(0) });
    assert_eq!(inside, Some(std::thread::current().id()));
    assert_eq!(m.worker_thread_id(0), None);
}

#[test]
fn blocking_queue_depth_counts_jobs_waiting_for_a_thread() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let (running_tx, running_rx) = mpsc::channel();
    let first = rt.spawn_blocking(move || {
        running_tx.send(()).unwrap();
        g.wait();
    });
    running_rx.recv().unwrap();
    let rest: Vec<_> = (0..3).map(|i| rt.spawn_blocking(move || i)).collect();
    let waiting = m.blocking_queue_depth();
    gate.wait();
    assert_eq!(waiting, 3, "one thread, busy: three wait");
    rt.block_on(async {
        first.await.unwrap();
        for r in rest {
            r.await.unwrap();
        }
    });
    assert_eq!(m.blocking_queue_depth(), 0);
}

/// 20 tasks yielding 500 times each: 10,000 polls that do nothing else.
async fn yielders() {
    let joins: Vec<_> = (0..20)
        .map(|_| {
            runtime::spawn(async {
                for _ in 0..500 {
                    runtime::task::yield_now().await;
                }
            })
        })
        .collect();
    for j in joins {
        j.await.unwrap();
    }
}

#[test]
fn mean_poll_time_is_measured_from_batches_of_polls() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = multi(1);
    let m = rt.handle().metrics();
    assert_eq!(m.worker_mean_poll_time(0), Duration::ZERO);
    rt.block_on(async {
        runtime::spawn(yielders()).await.unwrap();
    });
    let mean = m.worker_mean_poll_time(0);
    assert!(
        mean > Duration::ZERO && mean < Duration::from_secs(1),
        "mean poll {mean:?}"
    );
    // A fixed interval measures nothing.
    let fixed = Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(31)
        .build()
        .unwrap();
    fixed.block_on(yielders());
    assert!(fixed.handle().metrics().worker_poll_count(0) >= 9_000);
    assert_eq!(
        fixed.handle().metrics().worker_mean_poll_time(0),
        Duration::ZERO
    );
}

#[test]
fn reactor_registrations_and_forced_yields() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = multi(1);
    let m = rt.handle().metrics();
    rt.block_on(async {
        // Process-wide counts: other tests only add to them.
        let (reg, dereg) = (
            m.io_driver_fd_registered_count(),
            m.io_driver_fd_deregistered_count(),
        );
        let mut sockets = Vec::new();
        for _ in 0..10 {
            sockets.push(runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        assert!(m.io_driver_fd_registered_count() >= reg + 10);
        drop(sockets);
        assert!(m.io_driver_fd_deregistered_count() >= dereg + 10);

        // An always-ready reader read 1,000 times in one task: the budget
        // of 128 operations per poll runs out, again and again.
        let yields = m.budget_forced_yield_count();
        runtime::spawn(async {
            use runtime::io::AsyncReadExt;
            let mut src = runtime::io::repeat(7);
            let mut buf = [0u8; 16];
            for _ in 0..1_000 {
                src.read_exact(&mut buf).await.unwrap();
            }
        })
        .await
        .unwrap();
        let forced = m.budget_forced_yield_count() - yields;
        assert!(
            forced >= 7,
            "1,000 reads with a budget of 128: {forced} yields"
        );
    });
}

#[test]
fn local_schedules_are_wakes_from_inside_the_workers() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for rt in [multi(1), Builder::new_current_thread().build().unwrap()] {
        let m = rt.handle().metrics();
        let total = |m: &RuntimeMetrics| {
            (0..m.num_workers())
                .map(|w| m.worker_local_schedule_count(w))
                .sum::<u64>()
        };
        // 30 spawns from a plain thread are remote, not local.
        let joins = spawn_from_plain_thread(&rt, 30);
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let d = done.clone();
        rt.block_on(async move {
            for j in joins {
                j.await.unwrap();
            }
            // One task spawns 50 that finish on their own: 50 local
            // schedules (the first spawn, from `block_on`, is local only
            // where `block_on`'s thread is the runtime's).
            drop(runtime::spawn(async move {
                for _ in 0..50 {
                    let d = d.clone();
                    drop(runtime::spawn(async move {
                        d.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }));
                }
            }));
            while done.load(std::sync::atomic::Ordering::SeqCst) < 50 {
                runtime::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let expected = match rt.handle().runtime_flavor() {
            runtime::RuntimeFlavor::MultiThread => 50,
            _ => 51,
        };
        // The worker adds its count when it parks.
        wait_until(|| total(&m) >= expected);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(total(&m), expected, "{:?}", rt.handle().runtime_flavor());
    }
}
