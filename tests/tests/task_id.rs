//! Task ids: unique, the same through `task::id()`, `JoinHandle::id`,
//! `AbortHandle::id` and `JoinError::id`; `try_id` is `None` outside a
//! task (and inside `block_on`), and `id()` panics there.

use std::collections::HashSet;
use std::future::pending;
use std::panic::catch_unwind;
use std::sync::{Arc, Mutex};

use runtime::task::{self, yield_now, Id};
use runtime_tests::{
    block_on, flavor_tests, panic_message, yield_until, Flavor, Watchdog, HANG_LIMIT,
};

fn id_inside_equals_the_handles_and_ids_are_unique(flavor: Flavor) {
    block_on(flavor, async {
        let handles: Vec<_> = (0..500)
            .map(|i| {
                runtime::spawn(async move {
                    let before = task::id();
                    if i % 2 == 0 {
                        yield_now().await;
                    }
                    // The same after the task moved (maybe to another worker).
                    assert_eq!(task::id(), before);
                    assert_eq!(task::try_id(), Some(before));
                    before
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for h in handles {
            let id = h.id();
            assert_eq!(h.abort_handle().id(), id);
            assert_eq!(h.await.unwrap(), id);
            assert!(seen.insert(id), "{id} handed out twice");
        }
        assert_eq!(seen.len(), 500);
    });
}

/// A failed task's `JoinError` carries its id.
fn join_errors_carry_the_task_id(flavor: Flavor) {
    block_on(flavor, async {
        let h = runtime::spawn(pending::<()>());
        let id = h.id();
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.id(), id);
        assert_eq!(err.to_string(), format!("task {id} was cancelled"));

        let h = runtime::spawn(async { std::panic::panic_any(5u8) });
        let id = h.id();
        assert_eq!(h.await.unwrap_err().id(), id);
    });
}

/// Outside a task there is no id: on a plain thread and in `block_on`.
fn try_id_is_none_outside_a_task(flavor: Flavor) {
    assert_eq!(task::try_id(), None);
    block_on(flavor, async {
        assert_eq!(task::try_id(), None, "block_on is not a task");
        let inner = runtime::spawn(async { task::try_id() });
        let id = inner.id();
        assert_eq!(inner.await.unwrap(), Some(id));
        assert_eq!(task::try_id(), None);
    });
    let from_thread = std::thread::spawn(task::try_id).join().unwrap();
    assert_eq!(from_thread, None);
}

/// A blocking job is a task too: its id is known inside the closure.
fn spawn_blocking_has_an_id(flavor: Flavor) {
    block_on(flavor, async {
        let h = runtime::spawn_blocking(task::try_id);
        let id = h.id();
        assert_eq!(h.await.unwrap(), Some(id));
    });
}

/// The id is set while an aborted task's future is dropped.
fn id_is_known_while_the_future_is_dropped(flavor: Flavor) {
    struct Record(Arc<Mutex<Option<Option<Id>>>>);
    impl Drop for Record {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(task::try_id());
        }
    }
    block_on(flavor, async {
        let seen = Arc::new(Mutex::new(None));
        let rec = Record(seen.clone());
        let h = runtime::spawn(async move {
            let _rec = rec;
            pending::<()>().await
        });
        // Let it start, so the record lives in the suspended future.
        runtime::task::yield_now().await;
        h.abort();
        let id = h.id();
        assert!(h.await.unwrap_err().is_cancelled());
        yield_until(|| seen.lock().unwrap().is_some()).await;
        assert_eq!(*seen.lock().unwrap(), Some(Some(id)));
    });
}

flavor_tests!(
    id_inside_equals_the_handles_and_ids_are_unique,
    join_errors_carry_the_task_id,
    try_id_is_none_outside_a_task,
    spawn_blocking_has_an_id,
    id_is_known_while_the_future_is_dropped,
);

#[test]
fn id_panics_outside_a_task_and_in_block_on() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let payload = catch_unwind(task::id).unwrap_err();
    let msg = panic_message(&*payload).unwrap();
    assert!(msg.contains("outside a task"), "{msg}");
    let rt = Flavor::CurrentThread.build();
    let in_block_on = rt.block_on(async { catch_unwind(task::id) });
    assert!(in_block_on.is_err(), "block_on is not a task");
}

/// Ids are unique across runtimes (one counter per process), and show as
/// plain numbers.
#[test]
fn ids_are_unique_across_runtimes() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let a = Flavor::CurrentThread.build();
    let b = Flavor::MultiThread.build();
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let ja = a.spawn(async {});
        let jb = b.spawn(async {});
        assert!(seen.insert(ja.id()) && seen.insert(jb.id()));
        let n: u64 = ja.id().to_string().parse().expect("a decimal number");
        assert!(n > 0);
        assert_eq!(format!("{:?}", ja.id()), format!("Id({n})"));
        a.block_on(ja).unwrap();
        b.block_on(jb).unwrap();
    }
}
