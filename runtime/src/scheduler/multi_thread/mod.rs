//! The multi-thread work-stealing scheduler (the default flavor).
//!
//! Each worker owns a bounded local queue ([`queue`]) and a LIFO slot for
//! the task it woke last (so a request/response pair runs back to back,
//! while caches are warm). Tasks woken outside the workers go to a global
//! injector (`crossbeam_queue::SegQueue`) that every worker checks first
//! once every few polls, so it cannot starve: how many follows the average
//! cost of a poll, so that a remote task waits for about 40 µs of local work
//! ([`fairness`](super::fairness)). An idle worker steals half of a random
//! victim's queue; at most half of the workers search at once, and a
//! wake-up unparks a worker only when nobody is searching ([`idle`]).
//!
//! # Yielded tasks wait for the reactor
//!
//! A task that calls [`yield_now`](crate::task::yield_now) tells its
//! worker so ([`note_yield`]) and wakes itself; when the poll ends, the
//! worker puts the task in a per-worker list (`Core::deferred`, as tokio
//! keeps yielded tasks' wakers) instead of its queue, and moves the list to
//! the back of the queue only after it polled the reactor: at its periodic poll (every
//! [`EVENT_INTERVAL`](super::EVENT_INTERVAL) ticks, or a poll by any thread within the last
//! [`MIN_POLL_GAP`]), or when it has nothing else to run, in which case it
//! polls the reactor with a zero timeout instead of parking (it must not
//! block: the yielded tasks are ready to run), then wakes them. So a task
//! looping on `yield_now` until a socket is readable or a timer fired sees
//! it at its next turn, and every task that was runnable when it yielded
//! runs before it. When another thread holds the reactor (a peer blocked in
//! it, or the reactor thread), that thread is the one polling: it picks up
//! the events as they come, and the yielded tasks are woken without
//! waiting. The tasks go to the back of the queue, never to the LIFO slot,
//! and wake a peer only if more than one task is queued. A worker with no
//! deferred task parks as before, so nothing spins. The list holds the very
//! `Notified` the queue would have held (no waker clone, no extra wake: a
//! yield costs what it did), travels with the core (`block_in_place` hands
//! it to the new worker thread) and is dropped at shutdown with the queue.
//! Deferred tasks cannot be stolen until they are back in the queue, at the
//! worker's next reactor poll.
//!
//! The LIFO slot is bounded: after [`MAX_LIFO_POLLS`] tasks run from it in
//! a row, the next one goes to the back of the queue, so two tasks that wake
//! each other forever cannot starve the rest. That push wakes a peer only
//! if the queue then holds more than that one task: alone, it is what this
//! worker runs next, and a peer woken for it finds nothing (it is gone
//! before the steal) or takes it and splits a chain of hand-offs across two
//! cores. Measured with 8 tasks contending one `sync::Mutex` (each unlock
//! wakes the next waiter, so every poll ends a LIFO chain link): waking on
//! every cap made each worker park 200,000 times a second, 87 % of them for
//! nothing, for 0.9 x tokio's lock rate; waking only for a second task
//! runs the chain on one worker at 2.0 x tokio's rate, and `chained_spawn`
//! takes half the CPU (`benches/results/lifo_cap_notify.md`).
//!
//! A task left in the queue unannounced (by the cap, or as a reactor
//! turn's second task, below) waits if the task the worker runs instead
//! blocks the thread. The reactor thread's watcher covers that: every
//! `STALL_GUARD` it wakes a parked peer to steal from any worker whose
//! queue is not empty and that finished no poll since its last look
//! (`Shared::rescue_stuck_lifo`; test
//! `adv_blocking::a_task_queued_behind_one_that_blocks_its_worker_runs_on_another_worker`).
//!
//! # Waking peers from a reactor turn (measured)
//!
//! A worker parked in the reactor dispatches each turn's events into its
//! own LIFO slot and queue. It wakes a parked peer only once a third task
//! is runnable (the LIFO slot and two queued), not for the second. At a
//! fixed 20 k messages/s over 100 echo connections, waking for the second
//! made a fifth to a quarter of all parks no-ops (the peer woke to find
//! the task already run) and cost 1.27 context switches per message. Waking
//! for the third cut that to 0.75, near the 0.70 of a single-threaded epoll
//! loop, and the server CPU per message by about 13 %. The pinned and open-loop
//! echo cells went from 0.90 to 0.97 of tokio's CPU advantage to 1.05 to
//! 1.13. Closed-loop throughput did not change beyond noise. Waking only
//! for a fourth saved a little more CPU, but in three of four open-loop
//! cells its p99 was worse than both runs of the chosen setting
//! (`benches/results/driving_notify.md`).
//!
//! # Who drives the reactor (measured)
//!
//! Two strategies, chosen by
//! [`Builder::worker_driven_reactor`](crate::Builder::worker_driven_reactor):
//!
//! - **Reactor thread**: the reactor's own thread waits in the kernel queue
//!   and wakes tasks from there; every wake-up is a push to the injector
//!   and, often, an unpark of a sleeping worker: a cross-thread hop and a
//!   context switch per event.
//! - **Idle workers (default)**: a worker polls the reactor without
//!   blocking every [`EVENT_INTERVAL`](super::EVENT_INTERVAL) ticks (unless any thread polled in
//!   the last [`MIN_POLL_GAP`]) and, with nothing to do, parks inside the
//!   reactor instead of on its condition variable. Its events wake tasks
//!   straight into its own queue, in batches. The reactor thread watches
//!   and covers when nobody polled for 10 ms. The protocol is
//!   [`runtime_reactor::drive`]'s.
//!
//! Decision: idle workers, about 1.5x the reactor thread's echo rate on 2
//! cores and at parity with tokio (`benches/results/reactor_modes.md`;
//! `cargo run --release -p runtime-benches --bin reactor_modes`).
//!
//! Per message, a stream socket makes one `recv` and one `send`: a short
//! read (or write) clears readiness as `EAGAIN` would (DESIGN §4,
//! `Registration::poll_stream_io`), and so, on Linux TCP, does a read that
//! filled its buffer and learned from `TCP_INQ` that nothing stayed queued
//! (`runtime_net`'s `tcp::inq`; the cost of the old rule and the figures
//! are in `benches/results/short_reads.md`).

