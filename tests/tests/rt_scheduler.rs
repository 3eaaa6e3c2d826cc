//! Scheduler behaviour a user relies on: a blocked worker does not stall the
//! others, one always-ready connection cannot starve its neighbours (the
//! coop budget), two tasks waking each other forever cannot starve a third,
//! the blocking pool, thread hooks and names, and shutdown semantics.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Poll, Waker};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpListener;
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor, Watchdog, HANG_LIMIT};

/// One task blocks its worker thread (a std channel receive, as user code
/// calling a blocking API would): echoes on another connection still
/// complete, because the other worker runs them and polls the reactor.
#[test]
fn a_blocked_worker_does_not_stall_io_on_the_other_worker() {
    let _w = Watchdog::start(HANG_LIMIT * 2);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let released_by_test = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let blocker = runtime::spawn(async move {
            started_tx.send(()).unwrap();
            // Blocks this worker thread until the test releases it (or, if
            // I/O is stalled, until the long timeout, which fails the test).
            release_rx.recv_timeout(HANG_LIMIT).is_ok()
        });
        started_rx.recv().unwrap();
        // A plain std client on its own thread, so the check does not depend
        // on the runtime's own client code.
        let client = std::thread::spawn(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            for i in 0..200u32 {
                let msg = i.to_le_bytes();
                c.write_all(&msg).unwrap();
                let mut back = [0u8; 4];
                c.read_exact(&mut back).unwrap();
                assert_eq!(back, msg);
            }
        });
        client
            .join()
            .expect("echoes completed while a worker was blocked");
        release_tx.send(()).unwrap();
        blocker.await.unwrap()
    });
    assert!(
        released_by_test,
        "the blocker timed out: I/O stalled while one worker was blocked"
    );
}

/// A connection that is always readable (1 MiB queued, read 1 byte at a
/// time) in one task, and a second task on the same single thread: the
/// second runs long before the first drains its socket, because each
/// operation spends the task's coop budget and a spent budget yields.
fn always_ready_connection_does_not_starve_a_neighbour(flavor: Flavor) {
    let rt = match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread().build().unwrap(),
        // One worker: both tasks must share it.
        Flavor::MultiThread => runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    };
    let _w = Watchdog::start(HANG_LIMIT);
    let read_before_neighbour = rt.block_on(async {
        let (mut a, mut b) = connected_pair().await.unwrap();
        let payload = vec![7u8; 1 << 20];
        let writer = runtime::spawn(async move {
            b.write_all(&payload).await.unwrap();
            b
        });
        // Let the writer queue data until the reader has plenty.
        let mut first = [0u8; 1];
        a.read_exact(&mut first).await.unwrap();
        let neighbour_ran = Arc::new(AtomicBool::new(false));
        let flag = neighbour_ran.clone();
        let reader = runtime::spawn(async move {
            let mut byte = [0u8; 1];
            let mut n = 0usize;
            while !flag.load(Ordering::SeqCst) && n < (1 << 20) - 1 {
                a.read_exact(&mut byte).await.unwrap();
                n += 1;
            }
            n
        });
        let neighbour = runtime::spawn(async move {
            neighbour_ran.store(true, Ordering::SeqCst);
        });
        neighbour.await.unwrap();
        let n = reader.await.unwrap();
        drop(writer.await.unwrap());
        n
    });
    assert!(
        read_before_neighbour < (1 << 20) - 1,
        "the reader drained 1 MiB before its neighbour ran: no coop budget"
    );
}

/// Two tasks that wake each other forever (each wakes the other, then
/// returns Pending) and a third task: the third still runs, on one thread.
fn ping_pong_forever_does_not_starve_a_third_task(flavor: Flavor) {
    let rt = match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread().build().unwrap(),
        Flavor::MultiThread => runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    };
    let _w = Watchdog::start(HANG_LIMIT);
    let stop = Arc::new(AtomicBool::new(false));
    let slots: Arc<[parking_lot::Mutex<Option<Waker>>; 2]> = Arc::new(Default::default());
    rt.block_on(async {
        let mut pingers = Vec::new();
        for me in 0..2 {
            let (stop, slots) = (stop.clone(), slots.clone());
            pingers.push(runtime::spawn(std::future::poll_fn(move |cx| {
                if stop.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *slots[me].lock() = Some(cx.waker().clone());
                if let Some(other) = slots[1 - me].lock().take() {
                    other.wake();
                }
                Poll::Pending
            })));
        }
        // The third task: it must get a turn while the pair keeps waking.
        let stop3 = stop.clone();
        runtime::spawn(async move { stop3.store(true, Ordering::SeqCst) })
            .await
            .unwrap();
        // Wake both one last time so they see `stop`.
        for s in slots.iter() {
            if let Some(w) = s.lock().take() {
                w.wake();
            }
        }
        for p in pingers {
            p.await.unwrap();
        }
    });
    assert!(stop.load(Ordering::SeqCst));
}

flavor_tests!(
    always_ready_connection_does_not_starve_a_neighbour,
    ping_pong_forever_does_not_starve_a_third_task
);

/// `spawn_blocking` runs closures off the workers, many at once, and a
/// panic in one is a `JoinError`.
#[test]
fn spawn_blocking_runs_in_parallel_and_isolates_panics() {
    block_on(Flavor::MultiThread, async {
        // 8 jobs that each wait for all 8 to have started: only possible if
        // they run on 8 threads at once.
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let jobs: Vec<_> = (0..8)
            .map(|i| {
                let b = barrier.clone();
                runtime::spawn_blocking(move || {
                    b.wait();
                    std::thread::current()
                        .name()
                        .map(str::to_owned)
                        .unwrap_or_default()
                        + &format!(":{i}")
                })
            })
            .collect();
        for j in jobs {
            let name = j.await.unwrap();
            assert!(name.starts_with("runtime-worker-blocking"), "{name}");
        }
        let err = runtime::spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert!(err.is_panic());
    });
}

