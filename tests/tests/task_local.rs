//! `runtime::task_local!` and `runtime::task::LocalKey`, with tokio's
//! semantics:
//!
//! - a scope's value is seen across `.await`s, follows its future from
//!   thread to thread (polled first on one thread, finished on a worker of
//!   a multi-thread runtime), and never leaks to other tasks on the same
//!   worker;
//! - nested scopes (same key and different keys), `sync_scope`;
//! - `try_with`/`try_get` outside give `AccessError`, `with` panics with
//!   tokio's message; spawned tasks do not inherit a scope;
//! - a panic inside a scope (sync or async, or in a spawned task) restores
//!   the enclosing value;
//! - dropping or aborting a scoped future drops its inner future with the
//!   value in scope; `take_value`.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use runtime::sync::oneshot;
use runtime::task::{yield_now, AccessError, LocalKey};
use runtime_tests::{block_on, flavor_tests, panic_message, Flavor, Watchdog, HANG_LIMIT};

runtime::task_local! {
    /// A number per test case.
    static NUMBER: u32;
    /// A name per test case.
    pub static NAME: String;
    static OTHER: u8
}

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn scope_holds_across_awaits(flavor: Flavor) {
    block_on(flavor, async {
        let out = NUMBER
            .scope(7, async {
                for _ in 0..20 {
                    yield_now().await;
                    assert_eq!(NUMBER.get(), 7);
                }
                runtime::time::sleep(std::time::Duration::from_millis(1)).await;
                NUMBER.get() * 2
            })
            .await;
        assert_eq!(out, 14);
        assert!(NUMBER.try_get().is_err());
    });
}

/// Many tasks, each in its own scope, yielding over and over on one
/// runtime: each sees only its own value, whichever worker polls it.
fn concurrent_tasks_see_their_own_values(flavor: Flavor) {
    block_on(flavor, async {
        let tasks: Vec<_> = (0..8u32)
            .map(|i| {
                runtime::spawn(NUMBER.scope(i, async move {
                    let mut threads = std::collections::HashSet::new();
                    for _ in 0..200 {
                        assert_eq!(NUMBER.get(), i);
                        threads.insert(std::thread::current().id());
                        yield_now().await;
                    }
                    assert!(OTHER.try_get().is_err());
                    threads.len()
                }))
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap() >= 1);
        }
        assert!(NUMBER.try_get().is_err());
    });
}

#[test]
fn value_follows_the_future_to_another_thread() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let (tx, rx) = oneshot::channel::<u32>();
    let mut fut = Box::pin(NAME.scope("moved".to_owned(), async move {
        let first = (std::thread::current().id(), NAME.get());
        let n = rx.await.unwrap();
        let second = (std::thread::current().id(), NAME.get());
        (first, second, n)
    }));
    // First poll here, on a plain thread of the test: it parks on `rx`.
    let here = std::thread::current().id();
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(NAME.try_get().is_err(), "the value stays with the future");

    // Then finish it in a task on a worker of a multi-thread runtime.
    let rt = Flavor::MultiThread.build();
    let task = rt.spawn(fut);
    tx.send(5).unwrap();
    let ((t1, v1), (t2, v2), n) = rt.block_on(task).unwrap();
    assert_eq!((t1, v1.as_str()), (here, "moved"));
    assert_ne!(t2, here, "the task ran on a worker thread");
    assert_eq!((v2.as_str(), n), ("moved", 5));
    assert!(NAME.try_get().is_err());
}

fn nested_scopes(flavor: Flavor) {
    block_on(flavor, async {
        NUMBER
            .scope(1, async {
                NUMBER
                    .scope(2, async {
                        assert_eq!(NUMBER.get(), 2);
                        yield_now().await;
                        OTHER
                            .scope(9, async {
                                yield_now().await;
                                assert_eq!((NUMBER.get(), OTHER.get()), (2, 9));
                            })
                            .await;
                        assert!(OTHER.try_get().is_err());
                        assert_eq!(NUMBER.get(), 2);
                    })
                    .await;
                assert_eq!(NUMBER.get(), 1);
                // A sync scope inside an async one, and back.
                assert_eq!(NUMBER.sync_scope(3, || NUMBER.get()), 3);
                yield_now().await;
                assert_eq!(NUMBER.get(), 1);
            })
            .await;
        assert!(NUMBER.try_get().is_err());
    });
}

#[test]
fn sync_scope_sets_and_restores() {
    assert!(NAME.try_get().is_err());
    let len = NAME.sync_scope("outer".to_owned(), || {
        let inner = NAME.sync_scope("in".to_owned(), || NAME.with(|n| n.clone()));
        assert_eq!(inner, "in");
        NAME.with(|n| n.len())
    });
    assert_eq!(len, 5);
    assert!(NAME.try_get().is_err());
}