pub(crate) mod idle;
pub(crate) mod queue;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;
use parking_lot::{Condvar, Mutex};

use self::idle::Idle;
use self::queue::{LifoSlot, Local, Overflow, Steal};
use super::fairness::InjectorInterval;
use runtime_reactor::drive::Driver;

use super::park::{Parker, Unparker};
use super::Config;
use crate::context;
use crate::metrics::{self, Counters, WatcherGuard};
use crate::shim::{fence, AtomicBool, AtomicU32, Ordering};
use crate::task::{self, JoinHandle, Notified, OwnedTasks, Schedule, Task};

/// A busy worker skips its periodic reactor poll if any thread polled more
/// recently than this: short tasks (e.g. 61 `yield_now`s take a few
/// microseconds) would otherwise pay one `epoll_wait` per 61 polls.
const MIN_POLL_GAP: Duration = Duration::from_micros(50);
/// How long a parked worker lets a peer's LIFO task wait while that peer
/// runs one task without finishing it, before taking the LIFO task.
const LIFO_STUCK_AFTER: Duration = Duration::from_millis(2);
/// Tasks run from the LIFO slot in a row before it yields to the queue.
const MAX_LIFO_POLLS: u32 = 3;

/// State shared by all workers and handles.
pub(crate) struct Shared {
    /// Per worker: the stealing end of its queue and its unparker.
    remotes: Box<[Remote]>,
    /// Tasks scheduled from outside the workers (and queue overflow).
    inject: SegQueue<Notified>,
    /// Searching/parked bookkeeping.
    idle: Idle,
    /// Every live task.
    owned: OwnedTasks,
    /// Set when the runtime shuts down on unhandled panics.
    panic_shutdown: Option<super::unhandled_panic::PanicShutdown>,
    /// Set once, when the runtime shuts down.
    shutdown: AtomicBool,
    /// Thread hooks.
    config: Config,
    /// Worker thread settings.
    spec: ThreadSpec,
    /// The stuck-worker check run by the reactor thread (held here, weakly
    /// by the reactor, so it goes away with the runtime).
    watcher: std::sync::OnceLock<Arc<dyn Fn() + Send + Sync>>,
    /// The reactor idle workers drive, looked up once at start; `None` if
    /// they do not (the reactor thread alone drives it).
    reactor: Option<&'static runtime_reactor::Reactor>,
    /// The worker threads, to join at shutdown.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Counts workers still running, to wait for them with a timeout.
    running: Mutex<usize>,
    all_stopped: Condvar,
    /// Per-worker counters and published polls (`metrics.rs`).
    counters: Arc<Counters>,
    /// Stops the stall watcher thread (if any) at shutdown.
    stall_watcher: Mutex<Option<WatcherGuard>>,
}

