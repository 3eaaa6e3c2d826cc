//! `Builder::unhandled_panic` on both flavors: by default a panicking
//! task's panic goes to its `JoinHandle` and the runtime runs on; with
//! `ShutdownRuntime` the first panic cancels every task (a TCP connection
//! task's socket is closed, which its peer sees), makes the `block_on`
//! waiting at the time panic (even one awaiting the panicked task's own
//! handle), then every later `block_on`, and drops later spawns unrun.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::{Builder, Runtime, UnhandledPanic};
use runtime_tests::{Watchdog, HANG_LIMIT};

fn runtimes(behavior: UnhandledPanic) -> [Runtime; 2] {
    [
        Builder::new_current_thread()
            .unhandled_panic(behavior)
            .build()
            .unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .unhandled_panic(behavior)
            .build()
            .unwrap(),
    ]
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Sets its flag when dropped: shows a task's future was dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn by_default_the_panic_goes_to_the_join_handle() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for rt in runtimes(UnhandledPanic::Ignore) {
        let bad = rt.spawn(async { panic!("boom") });
        let good = rt.spawn(async { 7 });
        rt.block_on(async {
            assert!(bad.await.unwrap_err().is_panic());
            assert_eq!(good.await.unwrap(), 7);
        });
        assert_eq!(rt.block_on(async { 1 }), 1, "the runtime runs on");
    }
}

#[test]
fn shutdown_runtime_cancels_everything_and_block_on_panics() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for rt in runtimes(UnhandledPanic::ShutdownRuntime) {
        let flavor = rt.handle().runtime_flavor();
        // A connection task that would wait forever for its peer.
        let (listener, client) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            (listener, client)
        });
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Dropped(dropped.clone());
        let conn = rt.spawn(async move {
            let _flag = flag;
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0; 16];
            let _ = s.read(&mut buf).await;
            unreachable!("the peer never writes");
        });
        let bad = rt.spawn(async {
            runtime::time::sleep(Duration::from_millis(20)).await;
            panic!("boom");
        });
        // `block_on` waits on the panicked task's own handle, and still
        // panics rather than returning its error.
        let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on(bad)));
        let payload = caught.expect_err("block_on returned");
        assert!(
            panic_message(&*payload).contains("unhandled panic"),
            "{flavor:?}: {}",
            panic_message(&*payload)
        );
        // Every task was cancelled: the connection task's future is gone,
        // and with it the accepted socket, whose peer reads EOF.
        let mut client = client.into_std().unwrap();
        client.set_nonblocking(false).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0; 1];
        let n = std::io::Read::read(&mut client, &mut buf).unwrap();
        assert_eq!(n, 0, "{flavor:?}: the server side closed");
        assert!(dropped.load(Ordering::SeqCst), "{flavor:?}");
        assert!(conn.is_finished(), "{flavor:?}");

        // Later spawns are dropped unrun, later `block_on`s panic at once.
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let late = rt.spawn(async move { r.store(true, Ordering::SeqCst) });
        let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 5 })));
        assert!(caught.is_err(), "{flavor:?}: a later block_on returned");
        assert!(late.is_finished(), "{flavor:?}");
        assert!(!ran.load(Ordering::SeqCst), "{flavor:?}: a late spawn ran");
        drop(rt);
    }
}

#[test]
fn a_panic_wakes_a_block_on_that_waits_for_something_else() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    for rt in runtimes(UnhandledPanic::ShutdownRuntime) {
        rt.spawn(async {
            runtime::time::sleep(Duration::from_millis(20)).await;
            panic!("boom");
        });
        // Nothing would ever wake this future but the shutdown.
        let caught = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(std::future::pending::<()>())
        }));
        assert!(caught.is_err());
    }
}
