//! tokio's scheduler knobs, observed through the order tasks run in (one
//! worker, so the order is the scheduler's alone): `global_queue_interval`
//! fixes when a task from another thread gets its turn ahead of local
//! work, `event_interval` how often tasks that yielded are let back in,
//! `disable_lifo_slot` whether a woken task jumps the queue. Counts and
//! orders only; no clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use runtime::sync::oneshot;
use runtime::{Builder, Runtime};

/// Where, among `locals` tasks spawned on the runtime's own thread, a task
/// that another thread spawned earlier runs.
fn remote_position(rt: &Runtime, locals: usize) -> usize {
    let order = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let handle = runtime::Handle::current();
        let o = order.clone();
        // On the runtime's thread: local work, spawned first...
        let (done_tx, done_rx) = oneshot::channel();
        runtime::spawn(async move {
            // ... by a task, so that they land in the worker's own queue.
            let remote = {
                let o = o.clone();
                std::thread::spawn(move || {
                    handle.spawn(async move { o.lock().push(usize::MAX) });
                })
            };
            remote.join().unwrap();
            // The last local to run reports; nobody waits on each one
            // (a join would poll this task again after each).
            let done = Arc::new(Mutex::new(Some(done_tx)));
            let ran = Arc::new(AtomicUsize::new(0));
            for i in 0..locals {
                let (o, done, ran) = (o.clone(), done.clone(), ran.clone());
                runtime::spawn(async move {
                    o.lock().push(i);
                    if ran.fetch_add(1, Ordering::SeqCst) + 1 == locals {
                        done.lock().take().unwrap().send(()).unwrap();
                    }
                });
            }
        });
        done_rx.await.unwrap();
        // The remote task ran by now (a worker with local work still looks
        // at the injector), or runs when the locals are done.
        while order.lock().len() < locals + 1 {
            runtime::task::yield_now().await;
        }
    });
    let order = order.lock();
    order.iter().position(|&i| i == usize::MAX).unwrap()
}

fn one_worker() -> Builder {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(1);
    b
}

#[test]
fn a_fixed_global_queue_interval_sets_when_a_remote_task_runs() {
    for interval in [4u32, 40] {
        let rt = one_worker()
            .global_queue_interval(interval)
            .build()
            .unwrap();
        let at = remote_position(&rt, 200);
        // The spawning task's own poll counts as one of the interval.
        assert_eq!(
            at,
            interval as usize - 1,
            "interval {interval}: the remote task ran after {at} local ones"
        );
    }
    let rt = Builder::new_current_thread()
        .global_queue_interval(10)
        .build()
        .unwrap();
    let at = remote_position(&rt, 200);
    assert_eq!(at, 9, "current-thread, interval 10");
}

/// How many times a task looping on `yield_now` runs while a chain of
/// `chain` tasks (each spawning the next) keeps the worker busy.
fn yielder_turns(rt: &Runtime, chain: usize) -> usize {
    let turns = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let (t, s) = (turns.clone(), stop.clone());
        let yielder = runtime::spawn(async move {
            while s.load(Ordering::Relaxed) == 0 {
                t.fetch_add(1, Ordering::Relaxed);
                runtime::task::yield_now().await;
            }
        });
        fn link(left: usize, counted: Arc<AtomicUsize>, done: oneshot::Sender<usize>) {
            if left == 0 {
                let _ = done.send(counted.load(Ordering::Relaxed));
                return;
            }
            runtime::spawn(async move { link(left - 1, counted, done) });
        }
        let (tx, rx) = oneshot::channel();
        let t = turns.clone();
        runtime::spawn(async move {
            // The yielder has run once when the chain starts.
            while t.load(Ordering::Relaxed) == 0 {
                runtime::task::yield_now().await;
            }
            t.store(0, Ordering::Relaxed);
            link(chain, t, tx);
        });
        let seen = rx.await.unwrap();
        stop.store(1, Ordering::Relaxed);
        yielder.await.unwrap();
        seen
    })
}

#[test]
fn event_interval_sets_how_often_yielded_tasks_come_back() {
    // Without the LIFO slot every poll is one scheduler tick (a LIFO run
    // of up to three polls is one tick, as in tokio).
    let chain = 2_000;
    let turns = |interval| {
        let rt = one_worker()
            .event_interval(interval)
            .disable_lifo_slot()
            .build()
            .unwrap();
        yielder_turns(&rt, chain)
    };
    let (often, rarely) = (turns(10), turns(200));
    // One turn of the yielder per interval, its own poll one of the ticks:
    // `turns * interval` is about `chain + turns`.
    assert!(
        often.abs_diff(chain / 9) <= 5,
        "event_interval(10): {often} turns over {chain} polls"
    );
    assert!(
        rarely.abs_diff(chain / 199) <= 2,
        "event_interval(200): {rarely} turns over {chain} polls"
    );
}

/// The order in which two tasks, woken one after the other by a third,
/// run.
fn wake_order(rt: &Runtime) -> Vec<&'static str> {
    let order = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let (b_tx, b_rx) = oneshot::channel::<()>();
        let (c_tx, c_rx) = oneshot::channel::<()>();
        let (o1, o2) = (order.clone(), order.clone());
        let ready = Arc::new(AtomicUsize::new(0));
        let (r1, r2) = (ready.clone(), ready.clone());
        let b = runtime::spawn(async move {
            let rx = b_rx;
            r1.fetch_add(1, Ordering::SeqCst);
            rx.await.unwrap();
            o1.lock().push("b");
        });
        let c = runtime::spawn(async move {
            let rx = c_rx;
            r2.fetch_add(1, Ordering::SeqCst);
            rx.await.unwrap();
            o2.lock().push("c");
        });
        while ready.load(Ordering::SeqCst) < 2 {
            runtime::task::yield_now().await;
        }
        // Both wait; one task on the worker wakes b, then c.
        runtime::spawn(async move {
            b_tx.send(()).unwrap();
            c_tx.send(()).unwrap();
        })
        .await
        .unwrap();
        b.await.unwrap();
        c.await.unwrap();
    });
    let order = order.lock();
    order.clone()
}

#[test]
fn disable_lifo_slot_runs_woken_tasks_in_wake_order() {
    // With the slot, the last task woken runs next.
    assert_eq!(wake_order(&one_worker().build().unwrap()), ["c", "b"]);
    assert_eq!(
        wake_order(&one_worker().disable_lifo_slot().build().unwrap()),
        ["b", "c"]
    );
}

#[test]
#[should_panic(expected = "event_interval must be greater than 0")]
fn a_zero_event_interval_panics_as_in_tokio() {
    Builder::new_multi_thread().event_interval(0);
}

#[test]
#[should_panic(expected = "global_queue_interval must be greater than 0")]
fn a_zero_global_queue_interval_panics_as_in_tokio() {
    Builder::new_current_thread().global_queue_interval(0);
}