// Cache-padded: each worker writes its own `lifo` and `progress` on every
// task; sharing a cache line with a neighbour's would make every task run
// bounce that line between cores.
#[repr(align(128))]
struct Remote {
    steal: Steal,
    unparker: Unparker,
    /// The worker's LIFO slot: the task it woke last, run next. Written by
    /// its owner; emptied by a peer only when the owner made no progress
    /// for [`LIFO_STUCK_AFTER`] (blocked in one task), so that the task does
    /// not wait for the owner (see `park`).
    lifo: LifoSlot,
    /// Tasks the worker has run (wrapping); peers read it to tell a stuck
    /// worker from a busy one. Written only by the thread holding the
    /// worker's core.
    progress: AtomicU32,
    /// `progress` when the reactor thread's watcher last looked.
    watched: AtomicU32,
}

/// What a worker owns while it runs.
struct Core {
    index: usize,
    /// LIFO tasks run in a row.
    lifo_polls: u32,
    run_queue: Local,
    /// Tasks to run before the next look at I/O, timers and yielded
    /// tasks; reset to `event_interval` at each look.
    until_event: u32,
    /// `Config::event_interval` (61 unless the builder set it).
    event_interval: u32,
    /// Whether a task woken by the running one goes to the LIFO slot
    /// (false after `Builder::disable_lifo_slot`).
    use_lifo: bool,
    /// When to look at the injector before the local queue.
    injector_interval: InjectorInterval,
    /// Tasks that yielded, queued after the reactor's next poll.
    deferred: Vec<Notified>,
    /// Set by [`note_yield`] during a poll: if the task is woken while it
    /// runs, it goes to `deferred`. Cleared around every poll.
    yielding: bool,
    is_searching: bool,
    /// Random victim selection.
    rand: u32,
    /// Set while this worker waits in (and dispatches from) the reactor.
    driving: bool,
    /// Scratch for `park`: peers with an occupied LIFO slot, and their
    /// progress count when this worker went to sleep.
    lifo_watch: Vec<(usize, u32)>,
    /// Woken from a park and no task run since (for the no-op count).
    unparked_idle: bool,
    /// Busy time and poll stamps (metrics).
    clock: metrics::RunClock,
    /// Whether every poll is timed (`WorkerSlot::timed`, the same for all
    /// workers), kept here so the poll loop need not read the slot.
    timed: bool,
    parker: Parker,
}

/// The worker this thread is, if any.
struct WorkerCtx {
    shared: Arc<Shared>,
    /// The core, present while a task runs (so `schedule` can reach the
    /// local queue and LIFO slot).
    core: RefCell<Option<Box<Core>>>,
    /// This thread as a driver of the reactor (worker-driven mode): it
    /// polls the reactor itself, and the reactor thread only watches.
    driver: Option<Driver>,
}

thread_local! {
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(std::ptr::null()) };
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThread")
            .field("workers", &self.remotes.len())
            .field("tasks", &self.owned.len())
            .finish()
    }
}

impl Overflow for Shared {
    fn push_batch(&self, tasks: impl Iterator<Item = Notified>) {
        for t in tasks {
            self.inject.push(t);
        }
    }
}

/// Thread settings for the workers.
pub(crate) struct ThreadSpec {
    pub(crate) name: String,
    pub(crate) stack_size: Option<usize>,
    /// Whether idle workers drive the reactor (see the module docs).
    pub(crate) worker_driven_reactor: bool,
}

