//! The runtime used from unusual places: dropped inside a thread-local
//! destructor, and `block_in_place` on the thread in a multi-thread
//! runtime's `block_on`.

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
