//! The schedulers, behind one [`Handle`] enum: the seam where the
//! current-thread and the multi-thread work-stealing schedulers meet the
//! rest of the runtime.

pub(crate) mod current_thread;
pub(crate) mod fairness;
pub(crate) mod multi_thread;
pub(crate) mod park;
pub(crate) mod unhandled_panic;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::task::JoinHandle;

/// For `yield_now`, before the task wakes itself: if this thread runs a
/// scheduler's tasks, tells the scheduler that the task being polled
/// yields, so that its wake-up waits until the scheduler has polled the
/// reactor (and run the tasks that were runnable). On any other thread it
/// does nothing: the wake-up then queues the task at once.
pub(crate) fn note_yield() {
    let _ = multi_thread::note_yield() || current_thread::note_yield();
}

/// A callback run on each runtime thread at start or stop.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// Names each new runtime thread (`Builder::thread_name_fn`).
pub(crate) type NameFn = Arc<dyn Fn() -> String + Send + Sync>;

/// `Builder::on_thread_park` and `on_thread_unpark`: run by a worker (the
/// `block_on` thread of a current-thread runtime) around each sleep.
#[derive(Clone, Default)]
pub(crate) struct ParkHooks {
    pub(crate) on_park: Option<Callback>,
    pub(crate) on_unpark: Option<Callback>,
}

impl ParkHooks {
    /// Runs the park hook, if any.
    #[inline]
    pub(crate) fn parking(&self) {
        if let Some(f) = &self.on_park {
            f();
        }
    }

    /// Runs the unpark hook, if any.
    #[inline]
    pub(crate) fn unparked(&self) {
        if let Some(f) = &self.on_unpark {
            f();
        }
    }
}

/// Settings shared by every scheduler flavor.
#[derive(Clone, Default)]
pub(crate) struct Config {
    /// Run on each worker (and blocking-pool) thread after it starts.
    pub(crate) on_thread_start: Option<Callback>,
    /// Run on each worker (and blocking-pool) thread before it stops.
    pub(crate) on_thread_stop: Option<Callback>,
    /// Names each worker and blocking-pool thread, instead of the fixed
    /// names.
    pub(crate) thread_name_fn: Option<NameFn>,
    /// Run by workers around each park.
    pub(crate) park_hooks: ParkHooks,
    /// The stall detector's threshold and report, if enabled.
    pub(crate) stall: Option<crate::metrics::Stall>,
    /// The poll-time histogram's layout, if enabled.
    pub(crate) poll_time_histogram: Option<crate::metrics::HistogramConfiguration>,
    /// A fixed injector interval (`Builder::global_queue_interval`);
    /// `None`: it adapts to the poll time (`fairness`).
    pub(crate) global_queue_interval: Option<u32>,
    /// Tasks run between two looks at I/O and timers
    /// (`Builder::event_interval`); `None`: [`EVENT_INTERVAL`].
    pub(crate) event_interval: Option<u32>,
    /// `Builder::disable_lifo_slot`: a task woken by a running task goes
    /// to the back of the queue (multi-thread).
    pub(crate) disable_lifo_slot: bool,
    /// `Builder::unhandled_panic`: what a panic in a spawned task does.
    pub(crate) unhandled_panic: crate::runtime::UnhandledPanic,
}

impl Config {
    /// The record a runtime that shuts down on unhandled panics keeps.
    pub(crate) fn panic_shutdown(&self) -> Option<unhandled_panic::PanicShutdown> {
        match self.unhandled_panic {
            crate::runtime::UnhandledPanic::Ignore => None,
            crate::runtime::UnhandledPanic::ShutdownRuntime => {
                Some(unhandled_panic::PanicShutdown::new())
            }
        }
    }
}

/// Tasks a scheduler thread runs between two looks at I/O and timers,
/// unless `Builder::event_interval` says otherwise (tokio's default too).
pub(crate) const EVENT_INTERVAL: u32 = 61;

impl Config {
    /// The event interval in force.
    pub(crate) fn event_interval(&self) -> u32 {
        self.event_interval.unwrap_or(EVENT_INTERVAL)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("on_thread_start", &self.on_thread_start.is_some())
            .field("on_thread_stop", &self.on_thread_stop.is_some())
            .field("thread_name_fn", &self.thread_name_fn.is_some())
            .field("on_thread_park", &self.park_hooks.on_park.is_some())
            .field("on_thread_unpark", &self.park_hooks.on_unpark.is_some())
            .field("stall", &self.stall)
            .field("poll_time_histogram", &self.poll_time_histogram)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("event_interval", &self.event_interval)
            .field("disable_lifo_slot", &self.disable_lifo_slot)
            .field("unhandled_panic", &self.unhandled_panic)
            .finish()
    }
}

/// A cheap, cloneable reference to one runtime: its scheduler and its
/// blocking pool.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) flavor: Flavor,
    pub(crate) blocking: crate::blocking::Spawner,
}

/// The scheduler of a runtime.
#[derive(Clone, Debug)]
pub(crate) enum Flavor {
    CurrentThread(Arc<current_thread::Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

impl Handle {
    /// Spawns `future` as a task of this runtime, recording `meta`.
    pub(crate) fn spawn<F>(&self, future: F, meta: crate::task::Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.flavor {
            Flavor::CurrentThread(s) => s.spawn(future, meta),
            Flavor::MultiThread(s) => s.spawn(future, meta),
        }
    }

    /// Blocks this thread on `future`, running tasks if the flavor allows.
    /// Under `UnhandledPanic::ShutdownRuntime`, panics once a spawned task
    /// has panicked.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let shutdown = match &self.flavor {
            Flavor::CurrentThread(s) => s.panic_shutdown(),
            Flavor::MultiThread(s) => s.panic_shutdown(),
        };
        if let Some(state) = shutdown {
            return self.block_on_plain(unhandled_panic::AbortOnPanic::new(future, state));
        }
        self.block_on_plain(future)
    }

    fn block_on_plain<F: Future>(&self, future: F) -> F::Output {
        match &self.flavor {
            Flavor::CurrentThread(s) => s.block_on(future),
            Flavor::MultiThread(_) => park::park_block_on(future),
        }
    }

    /// Cancels every task; for the multi-thread flavor also stops the
    /// workers, waiting for them at most `timeout` (`None`: no limit).
    pub(crate) fn shutdown(&self, timeout: Option<std::time::Duration>) {
        match &self.flavor {
            Flavor::CurrentThread(s) => s.shutdown(),
            Flavor::MultiThread(s) => s.shutdown(timeout),
        }
        self.blocking.shutdown(timeout);
    }
}