impl Shared {
    /// Starts `workers` worker threads.
    pub(crate) fn start(
        workers: usize,
        config: Config,
        spec: ThreadSpec,
        handle: impl Fn(Arc<Shared>) -> super::Handle,
    ) -> std::io::Result<Arc<Shared>> {
        if workers > idle::MAX_WORKERS {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "worker_threads({workers}): a runtime has at most {} worker threads",
                    idle::MAX_WORKERS
                ),
            ));
        }
        // Looked up once, here, and kept: workers drive it on every idle
        // turn and wakers interrupt it on every unpark of a driving worker.
        let reactor = runtime_reactor::Reactor::get().ok();
        let driven = reactor.filter(|_| spec.worker_driven_reactor);
        let counters = Counters::new(
            workers,
            config.stall.clone(),
            config.poll_time_histogram.as_ref(),
        );
        let mut cores = Vec::with_capacity(workers);
        let mut remotes = Vec::with_capacity(workers);
        for index in 0..workers {
            let (steal, run_queue) = queue::local();
            let parker = Parker::with_reactor(driven);
            remotes.push(Remote {
                steal,
                unparker: parker.unparker(),
                lifo: LifoSlot::new(),
                progress: AtomicU32::new(0),
                watched: AtomicU32::new(u32::MAX),
            });
            cores.push(Box::new(Core {
                index,
                lifo_polls: 0,
                run_queue,
                until_event: config.event_interval(),
                event_interval: config.event_interval(),
                use_lifo: !config.disable_lifo_slot,
                injector_interval: InjectorInterval::new(config.global_queue_interval),
                deferred: Vec::new(),
                yielding: false,
                is_searching: false,
                rand: 0x9E37_79B9 ^ (index as u32 + 1).wrapping_mul(0x85EB_CA6B),
                driving: false,
                lifo_watch: Vec::with_capacity(workers),
                unparked_idle: false,
                clock: metrics::RunClock::new(),
                timed: counters.workers[index].timed,
                parker,
            }));
        }
        let shared = Arc::new(Shared {
            remotes: remotes.into_boxed_slice(),
            inject: SegQueue::new(),
            idle: Idle::new(workers),
            owned: OwnedTasks::new(),
            panic_shutdown: config.panic_shutdown(),
            shutdown: AtomicBool::new(false),
            config,
            spec,
            watcher: std::sync::OnceLock::new(),
            reactor: driven,
            threads: Mutex::new(Vec::with_capacity(workers)),
            running: Mutex::new(0),
            all_stopped: Condvar::new(),
            counters,
            stall_watcher: Mutex::new(None),
        });
        let weak = Arc::downgrade(&shared);
        *shared.stall_watcher.lock() = shared
            .counters
            .start_watcher(move |id| weak.upgrade().and_then(|s| s.owned.name_of(id)));
        let weak = Arc::downgrade(&shared);
        let watcher: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.rescue_stuck_lifo();
            }
        });
        if let Some(reactor) = reactor {
            runtime_reactor::drive::add_watcher(reactor, Arc::downgrade(&watcher));
        }
        let _ = shared.watcher.set(watcher);
        for core in cores {
            if let Err(e) = shared.spawn_worker(core, handle(shared.clone())) {
                shared.shutdown(None);
                return Err(e);
            }
        }
        Ok(shared)
    }

    /// Starts a thread that runs the worker loop with `core`.
    fn spawn_worker(
        self: &Arc<Self>,
        core: Box<Core>,
        handle: super::Handle,
    ) -> std::io::Result<()> {
        let name = match &self.config.thread_name_fn {
            Some(name) => name(),
            None => self.spec.name.clone(),
        };
        let mut builder = std::thread::Builder::new().name(name);
        if let Some(size) = self.spec.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = self.clone();
        *self.running.lock() += 1;
        match builder.spawn(move || run_worker(shared, core, handle)) {
            Ok(t) => {
                self.threads.lock().push(t);
                Ok(())
            }
            Err(e) => {
                *self.running.lock() -= 1;
                Err(e)
            }
        }
    }

    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F, meta: task::Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (notified, join) = task::new_task(&self.owned, future, self.clone(), meta);
        self.counters.spawned();
        if let Some(n) = notified {
            self.schedule_task(n, false);
        }
        join
    }

    fn schedule_task(self: &Arc<Self>, task: Notified, is_yield: bool) {
        let local = WORKER.with(|w| {
            let ctx = w.get();
            if ctx.is_null() {
                return Some(task);
            }
            // SAFETY: WORKER points to the `WorkerCtx` on the stack of
            // `run_worker`, which outlives every task run on this thread
            // and resets the pointer before returning.
            let ctx = unsafe { &*ctx };
            if !Arc::ptr_eq(&ctx.shared, self) {
                return Some(task);
            }
            let Ok(mut core) = ctx.core.try_borrow_mut() else {
                return Some(task);
            };
            let Some(core) = core.as_mut() else {
                return Some(task);
            };
            self.schedule_local(core, task, is_yield);
            None
        });
        if let Some(task) = local {
            self.counters.remote_scheduled();
            self.push_remote(task);
        }
    }

    fn schedule_local(&self, core: &mut Core, task: Notified, is_yield: bool) {
        if is_yield && core.yielding {
            // It called `yield_now`: it waits for the reactor's next poll
            // (and is counted as a local schedule then, with the batch).
            core.deferred.push(task);
            return;
        }
        core.clock.scheduled_locally(1);
        let pushed_to_queue = if is_yield || !core.use_lifo {
            core.run_queue.push_back(task, self);
            true
        } else if let Some(prev) = self.remotes[core.index].lifo.replace(task) {
            core.run_queue.push_back(prev, self);
            true
        } else {
            false
        };
        if !pushed_to_queue {
            return;
        }
        if core.driving {
            // Dispatching a reactor turn: a third runnable task (LIFO slot
            // and two queued) is the first a peer can help with; the
            // second this worker runs itself (module docs, "Waking peers").
            self.notify_for_surplus(core);
        } else {
            self.notify_parked();
        }
    }

    /// Wakes a parked peer if `core`'s queue holds more than the one task
    /// the worker runs next (a peer woken for that one finds it gone). While
    /// the worker dispatches I/O events from inside the reactor it is still
    /// listed as parked, so it is not the one woken.
    fn notify_for_surplus(&self, core: &Core) {
        if core.run_queue.len() > 1 {
            self.notify_parked_except(core.driving.then_some(core.index));
        }
    }

    fn push_remote(&self, task: Notified) {
        self.inject.push(task);
        // Pairs with the fence in `park`: either the parking worker sees
        // this task, or we see it listed as parked and wake it.
        fence(Ordering::SeqCst);
        if self.owned.is_closed() {
            // Shutdown already emptied the injector; nobody else will.
            while self.inject.pop().is_some() {}
            return;
        }
        self.notify_parked();
    }

    /// Run by the reactor thread every `STALL_GUARD`: a worker that ran no
    /// task since the last look is stuck in one task (blocking user code),
    /// or parked. Its LIFO task, if any, goes to the injector for another
    /// worker (parked workers do the same on their own, see `park`; this
    /// catches the case where all of them sleep untimed). If its queue is
    /// not empty, a parked peer is woken to steal from it: the rules that
    /// spare a wake-up for the one task a worker runs next (the LIFO cap,
    /// a reactor turn's second task) leave that task there unannounced,
    /// and a stuck worker will not run it. (A parked worker's queue is
    /// empty, except while it dispatches a reactor turn: then the wake-up
    /// is at worst early.) Deferred `yield_now` tasks are not in a
    /// stealable queue and wait for the stuck task.
    fn rescue_stuck_lifo(&self) {
        for r in self.remotes.iter() {
            let now = r.progress.load(Ordering::Relaxed);
            let before = r.watched.swap(now, Ordering::Relaxed);
            if now == before {
                if let Some(task) = r.lifo.take() {
                    self.push_remote(task);
                }
                if !r.steal.is_empty() {
                    self.notify_parked();
                }
            }
        }
    }

    fn notify_parked(&self) {
        self.notify_parked_except(None);
    }

    fn notify_parked_except(&self, except: Option<usize>) {
        if let Some(worker) = self.idle.worker_to_notify(except) {
            self.remotes[worker].unparker.unpark();
        }
    }

    /// Cancels every task and stops the workers, waiting for them at most
    /// `timeout` (`None`: as long as it takes).
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        if self.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        drop(self.stall_watcher.lock().take());
        for remote in self.remotes.iter() {
            remote.unparker.unpark();
        }
        // A worker cannot wait for itself.
        let on_worker = WORKER.with(|w| {
            let ctx = w.get();
            // SAFETY: see `schedule_task`.
            !ctx.is_null() && std::ptr::eq(Arc::as_ptr(&unsafe { &*ctx }.shared), self)
        });
        // A timeout too long for the clock waits without one.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut running = self.running.lock();
        let stopped = loop {
            if *running == 0 || on_worker && *running == 1 {
                break true;
            }
            match deadline {
                None => self.all_stopped.wait(&mut running),
                Some(d) => {
                    if self.all_stopped.wait_until(&mut running, d).timed_out() {
                        break *running == 0;
                    }
                }
            }
        };
        drop(running);
        if stopped && !on_worker {
            for t in self.threads.lock().drain(..) {
                let _ = t.join();
            }
        }
        // Every worker that will ever run tasks has stopped (or is stuck in
        // a task, which sees CANCELLED when it returns): cancel the rest.
        self.owned.close_and_shutdown();
        while self.inject.pop().is_some() {}
    }

    /// The reactor, if idle workers drive it (worker-driven mode).
    fn reactor(&self) -> Option<&'static runtime_reactor::Reactor> {
        self.reactor
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    pub(crate) fn panic_shutdown(&self) -> Option<&super::unhandled_panic::PanicShutdown> {
        self.panic_shutdown.as_ref()
    }

    pub(crate) fn injector_len(&self) -> usize {
        self.inject.len()
    }

    pub(crate) fn local_queue_depth(&self, worker: usize) -> usize {
        self.remotes[worker].steal.len()
    }

    pub(crate) fn overflow_count(&self, worker: usize) -> u64 {
        self.remotes[worker].steal.overflow_count()
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule_task(task, true);
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }

    fn unhandled_panic(&self) {
        if let Some(p) = &self.panic_shutdown {
            p.shut_down(&self.owned);
        }
    }
}

