//! Leak checks: the process's open file descriptors and the reactor's live
//! registrations, waiting for such counts to settle back (a hang guard, not
//! a pass criterion), and [`serial`] for the tests that read them.

use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::wait::sleep_blocking;

/// The number of open file descriptors of this process (the entries of
/// `/proc/self/fd`, less the one used to read it).
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read.
pub fn open_fd_count() -> usize {
    let dir = std::fs::read_dir("/proc/self/fd").expect("reading /proc/self/fd");
    // The directory stream itself holds one fd while it is read.
    dir.count().saturating_sub(1)
}

/// The live registrations of the process-wide reactor.
///
/// # Panics
///
/// If the reactor cannot be started.
pub fn registration_count() -> usize {
    runtime_reactor::Reactor::get()
        .expect("starting the reactor")
        .registration_count()
}

/// Serialises the tests of one test binary that read process-wide state
/// (like the reactor's registration count). Poisoning is ignored, so one
/// failed test does not fail the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls `probe` until it returns `target` or `patience` has passed, sleeping
/// a little in between, and returns the last value: for counts that settle
/// asynchronously (a server task closing its side after the client left).
/// `patience` is a hang guard, not a pass criterion: the caller asserts on
/// the value.
pub fn settle<T: PartialEq + Copy>(
    target: T,
    patience: Duration,
    mut probe: impl FnMut() -> T,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let v = probe();
        if v == target || std::time::Instant::now() >= deadline {
            return v;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// [`settle`] inside a task: waits with [`sleep_blocking`] (no runtime
/// timer involved) so the runtime keeps running the tasks that bring the
/// count back.
pub async fn settle_async<T: PartialEq + Copy>(
    target: T,
    patience: Duration,
    mut probe: impl FnMut() -> T,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let v = probe();
        if v == target || std::time::Instant::now() >= deadline {
            return v;
        }
        sleep_blocking(Duration::from_millis(5)).await;
    }
}
