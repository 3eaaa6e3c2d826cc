//! [`Builder`]: spawning a task with settings (a name).

use std::future::Future;
use std::io;
use std::panic::Location;

use super::{JoinHandle, Meta};
use crate::Handle;

/// Spawns tasks with settings; for now, a name.
///
/// The name is kept with the task for diagnostics (next to its id and the
/// place it was spawned); like tokio, the runtime offers no public getter
/// for it.
///
/// In tokio this type is behind the `tokio_unstable` cfg; here it is always
/// available.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let handle = runtime::task::Builder::new()
///     .name("resolver")
///     .spawn(async { 7 })
///     .unwrap();
/// assert_eq!(handle.await.unwrap(), 7);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no settings: a task spawned by it is like one
    /// spawned by [`spawn`](super::spawn).
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Gives the task a name (the builder borrows it; the task keeps a
    /// copy).
    pub fn name(&self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    fn meta(&self, location: &'static Location<'static>) -> Meta {
        Meta::new(location, self.name)
    }

    /// Spawns `future` on the current runtime, as [`spawn`](super::spawn).
    ///
    /// # Errors
    ///
    /// None today (the result is there for tokio's signature, and for
    /// settings that may fail).
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](super::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::task::Builder::new().name("worker").spawn(async { 1 })?;
    /// assert_eq!(handle.await.unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn<Fut>(self, future: Fut) -> io::Result<JoinHandle<Fut::Output>>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        let meta = self.meta(Location::caller());
        match crate::context::current() {
            Some(handle) => Ok(handle.spawn(future, meta)),
            None => panic!(
                "`task::Builder::spawn` called outside a runtime: spawn from a task or inside \
                 `block_on`, or use `Builder::spawn_on`"
            ),
        }
    }

    /// Spawns `future` on the runtime of `handle`, from any thread.
    ///
    /// # Errors
    ///
    /// None today, as [`spawn`](Builder::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = runtime::task::Builder::new()
    ///     .name("pinger")
    ///     .spawn_on(async { "pong" }, rt.handle())
    ///     .unwrap();
    /// assert_eq!(rt.block_on(handle).unwrap(), "pong");
    /// ```
    #[track_caller]
    pub fn spawn_on<Fut>(self, future: Fut, handle: &Handle) -> io::Result<JoinHandle<Fut::Output>>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        Ok(handle.inner.spawn(future, self.meta(Location::caller())))
    }

    /// Spawns the `!Send` `future` on the current
    /// [`LocalSet`](super::LocalSet), as [`spawn_local`](super::spawn_local).
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's signature.
    ///
    /// # Panics
    ///
    /// Outside a `LocalSet`.
    #[track_caller]
    pub fn spawn_local<Fut>(self, future: Fut) -> io::Result<JoinHandle<Fut::Output>>
    where
        Fut: Future + 'static,
        Fut::Output: 'static,
    {
        let meta = self.meta(Location::caller());
        Ok(super::local::spawn_local_with_meta(future, meta))
    }

    /// Spawns the `!Send` `future` on `local_set`.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's signature.
    #[track_caller]
    pub fn spawn_local_on<Fut>(
        self,
        future: Fut,
        local_set: &super::LocalSet,
    ) -> io::Result<JoinHandle<Fut::Output>>
    where
        Fut: Future + 'static,
        Fut::Output: 'static,
    {
        let meta = self.meta(Location::caller());
        Ok(local_set.spawn_local_with_meta(future, meta))
    }

    /// Runs `function` on the current runtime's blocking pool, as
    /// [`spawn_blocking`](super::spawn_blocking).
    ///
    /// # Errors
    ///
    /// When the pool has no thread and the OS refuses to start one (where
    /// `spawn_blocking` panics); the job is dropped unrun.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let handle = runtime::task::Builder::new()
    ///     .name("checksum")
    ///     .spawn_blocking(|| (1..=4u32).sum::<u32>())?;
    /// assert_eq!(handle.await.unwrap(), 10);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_blocking<Function, Output>(
        self,
        function: Function,
    ) -> io::Result<JoinHandle<Output>>
    where
        Function: FnOnce() -> Output + Send + 'static,
        Output: Send + 'static,
    {
        let meta = self.meta(Location::caller());
        match crate::context::current() {
            Some(handle) => handle.blocking.spawn_blocking(function, meta),
            None => panic!(
                "`task::Builder::spawn_blocking` called outside a runtime: use \
                 `Builder::spawn_blocking_on`"
            ),
        }
    }

    /// Runs `function` on the blocking pool of `handle`'s runtime, from any
    /// thread.
    ///
    /// # Errors
    ///
    /// As [`spawn_blocking`](Builder::spawn_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = runtime::task::Builder::new()
    ///     .spawn_blocking_on(|| 5, rt.handle())
    ///     .unwrap();
    /// assert_eq!(rt.block_on(handle).unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn spawn_blocking_on<Function, Output>(
        self,
        function: Function,
        handle: &Handle,
    ) -> io::Result<JoinHandle<Output>>
    where
        Function: FnOnce() -> Output + Send + 'static,
        Output: Send + 'static,
    {
        handle
            .inner
            .blocking
            .spawn_blocking(function, self.meta(Location::caller()))
    }
}
