//! The runtime used from unusual places: dropped inside a thread-local
//! destructor (in a child process: the failure is an abort), and
//! `block_in_place` on the thread in a multi-thread runtime's `block_on`,
//! with a `block_on` nested inside it.

use std::cell::RefCell;

use runtime_tests::{child_case, run_in_child, Flavor};

thread_local! {
    /// A runtime owned by a thread-local: dropped by the thread's TLS
    /// destructors, after (or before) the runtime's own thread-locals.
    static OWNED_RUNTIME: RefCell<Option<runtime::Runtime>> = const { RefCell::new(None) };
}

/// On a fresh thread, puts a runtime of `flavor` into a thread-local (first,
/// or after the runtime has used its own thread-locals on this thread, so
/// both destructor orders are met), gives it a pending task and a finished
/// one, and lets the thread exit.
fn runtime_in_tls_of_an_exiting_thread(flavor: Flavor, tls_first: bool) {
    let _: std::sync::mpsc::RecvError = std::thread::spawn(move || {
        if tls_first {
            OWNED_RUNTIME.with(|_| {});
        }
        let rt = flavor.build();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Parked on a socket and a timer until the runtime drops it, so
        // that shutdown deregisters both from inside the TLS destructor.
        let listener = rt.block_on(runtime::net::TcpListener::bind("127.0.0.1:0"));
        let listener = listener.unwrap();
        rt.spawn(async move {
            let _tx = tx;
            let sleep = runtime::time::sleep(std::time::Duration::from_secs(3600));
            let _ = runtime::time::timeout(std::time::Duration::from_secs(3600), async {
                let _ = listener.accept().await;
                sleep.await;
            })
            .await;
        });
        assert_eq!(
            rt.block_on(async { runtime::spawn(async { 7 }).await.unwrap() }),
            7
        );
        OWNED_RUNTIME.with(|slot| *slot.borrow_mut() = Some(rt));
        rx
    })
    .join()
    .expect("the thread that owned the runtime panicked")
    .recv()
    .expect_err("the parked task's future was not dropped with its runtime");
}

#[test]
fn runtime_dropped_in_a_thread_local_destructor_does_not_abort() {
    const NAME: &str = "runtime_dropped_in_a_thread_local_destructor_does_not_abort";
    const CASES: [&str; 4] = [
        "current_thread/tls_first",
        "current_thread/tls_last",
        "multi_thread/tls_first",
        "multi_thread/tls_last",
    ];
    match child_case() {
        Some(case) => {
            let _w = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
            let flavor = if case.starts_with("current_thread") {
                Flavor::CurrentThread
            } else {
                Flavor::MultiThread
            };
            runtime_in_tls_of_an_exiting_thread(flavor, case.ends_with("tls_first"));
            // The process goes on: another runtime runs.
            let rt = flavor.build();
            assert_eq!(
                rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }),
                1
            );
            println!("ok: {case}");
        }
        None => {
            for case in CASES {
                run_in_child(NAME, case);
            }
        }
    }
}

/// How `block_in_place`'s closure blocks on a future.
#[derive(Clone, Copy, Debug)]
enum Nested {
    /// `Handle::current().block_on(..)`: the outer multi-thread runtime.
    HandleBlockOn,
    /// A new current-thread runtime's `block_on`, built and dropped inside.
    CurrentThreadBlockOn,
}

/// What the nested `block_on` runs: a task of its runtime and a loopback
/// connection, so the nested runtime really schedules and does I/O.
async fn nested_work() -> u32 {
    let listener = runtime::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = runtime::spawn(async move { listener.accept().await.map(|_| 20) });
    let _client = runtime::net::TcpStream::connect(addr).await.unwrap();
    accept.await.unwrap().unwrap() + runtime::spawn(async { 3 }).await.unwrap()
}

/// `block_in_place` with a nested `block_on` of either form.
fn block_in_place_with_nested_block_on(nested: Nested) -> u32 {
    runtime::task::block_in_place(|| match nested {
        Nested::HandleBlockOn => runtime::Handle::current().block_on(nested_work()),
        Nested::CurrentThreadBlockOn => {
            let rt = Flavor::CurrentThread.build();
            let out = rt.block_on(nested_work());
            drop(rt);
            out
        }
    })
}

/// On the thread inside a multi-thread runtime's `block_on`, as on a
/// worker, `block_in_place` leaves runtime mode: a nested `block_on` of
/// either form works instead of panicking as a `block_on` inside a
/// `block_on`, and the thread is back in runtime mode afterwards.
#[test]
fn block_in_place_leaves_runtime_mode_on_the_block_on_thread_and_on_a_worker() {
    let _w = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    for nested in [Nested::HandleBlockOn, Nested::CurrentThreadBlockOn] {
        let on_block_on_thread = rt.block_on(async { block_in_place_with_nested_block_on(nested) });
        assert_eq!(on_block_on_thread, 23, "{nested:?} on the block_on thread");
        let on_worker = rt.block_on(async {
            runtime::spawn(async move { block_in_place_with_nested_block_on(nested) })
                .await
                .unwrap()
        });
        assert_eq!(on_worker, 23, "{nested:?} on a worker");
    }
    // Back in runtime mode after `block_in_place`: a `block_on` directly
    // inside `block_on` is refused again.
    let refused = rt.block_on(async {
        runtime::task::block_in_place(|| ());
        std::panic::catch_unwind(|| runtime::Handle::current().block_on(async {})).is_err()
    });
    assert!(
        refused,
        "a block_on inside block_on was not refused after block_in_place"
    );
}

/// Inside a current-thread `block_on` nested in a `block_in_place`,
/// `block_in_place` panics as it does on any current-thread runtime (as in
/// tokio): that thread runs the nested runtime's only scheduler.
#[test]
fn block_in_place_inside_a_nested_current_thread_block_on_panics() {
    let _w = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    let panicked = rt.block_on(async {
        runtime::spawn(async {
            runtime::task::block_in_place(|| {
                let inner = Flavor::CurrentThread.build();
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    inner.block_on(async { runtime::task::block_in_place(|| ()) })
                }));
                res.is_err()
            })
        })
        .await
        .unwrap()
    });
    assert!(
        panicked,
        "block_in_place on a nested current-thread runtime did not panic"
    );
}
