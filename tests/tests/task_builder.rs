//! `task::Builder`: named tasks and blocking jobs spawned on the current
//! runtime or on a given handle run and deliver their outputs like any
//! other; the name is only borrowed; spawning outside a runtime panics.
//! (That the name and the spawn location are recorded in the task is
//! checked by the unit tests in `runtime::task`, where the header is
//! visible.)

use std::panic::catch_unwind;

use runtime::task::{self, Builder};
use runtime_tests::{block_on, flavor_tests, panic_message, Flavor, Watchdog, HANG_LIMIT};

fn builder_spawns_named_tasks_and_blocking_jobs(flavor: Flavor) {
    block_on(flavor, async {
        let name = String::from("named-task");
        let h = Builder::new()
            .name(&name)
            .spawn(async { task::id() })
            .unwrap();
        // The builder borrowed the name only for the spawn.
        drop(name);
        let id = h.id();
        assert_eq!(h.await.unwrap(), id);

        let h = Builder::new()
            .name("blocking-job")
            .spawn_blocking(|| std::thread::current().name().map(str::to_owned))
            .unwrap();
        let thread = h.await.unwrap().unwrap_or_default();
        assert!(thread.contains("blocking"), "ran on {thread:?}");

        // An unnamed builder, and odd names, are fine.
        let outs = [
            Builder::new().spawn(async { 1 }).unwrap(),
            Builder::new().name("").spawn(async { 2 }).unwrap(),
            Builder::new().name("ünïcödé ✓").spawn(async { 3 }).unwrap(),
            Builder::default().spawn(async { 4 }).unwrap(),
        ];
        let mut sum = 0;
        for h in outs {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, 10);

        // A named task that panics is a JoinError like any other.
        let err = Builder::new()
            .name("doomed")
            .spawn(async { std::panic::panic_any(7u32) })
            .unwrap()
            .await
            .unwrap_err();
        assert!(err.is_panic());
    });
}

/// `spawn_on` and `spawn_blocking_on` work from a thread outside any
/// runtime.
#[test]
fn spawn_on_and_spawn_blocking_on_from_a_plain_thread() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for flavor in Flavor::ALL {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let (a, b) = std::thread::spawn(move || {
            let a = Builder::new()
                .name("on-handle")
                .spawn_on(async { 40 }, &handle)
                .unwrap();
            let b = Builder::new()
                .name("blocking-on-handle")
                .spawn_blocking_on(|| 2, &handle)
                .unwrap();
            (a, b)
        })
        .join()
        .unwrap();
        let sum = rt.block_on(async { a.await.unwrap() + b.await.unwrap() });
        assert_eq!(sum, 42, "{flavor:?}");
    }
}

/// Outside a runtime, `spawn` and `spawn_blocking` panic as
/// `runtime::spawn` does (there is nowhere to run the task).
#[test]
fn builder_spawn_outside_a_runtime_panics() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let payload = catch_unwind(|| Builder::new().name("x").spawn(async {})).unwrap_err();
    let msg = panic_message(&*payload).unwrap();
    assert!(msg.contains("outside a runtime"), "{msg}");
    let payload = catch_unwind(|| Builder::new().spawn_blocking(|| ())).unwrap_err();
    let msg = panic_message(&*payload).unwrap();
    assert!(msg.contains("outside a runtime"), "{msg}");
}

flavor_tests!(builder_spawns_named_tasks_and_blocking_jobs);
