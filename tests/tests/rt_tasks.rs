//! Tasks and their handles: outputs, panics, cancellation, runtime drop,
//! `is_finished`, `yield_now`, `Handle::current` and the refusal to block
//! inside a runtime.

use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::FutureExt;
use runtime::task::yield_now;
use runtime::{Handle, Runtime};
use runtime_tests::{
    block_on, flavor_tests, panic_message, yield_until, DropCounter, Flavor, Watchdog, HANG_LIMIT,
};

fn join_handle_returns_the_task_output(flavor: Flavor) {
    block_on(flavor, async {
        let handle = runtime::spawn(async { String::from("forty-two") });
        assert_eq!(handle.await.unwrap(), "forty-two");
        // A task that yields before finishing, and many at once.
        let handles: Vec<_> = (0..100u64)
            .map(|i| {
                runtime::spawn(async move {
                    yield_now().await;
                    i * i
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), (i * i) as u64);
        }
    });
}

/// `Runtime::spawn` from outside the runtime, and `Runtime::new()` (the
/// default flavor), deliver outputs too.
#[test]
fn runtime_new_and_runtime_spawn_deliver_outputs() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Runtime::new().unwrap();
    let handle = rt.spawn(async { 7u8 });
    assert_eq!(rt.block_on(handle).unwrap(), 7);
}

fn panicking_task_is_a_join_error_with_payload_and_runtime_keeps_running(flavor: Flavor) {
    block_on(flavor, async {
        let err = runtime::spawn(async {
            yield_now().await;
            panic!("task blew up: {}", 7);
        })
        .await
        .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert!(!err.is_cancelled(), "{err:?}");
        let payload = err.into_panic();
        assert_eq!(panic_message(&*payload).as_deref(), Some("task blew up: 7"));

        // A non-string payload comes back as itself.
        let err = runtime::spawn(async { std::panic::panic_any(1234u32) })
            .await
            .unwrap_err();
        assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&1234));

        // The runtime is still alive: new tasks run to completion.
        let after = runtime::spawn(async {
            yield_now().await;
            "still running"
        });
        assert_eq!(after.await.unwrap(), "still running");
    });
}

/// `abort` on a task parked forever: its `JoinHandle` reports cancellation,
/// and the future (with everything it owns) was dropped exactly once.
fn abort_on_pending_task_cancels_it_and_drops_its_future(flavor: Flavor) {
    block_on(flavor, async {
        let drops = DropCounter::new();
        let started = Arc::new(AtomicBool::new(false));
        let (guard, s) = (drops.guard(), started.clone());
        let handle = runtime::spawn(async move {
            let _guard = guard;
            s.store(true, Ordering::SeqCst);
            pending::<()>().await;
        });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        assert!(!handle.is_finished());
        assert_eq!(drops.count(), 0);
        handle.abort();
        let err = handle.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!err.is_panic(), "{err:?}");
        assert_eq!(
            drops.count(),
            1,
            "the aborted task's future was not dropped exactly once"
        );
    });
}

/// `abort` before the task was ever polled: the body never runs, the future
/// is still dropped, and the handle reports cancellation.
#[test]
fn abort_before_first_poll_cancels_without_running_the_body() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::CurrentThread.build();
    let drops = DropCounter::new();
    let ran = Arc::new(AtomicBool::new(false));
    let (guard, r) = (drops.guard(), ran.clone());
    // A current-thread runtime runs tasks only inside `block_on`: this one
    // is not polled before the abort.
    let handle = rt.spawn(async move {
        let _guard = guard;
        r.store(true, Ordering::SeqCst);
    });
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!ran.load(Ordering::SeqCst), "an aborted task's body ran");
    assert_eq!(drops.count(), 1);
}

/// `abort` on a finished task changes nothing: the output is still there.
fn abort_after_completion_keeps_the_output(flavor: Flavor) {
    block_on(flavor, async {
        let handle = runtime::spawn(async { 5 });
        yield_until(|| handle.is_finished()).await;
        handle.abort();
        assert_eq!(handle.await.unwrap(), 5);
    });
}

/// Dropping a runtime with 100 tasks parked forever drops each of their
/// futures exactly once; their handles (kept past the runtime) report
/// cancellation. Half of the tasks were never polled (spawned from outside
/// `block_on` at the end), half are parked.
fn dropping_runtime_drops_each_pending_future_exactly_once(flavor: Flavor) {
    const TASKS: usize = 100;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let drops = DropCounter::new();
    let started = Arc::new(AtomicUsize::new(0));
    let spawn_parked = |rt: &Runtime| {
        let (guard, started) = (drops.guard(), started.clone());
        rt.spawn(async move {
            let _guard = guard;
            started.fetch_add(1, Ordering::SeqCst);
            pending::<()>().await;
        })
    };
    let mut handles: Vec<_> = (0..TASKS / 2).map(|_| spawn_parked(&rt)).collect();
    rt.block_on(yield_until(|| started.load(Ordering::SeqCst) == TASKS / 2));
    handles.extend((0..TASKS / 2).map(|_| spawn_parked(&rt)));
    assert_eq!(
        drops.count(),
        0,
        "a pending future was dropped while its runtime lives"
    );

    drop(rt);
    assert_eq!(
        drops.count(),
        TASKS,
        "runtime drop must drop each pending future exactly once"
    );
    for (i, handle) in handles.into_iter().enumerate() {
        assert!(
            handle.is_finished(),
            "task {i} not finished after runtime drop"
        );
        match handle.now_or_never() {
            Some(Err(e)) => assert!(e.is_cancelled(), "task {i}: {e:?}"),
            Some(Ok(())) => panic!("task {i} completed though it was parked forever"),
            None => panic!("task {i}'s JoinHandle is pending after runtime drop"),
        }
    }
    assert_eq!(drops.count(), TASKS);
}

