//! A task whose `poll` panics has its future dropped while the panic is
//! still unwinding, so a guard held by the future sees
//! `std::thread::panicking()` in its `Drop` (rollback and lock-poisoning
//! guards rely on it), as in tokio. The `JoinError` still carries the
//! panic's payload. A second panic, in that `Drop`, is contained: it would
//! otherwise abort the process ("panic in a destructor during cleanup"),
//! so that case runs in a child process, and the parent sees an abort as a
//! plain failure.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use runtime_tests::{block_on, child_case, flavor_tests, panic_message, run_in_child, Flavor};

/// Records `thread::panicking()` when dropped, then panics if asked to.
struct SeesPanicking {
    seen: Arc<Mutex<Option<bool>>>,
    panic_in_drop: bool,
}

impl Drop for SeesPanicking {
    fn drop(&mut self) {
        *self.seen.lock().unwrap() = Some(std::thread::panicking());
        if self.panic_in_drop {
            panic!("the guard's drop panics too");
        }
    }
}

/// Pending once, then panics in `poll`. The guard is a field of the
/// future, so the unwinding of `poll` itself does not drop it (the locals
/// of an `async` block would be dropped by it, which proves nothing): only
/// the runtime dropping the future does.
struct PanicsInSecondPoll {
    polled: bool,
    _guard: SeesPanicking,
}

impl Future for PanicsInSecondPoll {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        panic!("poll panics")
    }
}

/// Spawns a `PanicsInSecondPoll`, awaits it, and checks the guard saw the
/// panic and the `JoinError` is the poll's panic; then that the runtime
/// still runs tasks.
async fn panic_then_check(panic_in_drop: bool) {
    let seen = Arc::new(Mutex::new(None));
    let fut = PanicsInSecondPoll {
        polled: false,
        _guard: SeesPanicking {
            seen: seen.clone(),
            panic_in_drop,
        },
    };
    let err = runtime::spawn(fut).await.unwrap_err();
    assert_eq!(
        *seen.lock().unwrap(),
        Some(true),
        "the future of a panicking task was not dropped while the panic unwound"
    );
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(
        panic_message(&*err.into_panic()).as_deref(),
        Some("poll panics")
    );
    // The worker that ran the task survived: more tasks run.
    let tasks: Vec<_> = (0..50u32)
        .map(|i| runtime::spawn(async move { i + 1 }))
        .collect();
    for (i, t) in (0u32..).zip(tasks) {
        assert_eq!(t.await.unwrap(), i + 1);
    }
}

fn panicking_task_future_is_dropped_while_the_panic_unwinds(flavor: Flavor) {
    block_on(flavor, panic_then_check(false));
}

flavor_tests!(panicking_task_future_is_dropped_while_the_panic_unwinds);

/// A one-worker multi-thread runtime, so that the worker that met the
/// double panic is the one that must run the tasks after it.
fn one_worker_runtime() -> runtime::Runtime {
    runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap()
}

#[test]
fn panic_in_drop_of_a_panicking_future_does_not_abort_or_kill_the_worker() {
    const NAME: &str = "panic_in_drop_of_a_panicking_future_does_not_abort_or_kill_the_worker";
    match child_case().as_deref() {
        Some(case) => {
            let _w = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
            let rt = match case {
                "current_thread" => Flavor::CurrentThread.build(),
                _ => one_worker_runtime(),
            };
            rt.block_on(panic_then_check(true));
            drop(rt);
            println!("ok: {case}");
        }
        None => {
            run_in_child(NAME, "current_thread");
            run_in_child(NAME, "multi_thread");
        }
    }
}