/// `block_in_place` lets a task block while its worker's other tasks go on.
#[test]
fn block_in_place_hands_the_worker_on() {
    block_on(Flavor::MultiThread, async {
        let (tx, rx) = mpsc::channel::<()>();
        let ran = Arc::new(AtomicBool::new(false));
        let r2 = ran.clone();
        let blocker = runtime::spawn(async move {
            runtime::task::block_in_place(|| rx.recv_timeout(HANG_LIMIT).is_ok())
        });
        // Other tasks keep running and can release the blocker.
        let helper = runtime::spawn(async move {
            for _ in 0..10 {
                runtime::task::yield_now().await;
            }
            r2.store(true, Ordering::SeqCst);
            tx.send(()).unwrap();
        });
        helper.await.unwrap();
        assert!(
            blocker.await.unwrap(),
            "the blocker was released by the other task"
        );
        assert!(ran.load(Ordering::SeqCst));
    });
}

#[test]
#[should_panic(expected = "current-thread")]
fn block_in_place_on_current_thread_panics() {
    let rt = runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async { runtime::task::block_in_place(|| ()) });
}

#[test]
fn block_in_place_outside_a_runtime_just_runs() {
    assert_eq!(runtime::task::block_in_place(|| 5), 5);
}

/// Thread names and start/stop hooks: every started thread also stops by
/// the time the runtime is dropped.
#[test]
fn thread_name_and_hooks() {
    let _w = Watchdog::start(HANG_LIMIT);
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (started.clone(), stopped.clone());
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .thread_name("my-pool")
        .on_thread_start(move || {
            s1.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(async {
        runtime::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("my-pool"));
    drop(rt);
    assert!(started.load(Ordering::SeqCst) >= 3);
    assert_eq!(
        started.load(Ordering::SeqCst),
        stopped.load(Ordering::SeqCst)
    );
}

/// More worker threads than a runtime can count is an `InvalidInput` error
/// from `build`, before any thread starts (no hook runs).
#[test]
fn too_many_worker_threads_is_an_error_not_a_panic() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let err = runtime::Builder::new_multi_thread()
        .worker_threads(1 << 16)
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("worker_threads(65536)"), "{err}");
    assert_eq!(started.load(Ordering::SeqCst), 0);
}

struct PanicOnDrop(Arc<AtomicUsize>);
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("drop panics");
    }
}

/// A future whose `Drop` panics does not stop shutdown: every other future
/// is still dropped, and dropping the runtime returns.
fn panicking_drop_does_not_abort_shutdown(flavor: Flavor) {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let guard = PanicOnDrop(drops.clone());
        rt.spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await
        });
    }
    rt.block_on(async { runtime::task::yield_now().await });
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 10);
}

/// A waker sent to a plain thread and woken after the runtime is gone is a
/// no-op: no panic, no crash.
fn waker_woken_after_runtime_drop_is_a_noop(flavor: Flavor) {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let (tx, rx) = mpsc::channel::<Waker>();
    rt.spawn(std::future::poll_fn(move |cx| {
        let _ = tx.send(cx.waker().clone());
        Poll::<()>::Pending
    }));
    let waker = rt.block_on(async move {
        loop {
            if let Ok(w) = rx.try_recv() {
                return w;
            }
            runtime::task::yield_now().await;
        }
    });
    drop(rt);
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .expect("waking after shutdown must not panic");
}

flavor_tests!(
    panicking_drop_does_not_abort_shutdown,
    waker_woken_after_runtime_drop_is_a_noop
);

/// `shutdown_timeout` returns even if a blocking job never finishes.
#[test]
fn shutdown_timeout_returns_with_a_stuck_blocking_job() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (_keep, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    rt.spawn_blocking_for_test(move || {
        started_tx.send(()).unwrap();
        // Stuck until the test process ends (the sender is kept alive).
        let _ = rx.recv();
    });
    started_rx.recv().unwrap();
    rt.shutdown_timeout(Duration::from_millis(50));
}

/// A `shutdown_timeout` too long for the clock means "wait as long as it
/// takes": it waits for a blocking job to finish and returns, no overflow.
#[test]
fn shutdown_timeout_of_duration_max_waits_for_blocking_jobs() {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let flag = done.clone();
    rt.spawn_blocking_for_test(move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        flag.store(true, Ordering::SeqCst);
    });
    started_rx.recv().unwrap();
    rt.shutdown_timeout(Duration::MAX);
    assert!(done.load(Ordering::SeqCst), "returned before the job ended");
}

/// `spawn` after the runtime has shut down gives a handle that resolves to
/// a cancelled `JoinError` (the future is dropped, never run).
#[test]
fn spawn_on_a_handle_after_shutdown_is_cancelled() {
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let ran = Arc::new(AtomicBool::new(false));
    let r2 = ran.clone();
    let join = handle.spawn(async move { r2.store(true, Ordering::SeqCst) });
    let err = futures_util::FutureExt::now_or_never(join)
        .expect("resolves at once")
        .unwrap_err();
    assert!(err.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

trait SpawnBlockingForTest {
    fn spawn_blocking_for_test(&self, f: impl FnOnce() + Send + 'static);
}

impl SpawnBlockingForTest for runtime::Runtime {
    fn spawn_blocking_for_test(&self, f: impl FnOnce() + Send + 'static) {
        let _guard = self.enter();
        drop(runtime::spawn_blocking(f));
    }
}
