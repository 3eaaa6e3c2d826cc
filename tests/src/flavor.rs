//! Running a test body: on each scheduler ([`Flavor`],
//! [`flavor_tests!`](crate::flavor_tests)), under a hang guard
//! ([`Watchdog`], [`block_on`]) that aborts the test binary if a test runs
//! far longer than any healthy run could.

use std::future::Future;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use runtime::Runtime;

/// How long [`block_on`] lets a test run before its [`Watchdog`] aborts the
/// process: a hang guard only, orders of magnitude above a healthy run.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Which scheduler a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread().worker_threads(2)`.
    MultiThread,
}

impl Flavor {
    /// Every flavor, for tests that loop over them.
    pub const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    /// Builds a runtime of this flavor.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built.
    pub fn build(self) -> Runtime {
        let rt = match self {
            Flavor::CurrentThread => runtime::Builder::new_current_thread().build(),
            Flavor::MultiThread => runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build(),
        };
        rt.unwrap_or_else(|e| panic!("building a {self:?} runtime failed: {e}"))
    }
}

/// Generates, for each named function `fn name(flavor: Flavor)`, a module
/// `name` with the tests `name::current_thread` and `name::multi_thread`, so
/// that a scheduler-dependent behaviour is checked on both schedulers.
///
/// ```
/// use runtime_tests::{block_on, flavor_tests, Flavor};
///
/// fn spawn_returns_output(flavor: Flavor) {
///     let out = block_on(flavor, async { runtime::spawn(async { 1 }).await.unwrap() });
///     assert_eq!(out, 1);
/// }
///
/// flavor_tests!(spawn_returns_output);
/// # fn main() {
/// #     spawn_returns_output(Flavor::CurrentThread);
/// #     spawn_returns_output(Flavor::MultiThread);
/// # }
/// ```
#[macro_export]
macro_rules! flavor_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn current_thread() {
                    super::$name($crate::Flavor::CurrentThread)
                }

                #[test]
                fn multi_thread() {
                    super::$name($crate::Flavor::MultiThread)
                }
            }
        )*
    };
}

/// A hang guard: aborts the whole process (with a message naming the test
/// thread) if it is not dropped within its limit.
///
/// A hung test would otherwise stall CI until an outer timeout with no clue
/// which test hung. The limit is never a pass criterion: it is far above
/// any healthy run on a loaded machine.
#[derive(Debug)]
pub struct Watchdog {
    /// Dropping it disconnects the channel, which ends the watchdog thread.
    cancel: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog for the current thread (named after its test by the
    /// test harness).
    pub fn start(limit: Duration) -> Watchdog {
        let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
        let (cancel, rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("watchdog {name}"))
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    eprintln!(
                        "watchdog: `{name}` still running after {limit:?}: it hangs; aborting \
                         the test process"
                    );
                    std::process::abort();
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog {
            cancel: Some(cancel),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.cancel.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Builds a runtime of `flavor` and runs `future` on it under a
/// [`Watchdog`] of [`HANG_LIMIT`]; the runtime is dropped before returning.
pub fn block_on<F: Future>(flavor: Flavor, future: F) -> F::Output {
    block_on_with_limit(flavor, HANG_LIMIT, future)
}

/// [`block_on`] with another hang limit, for the tests that move a lot of
/// data in a debug build.
pub fn block_on_with_limit<F: Future>(flavor: Flavor, limit: Duration, future: F) -> F::Output {
    let _watchdog = Watchdog::start(limit);
    let rt = flavor.build();
    let out = rt.block_on(future);
    drop(rt);
    out
}