/// Spawning on a runtime that was dropped (through a `Handle` kept past it)
/// does not run the task, drops its future, and reports cancellation.
fn spawn_after_runtime_drop_is_cancelled(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let handle = rt.handle().clone();
    drop(rt);
    let drops = DropCounter::new();
    let guard = drops.guard();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let join = handle.spawn(async move {
        let _guard = guard;
        r.store(true, Ordering::SeqCst);
    });
    assert!(join.is_finished());
    match join.now_or_never() {
        Some(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
        other => panic!("spawn after shutdown gave {other:?}"),
    }
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(drops.count(), 1);
}

/// `is_finished` is false while the task waits and true once it completed,
/// before the handle is awaited.
fn is_finished_tracks_completion(flavor: Flavor) {
    block_on(flavor, async {
        let go = Arc::new(AtomicBool::new(false));
        let g = go.clone();
        let handle = runtime::spawn(async move {
            yield_until(|| g.load(Ordering::SeqCst)).await;
            "done"
        });
        for _ in 0..10 {
            yield_now().await;
            assert!(
                !handle.is_finished(),
                "is_finished before the task could finish"
            );
        }
        go.store(true, Ordering::SeqCst);
        yield_until(|| handle.is_finished()).await;
        assert!(handle.is_finished());
        assert_eq!(handle.await.unwrap(), "done");
    });
}

/// On one thread, a task that yields lets the other runnable tasks run
/// before it resumes: after a single `yield_now`, a task spawned just before
/// has run.
#[test]
fn yield_now_runs_the_other_ready_task_first_on_current_thread() {
    block_on(Flavor::CurrentThread, async {
        let outer = runtime::spawn(async {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let other = runtime::spawn(async move { r.store(true, Ordering::SeqCst) });
            assert!(!ran.load(Ordering::SeqCst), "spawn ran the task inline");
            yield_now().await;
            assert!(
                ran.load(Ordering::SeqCst),
                "yield_now did not let the other ready task run"
            );
            other.await.unwrap();
        });
        outer.await.unwrap();
    });
}

/// A multi-thread runtime with a single worker behaves the same: two tasks
/// that each wait for the other's progress and only `yield_now` in between
/// both finish (without the yield handing over, they would spin forever).
#[test]
fn yield_now_lets_another_task_run_on_one_multi_thread_worker() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let turn = Arc::new(AtomicUsize::new(0));
        let ping_pong = |me: usize| {
            let turn = turn.clone();
            runtime::spawn(async move {
                for round in 0..100 {
                    let mine = 2 * round + me;
                    while turn.load(Ordering::SeqCst) != mine {
                        yield_now().await;
                    }
                    turn.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let (a, b) = (ping_pong(0), ping_pong(1));
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(turn.load(Ordering::SeqCst), 200);
    });
}

fn handle_current_works_inside_block_on_and_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let handle = Handle::current();
        assert_eq!(handle.spawn(async { 1 }).await.unwrap(), 1);
        let inner = runtime::spawn(async {
            let handle = Handle::try_current().expect("try_current inside a task");
            handle.spawn(async { 2 }).await.unwrap()
        });
        assert_eq!(inner.await.unwrap(), 2);
    });
}

/// Outside any runtime `try_current` is an error (and `current` panics with
/// a message saying why), also after a `block_on` on this thread returned.
#[test]
fn handle_try_current_outside_runtime_is_an_error() {
    assert!(Handle::try_current().is_err());
    let payload = catch_unwind(Handle::current).expect_err("Handle::current outside a runtime");
    let msg = panic_message(&*payload).unwrap_or_default();
    assert!(
        msg.contains("outside a runtime"),
        "unclear panic message: {msg:?}"
    );
    block_on(Flavor::CurrentThread, async {
        assert!(Handle::try_current().is_ok());
    });
    assert!(
        Handle::try_current().is_err(),
        "the runtime context leaked out of block_on"
    );
}

/// `block_on` inside a task would stall the runtime: it panics with a clear
/// message, which the task's `JoinError` carries.
fn block_on_inside_a_task_panics_with_a_clear_message(flavor: Flavor) {
    block_on(flavor, async {
        let err = runtime::spawn(async {
            Handle::current().block_on(async { 1 });
        })
        .await
        .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        let msg = panic_message(&*err.into_panic()).unwrap_or_default();
        assert!(
            msg.contains("cannot block"),
            "unclear panic message: {msg:?}"
        );
        // The runtime survives it.
        assert_eq!(runtime::spawn(async { 3 }).await.unwrap(), 3);
    });
}

/// The same inside the `block_on` future itself (a nested `block_on`).
fn nested_block_on_panics_with_a_clear_message(flavor: Flavor) {
    block_on(flavor, async {
        let payload = catch_unwind(AssertUnwindSafe(|| Handle::current().block_on(async { 1 })))
            .expect_err("a nested block_on returned");
        let msg = panic_message(&*payload).unwrap_or_default();
        assert!(
            msg.contains("cannot block"),
            "unclear panic message: {msg:?}"
        );
        assert_eq!(runtime::spawn(async { 4 }).await.unwrap(), 4);
    });
}

flavor_tests!(
    join_handle_returns_the_task_output,
    panicking_task_is_a_join_error_with_payload_and_runtime_keeps_running,
    abort_on_pending_task_cancels_it_and_drops_its_future,
    abort_after_completion_keeps_the_output,
    dropping_runtime_drops_each_pending_future_exactly_once,
    spawn_after_runtime_drop_is_cancelled,
    is_finished_tracks_completion,
    handle_current_works_inside_block_on_and_tasks,
    block_on_inside_a_task_panics_with_a_clear_message,
    nested_block_on_panics_with_a_clear_message,
);