/// Marks the worker stopped when its thread ends (also by panic).
struct StopGuard<'a>(&'a Shared);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        let mut running = self.0.running.lock();
        *running -= 1;
        // Every stop, not just the last: a shutdown running on a worker
        // waits for the count to reach one (itself), not zero.
        self.0.all_stopped.notify_all();
    }
}

fn run_worker(shared: Arc<Shared>, core: Box<Core>, handle: super::Handle) {
    let _stopped = StopGuard(&shared);
    let _thread = shared.counters.workers[core.index].running_on_this_thread();
    let _current = context::set_current(&handle);
    let _enter = context::enter_runtime(context::BlockInPlace::Allowed);
    if let Some(f) = &shared.config.on_thread_start {
        f();
    }
    let ctx = WorkerCtx {
        shared: shared.clone(),
        core: RefCell::new(None),
        driver: shared.reactor().map(Driver::new),
    };
    WORKER.with(|w| w.set(&ctx));
    struct ResetWorker;
    impl Drop for ResetWorker {
        fn drop(&mut self) {
            let _ = WORKER.try_with(|w| w.set(std::ptr::null()));
        }
    }
    let _reset = ResetWorker;

    let mut core = core;
    while !shared.shutdown.load(Ordering::Acquire) {
        core.until_event -= 1;
        if core.until_event == 0 {
            core.until_event = core.event_interval;
            if ctx
                .driver
                .as_ref()
                .is_some_and(|d| d.since_last_turn() >= MIN_POLL_GAP)
            {
                core = poll_reactor(&ctx, core);
            }
            // Polled just now, or by some thread within MIN_POLL_GAP.
            wake_deferred(&shared, &mut core);
        }
        let task = match next_task(&shared, &mut core) {
            Some(task) => Some(task),
            None => steal_work(&shared, &mut core),
        };
        if let Some(task) = task {
            match run_task(&ctx, core, task) {
                Some(c) => core = c,
                None => return,
            }
            continue;
        }
        if !core.deferred.is_empty() {
            // Only yielded tasks are left: they are ready, so do not block,
            // but let the reactor run before them.
            if ctx.driver.is_some() {
                core = poll_reactor(&ctx, core);
            }
            wake_deferred(&shared, &mut core);
            continue;
        }
        core = park(&ctx, core);
    }
    // Cancel every task that is not running elsewhere, here on a worker
    // thread (with this runtime current), so futures' `Drop` runs where the
    // futures ran; then drop what is still queued here. `Shared::shutdown`
    // repeats the cancellation for anything left (a worker stuck in user
    // code past a shutdown timeout).
    core.clock.end_run(&shared.counters.workers[core.index]);
    shared.owned.close_and_shutdown();
    drop(shared.remotes[core.index].lifo.take());
    while core.run_queue.pop().is_some() {}
    core.deferred.clear();
    if let Some(f) = &shared.config.on_thread_stop {
        f();
    }
}

