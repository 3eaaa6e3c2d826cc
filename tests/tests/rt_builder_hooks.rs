//! tokio's thread knobs on `Builder`: `thread_name_fn` names every thread
//! the runtime starts, `thread_keep_alive` lets idle blocking threads go
//! sooner, and `on_thread_park`/`on_thread_unpark` run on the worker
//! around each sleep, on both schedulers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use runtime::{Builder, RuntimeFlavor};

#[test]
fn thread_name_fn_names_workers_and_blocking_threads() {
    let next = Arc::new(AtomicUsize::new(0));
    let n = next.clone();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name_fn(move || format!("named-{}", n.fetch_add(1, Ordering::Relaxed)))
        .build()
        .unwrap();
    let (worker, blocking) = rt.block_on(async {
        let worker = runtime::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        let blocking = runtime::spawn_blocking(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        (worker.unwrap(), blocking.unwrap())
    });
    assert!(worker.starts_with("named-"), "{worker}");
    assert!(blocking.starts_with("named-"), "{blocking}");
    assert_ne!(worker, blocking, "one name per thread");
    assert!(
        next.load(Ordering::Relaxed) >= 3,
        "two workers and a blocking thread"
    );
    assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
}

#[test]
fn thread_keep_alive_lets_an_idle_blocking_thread_exit() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async { runtime::spawn_blocking(|| ()).await.unwrap() });
    let metrics = rt.metrics();
    assert_eq!(metrics.num_blocking_threads(), 1);
    // Far below the default 10 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metrics.num_blocking_threads() > 0 {
        assert!(Instant::now() < deadline, "the idle blocking thread stayed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The hooks run on the runtime's own threads, once around each sleep:
/// every park is followed by an unpark, and an idle runtime woken by a
/// timer parks and unparks.
fn park_hooks_run_around_each_sleep(mut builder: Builder, thread_prefix: &str) {
    let parks = Arc::new(AtomicUsize::new(0));
    let unparks = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let (p, u, t) = (parks.clone(), unparks.clone(), threads.clone());
    let rt = builder
        .thread_name("hooked")
        .on_thread_park(move || {
            p.fetch_add(1, Ordering::SeqCst);
            t.lock()
                .push(std::thread::current().name().map(str::to_owned));
        })
        .on_thread_unpark(move || {
            u.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..3 {
            runtime::spawn(runtime::time::sleep(Duration::from_millis(20)))
                .await
                .unwrap();
        }
    });
    drop(rt);
    let (parks, unparks) = (parks.load(Ordering::SeqCst), unparks.load(Ordering::SeqCst));
    assert!(parks >= 3, "three timer sleeps, {parks} parks");
    assert!(unparks >= 3, "{unparks} unparks");
    assert!(
        parks.abs_diff(unparks) <= 1,
        "{parks} parks but {unparks} unparks"
    );
    for name in threads.lock().iter() {
        let name = name.as_deref().unwrap_or("");
        assert!(
            name.starts_with(thread_prefix),
            "a park hook ran on {name:?}"
        );
    }
}

#[test]
fn park_hooks_on_the_multi_thread_scheduler() {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(2);
    park_hooks_run_around_each_sleep(b, "hooked");
}

#[test]
fn park_hooks_on_the_current_thread_scheduler() {
    // The `block_on` thread is the test's own thread.
    let me = std::thread::current().name().unwrap_or("").to_owned();
    park_hooks_run_around_each_sleep(Builder::new_current_thread(), &me);
}
