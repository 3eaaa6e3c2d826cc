//! `Runtime::enter` / `Handle::enter`: while the guard lives, a plain
//! thread can spawn onto the runtime and find it with `Handle::current`;
//! guards nest and restore the previous runtime; dropping them out of
//! order panics. Also `Runtime::spawn_blocking` / `Handle::spawn_blocking`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use runtime::{Builder, Handle, Runtime};
use runtime_tests::{panic_message, Flavor, Watchdog, HANG_LIMIT};

/// A multi-thread runtime whose threads are named `name`, so a task can
/// tell which runtime it runs on.
fn named(name: &str) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .build()
        .unwrap()
}

/// The name of the thread the current runtime runs a spawned task on.
fn spawned_on(rt: &Runtime) -> String {
    let h = runtime::spawn(async { std::thread::current().name().unwrap().to_owned() });
    rt.block_on(h).unwrap()
}

#[test]
fn enter_lets_a_plain_thread_spawn_and_find_the_runtime() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for flavor in Flavor::ALL {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let joins = std::thread::spawn(move || {
            assert!(Handle::try_current().is_err());
            let _guard = handle.enter();
            let current = Handle::current();
            let a = runtime::spawn(async { 1 });
            let b = current.spawn(async { 2 });
            let c = runtime::spawn_blocking(|| 3);
            let d = runtime::task::spawn(async {
                // Timers work from tasks spawned this way too.
                runtime::time::sleep(Duration::from_millis(1)).await;
                4
            });
            (a, b, c, d)
        })
        .join()
        .unwrap();
        let sum = rt.block_on(async {
            let (a, b, c, d) = joins;
            a.await.unwrap() + b.await.unwrap() + c.await.unwrap() + d.await.unwrap()
        });
        assert_eq!(sum, 10, "{flavor:?}");
    }
}

#[test]
fn runtime_enter_guard_is_current_only_while_alive() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    assert!(Handle::try_current().is_err());
    {
        let guard = rt.enter();
        assert!(Handle::try_current().is_ok());
        assert!(format!("{guard:?}").starts_with("EnterGuard"));
        let h = runtime::spawn(async { 5 });
        drop(guard);
        assert!(Handle::try_current().is_err());
        assert_eq!(rt.block_on(h).unwrap(), 5);
    }
    let outside = catch_unwind(|| runtime::spawn(async {}));
    assert!(outside.is_err(), "no runtime after the guard dropped");
}

#[test]
fn guards_nest_and_restore_the_previous_runtime() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let one = named("rt-one");
    let two = named("rt-two");
    let g1 = one.enter();
    assert_eq!(spawned_on(&one), "rt-one");
    {
        let _g2 = two.handle().enter();
        assert_eq!(spawned_on(&two), "rt-two");
        {
            // The same runtime entered twice.
            let _g3 = two.enter();
            assert_eq!(spawned_on(&two), "rt-two");
        }
        assert_eq!(spawned_on(&two), "rt-two");
    }
    assert_eq!(spawned_on(&one), "rt-one");
    drop(g1);
    assert!(Handle::try_current().is_err());
}

/// Inside a task (or `block_on`) of one runtime, entering another makes
/// spawns go there until the guard drops.
#[test]
fn enter_inside_another_runtime() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let one = named("rt-in-one");
    let two = named("rt-in-two");
    let two_handle = two.handle().clone();
    let names = one.block_on(async move {
        let name = || std::thread::current().name().unwrap().to_owned();
        let a = runtime::spawn(async move { name() });
        let b = {
            let _g = two_handle.enter();
            runtime::spawn(async move { name() })
        };
        let c = runtime::spawn(async move { name() });
        (a.await.unwrap(), b.await.unwrap(), c.await.unwrap())
    });
    assert_eq!(
        names,
        ("rt-in-one".into(), "rt-in-two".into(), "rt-in-one".into())
    );
}

#[test]
fn guards_dropped_out_of_order_panic() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let one = Flavor::CurrentThread.build();
    let two = Flavor::CurrentThread.build();
    // On a thread of its own: the context is left as the panic found it.
    std::thread::scope(|s| {
        s.spawn(|| {
            let g1 = one.enter();
            let g2 = two.enter();
            let payload = catch_unwind(AssertUnwindSafe(|| drop(g1))).unwrap_err();
            let msg = panic_message(&*payload).unwrap();
            assert!(msg.contains("out of order"), "{msg}");
            drop(g2);
        });
    });
}

#[test]
fn runtime_and_handle_spawn_blocking() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for flavor in Flavor::ALL {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let a = rt.spawn_blocking(|| std::thread::current().name().map(str::to_owned));
        let b = std::thread::spawn(move || handle.spawn_blocking(|| 6))
            .join()
            .unwrap();
        let name = rt.block_on(a).unwrap().unwrap_or_default();
        assert!(name.contains("blocking"), "ran on {name:?}");
        assert_eq!(rt.block_on(b).unwrap(), 6);
        // `task::spawn_blocking` is the same function as the crate's.
        let c = rt.block_on(async { runtime::task::spawn_blocking(|| 7).await.unwrap() });
        assert_eq!(c, 7);
    }
}