fn next_task(shared: &Shared, core: &mut Core) -> Option<Notified> {
    // A due look at the injector comes first, even before the LIFO slot:
    // `run_task` leaves a task there when it stops a LIFO run for the look.
    if core.injector_interval.look_due() {
        if let Some(ns) = core.injector_interval.new_mean_poll_ns() {
            shared.counters.workers[core.index].set_mean_poll(ns);
        }
        if let Some(t) = shared.inject.pop() {
            return Some(t);
        }
    }
    // Otherwise filled outside `run_task` only when this worker drove the
    // reactor.
    if let Some(t) = shared.remotes[core.index].lifo.take() {
        return Some(t);
    }
    if let Some(t) = core.run_queue.pop() {
        return Some(t);
    }
    // Take a fair share of the injector at once, to touch it less often.
    let first = shared.inject.pop()?;
    let share = (shared.inject.len() / shared.num_workers())
        .min(core.run_queue.remaining())
        .min(queue::CAPACITY / 2);
    for _ in 0..share {
        match shared.inject.pop() {
            Some(t) => core.run_queue.push_back(t, shared),
            None => break,
        }
    }
    Some(first)
}

fn steal_work(shared: &Shared, core: &mut Core) -> Option<Notified> {
    if !core.is_searching {
        if !shared.idle.transition_to_searching() {
            return None;
        }
        core.is_searching = true;
    }
    let n = shared.remotes.len();
    // xorshift32
    core.rand ^= core.rand << 13;
    core.rand ^= core.rand >> 17;
    core.rand ^= core.rand << 5;
    let start = core.rand as usize % n;
    for i in 0..n {
        let victim = (start + i) % n;
        if victim == core.index {
            continue;
        }
        let before = core.run_queue.len();
        if let Some(t) = shared.remotes[victim].steal.steal_into(&mut core.run_queue) {
            let stolen = core.run_queue.len().saturating_sub(before) + 1;
            shared.counters.workers[core.index].stole(stolen as u64);
            return Some(t);
        }
    }
    shared.inject.pop()
}

