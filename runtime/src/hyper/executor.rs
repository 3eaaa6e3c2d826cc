//! [`HyperExecutor`]: hyper's `Executor` over this runtime's tasks.

use std::fmt;
use std::future::Future;

use crate::Handle;

/// Runs the background tasks of hyper's connections (HTTP/2 streams, the
/// HTTP/2 client connection, upgrades) as tasks of this runtime.
///
/// [`HyperExecutor::new`] spawns with [`runtime::spawn`](crate::spawn) on
/// the runtime of whichever task hyper calls it from (hyper calls it while
/// a connection future is polled, so that is the connection's runtime);
/// [`HyperExecutor::with_handle`] always spawns on one runtime, from any
/// thread. It is cheap to clone, as hyper's HTTP/2 builders (and
/// hyper-util's `auto` builder) do for every connection.
///
/// # Panics
///
/// An executor from [`new`](HyperExecutor::new) panics when asked to spawn
/// outside a runtime, as `runtime::spawn` does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// use runtime::hyper::HyperExecutor;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (tx, rx) = runtime::sync::oneshot::channel();
/// HyperExecutor::new().execute(async move {
///     tx.send(7).unwrap();
/// });
/// assert_eq!(rx.await.unwrap(), 7);
/// # });
/// ```
///
/// hyper's HTTP/2 builders take it by value:
/// `hyper::server::conn::http2::Builder::new(HyperExecutor::new())`.
#[derive(Clone, Default)]
pub struct HyperExecutor {
    /// Where to spawn: `None` is the current runtime at each spawn.
    handle: Option<Handle>,
}

impl HyperExecutor {
    /// An executor that spawns on the current runtime, as
    /// [`runtime::spawn`](crate::spawn) does.
    pub fn new() -> HyperExecutor {
        HyperExecutor { handle: None }
    }

    /// An executor that spawns on `handle`'s runtime, from any thread (for
    /// connections driven outside that runtime's tasks).
    ///
    /// # Examples
    ///
    /// ```
    /// use hyper::rt::Executor;
    /// use runtime::hyper::HyperExecutor;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let exec = HyperExecutor::with_handle(rt.handle().clone());
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// // From a thread that is not a runtime's.
    /// std::thread::spawn(move || exec.execute(async move { tx.send(()).unwrap() }))
    ///     .join()
    ///     .unwrap();
    /// rt.block_on(rx).unwrap();
    /// ```
    pub fn with_handle(handle: Handle) -> HyperExecutor {
        HyperExecutor {
            handle: Some(handle),
        }
    }
}

impl<F> ::hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Dropping the `JoinHandle` detaches the task; hyper's tasks report
        // their own outcome through the connection.
        match &self.handle {
            Some(handle) => drop(handle.spawn(fut)),
            None => drop(crate::spawn(fut)),
        }
    }
}

impl fmt::Debug for HyperExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperExecutor")
            .field("handle", &self.handle)
            .finish()
    }
}
