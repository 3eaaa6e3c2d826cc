//! Dropping a runtime with 10,000 tasks parked on sockets and timers: every
//! task's future is dropped exactly once, every socket is closed and
//! deregistered by the time the drop returns, every unfired timer is
//! unlinked from the wheel (under AddressSanitizer a dangling entry would be
//! a use-after-free on the next reactor turn), and the drop returns (no
//! hang on a parked task, no double drop).
//!
//! 4,000 loopback connections, both ends owned by the runtime, each end
//! owned by one parked task (the client side in a plain `read`, the server
//! side in a `read` under a one-hour `timeout`: a socket and a timer at
//! once), and 2,000 tasks in a one-hour `sleep`: 10,000 tasks and 8,000
//! fds, well under the 20,000 open-files limit. The test reads process-wide
//! counts, so it holds [`serial`], and this file is its own test binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use runtime::io::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::time::{sleep, timeout};
use runtime_tests::{
    flavor_tests, open_fd_count, registration_count, serial, yield_until, DropCounter, Flavor,
    Watchdog,
};

const CONNECTIONS: usize = 4_000;
const SLEEPERS: usize = 2_000;
const SOCKET_TASKS: usize = 2 * CONNECTIONS;
const TASKS: usize = SOCKET_TASKS + SLEEPERS;
const AN_HOUR: Duration = Duration::from_secs(3600);

/// Timers registered with the process-wide reactor and not yet fired.
fn timer_count() -> usize {
    runtime_reactor::Reactor::get().unwrap().timer_count()
}

fn runtime_drop_with_10k_tasks_parked_on_sockets_and_timers_drops_each_once_and_closes_every_fd(
    flavor: Flavor,
) {
    let _serial = serial();
    let _watchdog = Watchdog::start(Duration::from_secs(300));
    let regs_before = registration_count();
    let fds_before = open_fd_count();
    let timers_before = timer_count();
    let drops = DropCounter::new();
    let parked = Arc::new(AtomicUsize::new(0));

    let rt = flavor.build();
    let handles = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut handles = Vec::with_capacity(TASKS);
        for i in 0..CONNECTIONS {
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            for (side, mut stream) in [("client", client), ("server", server)] {
                let (guard, parked) = (drops.guard(), parked.clone());
                handles.push(runtime::spawn(async move {
                    let _guard = guard;
                    parked.fetch_add(1, Ordering::SeqCst);
                    // Nobody writes or closes: parked until the runtime drops.
                    let mut buf = [0u8; 16];
                    if side == "server" {
                        let res = timeout(AN_HOUR, stream.read(&mut buf)).await;
                        panic!("{side} {i}: the timed read finished: {res:?}");
                    }
                    let res = stream.read(&mut buf).await;
                    panic!("{side} {i}: the read finished ({res:?}) with a silent peer");
                }));
            }
        }
        drop(listener);
        for i in 0..SLEEPERS {
            let (guard, parked) = (drops.guard(), parked.clone());
            handles.push(runtime::spawn(async move {
                let _guard = guard;
                parked.fetch_add(1, Ordering::SeqCst);
                sleep(AN_HOUR).await;
                panic!("sleeper {i} woke up");
            }));
        }
        yield_until(|| parked.load(Ordering::SeqCst) == TASKS).await;
        handles
    });
    assert_eq!(registration_count(), regs_before + SOCKET_TASKS);
    assert_eq!(open_fd_count(), fds_before + SOCKET_TASKS);
    assert_eq!(
        timer_count(),
        timers_before + CONNECTIONS + SLEEPERS,
        "the timeouts and sleeps are registered"
    );
    assert_eq!(drops.count(), 0, "a parked task's future was dropped early");

    drop(rt);
    assert_eq!(
        drops.count(),
        TASKS,
        "runtime drop must drop each of the 10,000 parked futures exactly once"
    );
    assert_eq!(
        open_fd_count(),
        fds_before,
        "sockets owned by the dropped tasks are still open after the runtime drop returned"
    );
    assert_eq!(
        registration_count(),
        regs_before,
        "sockets owned by the dropped tasks are still registered"
    );
    assert_eq!(
        timer_count(),
        timers_before,
        "timers of the dropped tasks are still in the wheel"
    );
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.now_or_never() {
            Some(Err(e)) if e.is_cancelled() => {}
            other => panic!("task {i} after runtime drop: {other:?}"),
        }
    }
    assert_eq!(drops.count(), TASKS, "a future was dropped twice");
}

flavor_tests!(
    runtime_drop_with_10k_tasks_parked_on_sockets_and_timers_drops_each_once_and_closes_every_fd
);