fn run_task(ctx: &WorkerCtx, mut core: Box<Core>, task: Notified) -> Option<Box<Core>> {
    let shared = &*ctx.shared;
    if core.is_searching {
        core.is_searching = false;
        if shared.idle.transition_from_searching() {
            // The last searcher found work: there may be more, so wake a
            // peer to look.
            shared.notify_parked();
        }
    }
    core.lifo_polls = 0;
    core.unparked_idle = false;
    // Two copies of the loop, so that untimed polls (the default) test
    // nothing per poll for the timing they do not do.
    if core.timed {
        run_tasks::<true>(ctx, core, task)
    } else {
        run_tasks::<false>(ctx, core, task)
    }
}

/// `run_task`'s loop: `task`, then the LIFO slot's tasks while it is this
/// worker's turn. `TIMED`: whether each poll is timed (`Core::timed`).
#[inline(always)]
fn run_tasks<const TIMED: bool>(
    ctx: &WorkerCtx,
    mut core: Box<Core>,
    task: Notified,
) -> Option<Box<Core>> {
    let shared = &*ctx.shared;
    let index = core.index;
    let slot = || &shared.counters.workers[index];
    // Timed polls chain: the end of one is the start of the next.
    let mut poll_start = if TIMED { core.clock.read(slot()) } else { 0 };
    let mut task = task;
    loop {
        core.injector_interval.polled();
        core.yielding = false;
        let stamp = if TIMED {
            slot().poll_start(poll_start, task.0.id(), task.0.meta().location());
            poll_start
        } else {
            core.clock.stamp(slot)
        };
        *ctx.core.borrow_mut() = Some(core);
        task.run_at(stamp);
        // No core: the task called `block_in_place`, and another thread
        // carries on as this worker.
        core = ctx.core.borrow_mut().take()?;
        if TIMED {
            let now = core.clock.read(slot());
            slot().poll_end(poll_start, now);
            poll_start = now;
        }
        core.yielding = false;
        // Only the worker holding the core writes it: a load and a store,
        // not a locked add, per poll.
        let progress = &shared.remotes[index].progress;
        progress.store(
            progress.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        if core.injector_interval.is_due() && !shared.inject.is_empty() {
            // The injector's turn (polls are long enough that its interval
            // is shorter than a LIFO run): the LIFO task waits in its slot.
            return Some(core);
        }
        let Some(next) = shared.remotes[index].lifo.take() else {
            return Some(core);
        };
        if core.lifo_polls >= MAX_LIFO_POLLS {
            core.run_queue.push_back(next, shared);
            shared.notify_for_surplus(&core);
            return Some(core);
        }
        core.lifo_polls += 1;
        task = next;
    }
}

/// Polls the reactor without blocking, unless another thread is in it,
/// with the core in the context so that the tasks its events wake land in
/// this worker's queue.
fn poll_reactor(ctx: &WorkerCtx, core: Box<Core>) -> Box<Core> {
    let Some(driver) = &ctx.driver else {
        return core;
    };
    *ctx.core.borrow_mut() = Some(core);
    driver.poll();
    ctx.core
        .borrow_mut()
        .take()
        .expect("no task runs while a worker polls the reactor")
}

/// Queues the tasks that yielded since the last call (see the module
/// docs), behind the others.
fn wake_deferred(shared: &Shared, core: &mut Core) {
    if core.deferred.is_empty() {
        return;
    }
    core.clock.scheduled_locally(core.deferred.len() as u64);
    for task in core.deferred.drain(..) {
        core.run_queue.push_back(task, shared);
    }
    shared.notify_for_surplus(core);
}

/// Called by `yield_now` on any thread: if this thread is a worker running
/// a task, marks the task as yielding (its self-wake then waits for the
/// reactor's next poll) and returns `true`; otherwise returns `false`.
pub(crate) fn note_yield() -> bool {
    WORKER.with(|w| {
        let ctx = w.get();
        if ctx.is_null() {
            return false;
        }
        // SAFETY: see `Shared::schedule_task`.
        let ctx = unsafe { &*ctx };
        let Ok(mut core) = ctx.core.try_borrow_mut() else {
            return false;
        };
        let Some(core) = core.as_mut() else {
            return false;
        };
        core.yielding = true;
        true
    })
}

fn park(ctx: &WorkerCtx, mut core: Box<Core>) -> Box<Core> {
    core.injector_interval.parked();
    let shared = &*ctx.shared;
    let slot = &shared.counters.workers[core.index];
    core.clock.end_run(slot);
    if std::mem::replace(&mut core.unparked_idle, true) {
        slot.noop();
    }
    slot.parked();
    let was_searching = std::mem::replace(&mut core.is_searching, false);
    let was_last_searcher = shared.idle.transition_to_parked(core.index, was_searching);
    // Pairs with the fence in `push_remote`.
    fence(Ordering::SeqCst);
    let work_left = !shared.inject.is_empty() || shared.remotes.iter().any(|r| !r.steal.is_empty());
    if was_last_searcher && work_left {
        shared.notify_parked();
    }
    // A peer's LIFO task is not stealable while the peer makes progress; if
    // one is waiting, sleep only briefly and take it if the peer is stuck in
    // one task (a blocking call) meanwhile.
    core.lifo_watch.clear();
    for (i, r) in shared.remotes.iter().enumerate() {
        if i != core.index && r.lifo.is_occupied() {
            core.lifo_watch
                .push((i, r.progress.load(Ordering::Relaxed)));
        }
    }
    let timeout = (!core.lifo_watch.is_empty()).then_some(LIFO_STUCK_AFTER);
    if shared.inject.is_empty() && !shared.shutdown.load(Ordering::SeqCst) {
        shared.config.park_hooks.parking();
        match &ctx.driver {
            Some(_) => {
                // Wait inside the reactor instead of sleeping: with the core
                // in the context, the tasks its events wake go to this
                // worker's own queue.
                let parker = core.parker.clone_for_driving();
                core.driving = true;
                *ctx.core.borrow_mut() = Some(core);
                parker.park_driving(timeout);
                core = ctx
                    .core
                    .borrow_mut()
                    .take()
                    .expect("no task runs while a worker drives the reactor");
                core.driving = false;
            }
            None => core.parker.park_timeout(timeout),
        }
        shared.config.park_hooks.unparked();
    }
    slot.unparked();
    // Either a notifier unlisted us (we count as searching) or we unlist
    // ourselves.
    core.is_searching = shared.idle.unpark_self(core.index);
    let watch = std::mem::take(&mut core.lifo_watch);
    for &(i, seen) in &watch {
        let r = &shared.remotes[i];
        if r.progress.load(Ordering::Relaxed) == seen {
            if let Some(task) = r.lifo.take() {
                core.run_queue.push_back(task, shared);
            }
        }
    }
    core.lifo_watch = watch;
    core
}

/// Whether this thread is a worker of a multi-thread runtime (also after
/// its poll in progress handed the worker on with `block_in_place`, until
/// that poll returns).
pub(crate) fn on_worker_thread() -> bool {
    WORKER.try_with(|w| !w.get().is_null()).unwrap_or(false)
}

/// Runs `f`, which may block, on this worker thread after handing the
/// worker's queue to a new thread, so the other tasks keep running.
///
/// Gives `f` back (without running it) when this thread is not a worker of
/// a multi-thread runtime.
pub(crate) fn block_in_place<F: FnOnce() -> R, R>(f: F) -> Result<R, F> {
    let handed_off = WORKER.with(|w| {
        let ctx = w.get();
        if ctx.is_null() {
            return false;
        }
        // SAFETY: see `Shared::schedule_task`.
        let ctx = unsafe { &*ctx };
        let Some(core) = ctx.core.borrow_mut().take() else {
            // Already handed off by an enclosing `block_in_place` (a
            // `block_on` runs inside it) or an earlier one of the poll in
            // progress.
            return true;
        };
        // The poll in progress leaves this worker, which the new thread
        // takes over.
        ctx.shared.counters.workers[core.index].poll_abandoned();
        let handle = context::current().expect("a worker thread has a current runtime");
        if let Err(e) = ctx.shared.spawn_worker(core, handle) {
            panic!("block_in_place: cannot start a replacement worker thread: {e}");
        }
        true
    });
    if !handed_off {
        return Err(f);
    }
    Ok(context::exit_runtime(f))
}