#[test]
fn access_outside_a_scope() {
    let err: AccessError = NUMBER.try_with(|n| *n).unwrap_err();
    assert_eq!(err.to_string(), "task-local value not set");
    assert_eq!(format!("{err:?}"), "AccessError");
    let as_error: &dyn std::error::Error = &err;
    assert!(as_error.source().is_none());
    assert_eq!(NUMBER.try_get(), Err(err));

    let payload = catch_unwind(|| NUMBER.with(|n| *n)).unwrap_err();
    assert_eq!(
        panic_message(&*payload).as_deref(),
        Some("cannot access a task-local storage value without setting it first")
    );
    let payload = catch_unwind(|| NUMBER.get()).unwrap_err();
    assert!(panic_message(&*payload)
        .unwrap()
        .contains("without setting it first"));

    let key: &'static LocalKey<u32> = &NUMBER;
    assert_eq!(format!("{key:?}"), "LocalKey { .. }");
}

fn spawned_tasks_do_not_inherit(flavor: Flavor) {
    block_on(flavor, async {
        NUMBER
            .scope(4, async {
                let inside = runtime::spawn(async { NUMBER.try_get() }).await.unwrap();
                assert!(inside.is_err());
                assert_eq!(NUMBER.get(), 4);
            })
            .await;
    });
}

#[test]
fn panic_in_sync_scope_restores_outer_value() {
    NUMBER.sync_scope(1, || {
        let r = catch_unwind(|| NUMBER.sync_scope(2, || panic!("inner")));
        assert!(r.is_err());
        assert_eq!(NUMBER.get(), 1);
    });
    assert!(NUMBER.try_get().is_err());
}

fn panic_in_async_scope_restores_outer_value(flavor: Flavor) {
    block_on(flavor, async {
        NUMBER
            .scope(1, async {
                // A panic in a poll of the inner scope, caught here.
                let mut inner = pin!(NUMBER.scope(2, async {
                    yield_now().await;
                    assert_eq!(NUMBER.get(), 2);
                    panic!("inner scope");
                }));
                let r = std::future::poll_fn(|cx| {
                    match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
                        Ok(Poll::Pending) => Poll::Pending,
                        Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
                        Err(payload) => Poll::Ready(Err(payload)),
                    }
                })
                .await;
                let payload = r.unwrap_err();
                assert_eq!(panic_message(&*payload).as_deref(), Some("inner scope"));
                assert_eq!(NUMBER.get(), 1);

                // A panicking task in a scope of its own: on a current-thread
                // runtime it ran on this very thread.
                let err = runtime::spawn(NUMBER.scope(3, async {
                    yield_now().await;
                    panic!("task");
                }))
                .await
                .unwrap_err();
                assert!(err.is_panic());
                assert_eq!(NUMBER.get(), 1);
            })
            .await;
        assert!(NUMBER.try_get().is_err());
    });
}

/// Records, when dropped, what `NUMBER` held at that moment.
struct Probe(Arc<Mutex<Option<Option<u32>>>>);

impl Drop for Probe {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(NUMBER.try_get().ok());
    }
}

#[test]
fn dropped_scope_drops_its_future_inside_the_scope() {
    let seen = Arc::new(Mutex::new(None));
    let probe = Probe(seen.clone());
    let mut fut = Box::pin(NUMBER.scope(11, async move {
        let _probe = probe;
        pending::<()>().await;
    }));
    assert!(poll_once(fut.as_mut()).is_pending());
    NUMBER.sync_scope(1, || drop(fut));
    assert_eq!(*seen.lock().unwrap(), Some(Some(11)));

    // Never polled: the inner future is still dropped inside the scope.
    let seen = Arc::new(Mutex::new(None));
    let probe = Probe(seen.clone());
    drop(NUMBER.scope(12, async move {
        let _probe = probe;
    }));
    assert_eq!(*seen.lock().unwrap(), Some(Some(12)));
    assert!(NUMBER.try_get().is_err());
}

fn aborted_task_drops_its_future_inside_the_scope(flavor: Flavor) {
    block_on(flavor, async {
        let seen = Arc::new(Mutex::new(None));
        let probe = Probe(seen.clone());
        let (started_tx, started_rx) = oneshot::channel();
        let task = runtime::spawn(NUMBER.scope(21, async move {
            let _probe = probe;
            started_tx.send(()).unwrap();
            pending::<()>().await;
        }));
        started_rx.await.unwrap();
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(*seen.lock().unwrap(), Some(Some(21)));
    });
}

#[test]
fn take_value_gives_the_value_back() {
    let mut fut = pin!(NAME.scope("v".to_owned(), async {
        yield_now().await;
        NAME.try_get().ok()
    }));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(fut.as_mut().take_value().as_deref(), Some("v"));
    assert_eq!(fut.as_mut().take_value(), None);
    // Without its value, the future runs with the key unset.
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(None));
}

#[test]
fn polling_after_completion_panics() {
    let mut fut = pin!(NUMBER.scope(1, async { 5 }));
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(5));
    let payload = catch_unwind(AssertUnwindSafe(|| poll_once(fut.as_mut()))).unwrap_err();
    assert_eq!(
        panic_message(&*payload).as_deref(),
        Some("`TaskLocalFuture` polled after completion")
    );
    assert_eq!(format!("{fut:?}"), "TaskLocalFuture { value: Some(1), .. }");
}

flavor_tests!(
    scope_holds_across_awaits,
    concurrent_tasks_see_their_own_values,
    nested_scopes,
    spawned_tasks_do_not_inherit,
    panic_in_async_scope_restores_outer_value,
    aborted_task_drops_its_future_inside_the_scope,
);
