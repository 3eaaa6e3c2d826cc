//! The current-thread scheduler: every task runs on the thread that calls
//! `block_on`.
//!
//! Tasks woken on that thread (while it runs tasks) go to a local `VecDeque`;
//! wake-ups from other threads (the reactor thread, a `spawn` from outside)
//! go through a lock-free injector (`crossbeam_queue::SegQueue`) and unpark
//! the thread. The injector is checked first every few polls so remote
//! wake-ups cannot starve; how many follows the average cost of a poll, as
//! in the multi-thread scheduler ([`fairness`](super::fairness)).
//!
//! A task that calls [`yield_now`](crate::task::yield_now) on this thread
//! says so ([`note_yield`]) and wakes itself; when its poll ends it goes to
//! a thread-local list instead of the queue (the `block_on` future, which
//! has no queue entry, is flagged instead), and the list is queued only
//! after the reactor was polled: after a batch of tasks (the poll between
//! batches) or, when nothing else is runnable, after a poll with a zero
//! timeout in place of parking. So a yield loop lets I/O and timers in, and
//! the thread never blocks while a yielded task is ready. Tasks still in
//! the list when `block_on` returns go back to the core's queue.
//!
//! The runtime owns a [`Clock`]: once it was paused, this thread fires its
//! virtual timers itself, and instead of parking while time is paused it
//! auto-advances to the next one (`time/clock.rs` says how and why).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crossbeam_queue::SegQueue;
use parking_lot::Mutex;

use super::fairness::InjectorInterval;
use runtime_reactor::drive::Driver;

use super::park::{park_block_on, MainWaker, Parker, Unparker};
use crate::metrics::{self, Counters, WatcherGuard};
use crate::shim::Ordering;
use crate::task::{self, JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::time::{Clock, Idle};

/// State shared by the runtime's handles, its tasks and the driving thread.
pub(crate) struct Shared {
    /// Every live task.
    owned: OwnedTasks,
    /// Set when the runtime shuts down on unhandled panics.
    panic_shutdown: Option<super::unhandled_panic::PanicShutdown>,
    /// Tasks woken from other threads.
    injector: SegQueue<Notified>,
    /// Wakes the thread in `block_on`.
    unparker: Unparker,
    /// The local queue and parker; taken by the thread that drives.
    core: Mutex<Option<Box<Core>>>,
    /// The reactor the thread in `block_on` polls itself (worker-driven
    /// mode), looked up once; `None` if the reactor thread alone drives it.
    reactor: Option<&'static runtime_reactor::Reactor>,
    /// The runtime's clock: real until paused, then this runtime's virtual
    /// time and timers.
    clock: crate::shim::Arc<Clock>,
    /// The counters of the one "worker", this runtime's `block_on` thread.
    counters: Arc<Counters>,
    /// Stops the stall watcher thread (if any) at shutdown.
    stall_watcher: Mutex<Option<WatcherGuard>>,
    /// `Builder::on_thread_park`/`on_thread_unpark`, around each park.
    park_hooks: super::ParkHooks,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentThread")
            .field("tasks", &self.owned.len())
            .finish()
    }
}

/// What the driving thread owns.
struct Core {
    /// Tasks woken on this thread.
    local: VecDeque<Notified>,
    /// When to look at the injector before the local queue.
    injector_interval: InjectorInterval,
    /// Tasks run before the `block_on` future is polled again (and I/O and
    /// timers looked at), at most: `Config::event_interval`.
    event_interval: usize,
    /// Parks the thread when there is nothing to do.
    parker: Parker,
}

thread_local! {
    /// The scheduler this thread is driving, and its local queue, while in
    /// `block_on`.
    static DRIVING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    static LOCAL: RefCell<VecDeque<Notified>> = const { RefCell::new(VecDeque::new()) };
    /// Tasks that yielded on this thread, queued after the next poll of the
    /// reactor (see the module docs).
    static DEFERRED: RefCell<Vec<Notified>> = const { RefCell::new(Vec::new()) };
    /// Set by [`note_yield`] while a task (or the `block_on` future) is
    /// polled; cleared around every poll.
    static YIELDING: Cell<bool> = const { Cell::new(false) };
}

impl Shared {
    pub(crate) fn new(
        worker_driven: bool,
        start_paused: bool,
        stall: Option<metrics::Stall>,
        histogram: Option<&metrics::HistogramConfiguration>,
        park_hooks: super::ParkHooks,
        tuning: &super::Config,
    ) -> Arc<Shared> {
        // Looked up once: the thread in `block_on` drives it, and wakes from
        // other threads interrupt it, without a lookup each time.
        let reactor = if worker_driven {
            runtime_reactor::Reactor::get().ok()
        } else {
            None
        };
        let parker = Parker::with_reactor(reactor);
        let clock = crate::shim::Arc::new(Clock::new(parker.unparker(), start_paused));
        let shared = Arc::new(Shared {
            owned: OwnedTasks::new(),
            panic_shutdown: tuning.panic_shutdown(),
            injector: SegQueue::new(),
            unparker: parker.unparker(),
            core: Mutex::new(Some(Box::new(Core {
                local: VecDeque::new(),
                injector_interval: InjectorInterval::new(tuning.global_queue_interval),
                event_interval: tuning.event_interval() as usize,
                parker,
            }))),
            reactor,
            clock,
            counters: Counters::new(1, stall, histogram),
            stall_watcher: Mutex::new(None),
            park_hooks,
        });
        let weak = Arc::downgrade(&shared);
        *shared.stall_watcher.lock() = shared
            .counters
            .start_watcher(move |id| weak.upgrade().and_then(|s| s.owned.name_of(id)));
        shared
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn panic_shutdown(&self) -> Option<&super::unhandled_panic::PanicShutdown> {
        self.panic_shutdown.as_ref()
    }

    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    pub(crate) fn injector_len(&self) -> usize {
        self.injector.len()
    }

    /// The runtime's clock.
    pub(crate) fn clock(&self) -> &crate::shim::Arc<Clock> {
        &self.clock
    }

    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F, meta: task::Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (notified, join) = task::new_task(&self.owned, future, self.clone(), meta);
        self.counters.spawned();
        if let Some(n) = notified {
            self.schedule(n);
        }
        join
    }

    fn is_driving_thread(&self) -> bool {
        DRIVING.with(|d| std::ptr::eq(d.get(), self))
    }

    /// Runs `future` to completion on this thread, running the runtime's
    /// tasks meanwhile.
    pub(crate) fn block_on<F: Future>(self: &Arc<Self>, future: F) -> F::Output {
        let Some(core) = self.core.lock().take() else {
            // Another thread drives the tasks; just wait for our future.
            return park_block_on(future);
        };
        let mut guard = CoreGuard {
            shared: self,
            core: Some(core),
        };
        let prev = DRIVING.with(|d| d.replace(Arc::as_ptr(self)));
        let _restore = RestoreDriving(prev);
        let core = guard.core.as_mut().expect("core present while driving");
        LOCAL.with(|l| std::mem::swap(&mut *l.borrow_mut(), &mut core.local));

        let main = MainWaker::new(self.unparker.clone());
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        // In worker-driven mode this thread polls the reactor itself while
        // it drives the runtime: between batches of tasks without blocking,
        // and instead of sleeping when idle.
        let driver = self.reactor.map(Driver::new);
        // The `block_on` future yielded: poll it again after the reactor.
        let mut main_deferred = false;
        // Woken from a park and no task run since (for the no-op count).
        let mut unparked_idle = false;
        let slot = &self.counters.workers[0];
        let _thread = slot.running_on_this_thread();
        // Busy time and poll stamps (metrics); the run ends at each park
        // and when `block_on` returns.
        let mut clock = metrics::RunClock::new();
        loop {
            if main.woken.swap(false, Ordering::AcqRel) {
                YIELDING.set(false);
                if let Poll::Ready(v) =
                    runtime_reactor::coop::budget(|| future.as_mut().poll(&mut cx))
                {
                    clock.end_run(slot);
                    return v;
                }
                if YIELDING.replace(false) && main.woken.swap(false, Ordering::AcqRel) {
                    main_deferred = true;
                }
            }
            let mut ran = 0;
            // Whether the queues ran dry (rather than the batch ending).
            let mut drained = false;
            // Timed polls chain: the end of one is the start of the next.
            let mut poll_start = 0;
            while ran < core.event_interval {
                let next = if core.injector_interval.look_due() {
                    if let Some(ns) = core.injector_interval.new_mean_poll_ns() {
                        slot.set_mean_poll(ns);
                    }
                    self.injector
                        .pop()
                        .or_else(|| LOCAL.with(|l| l.borrow_mut().pop_front()))
                } else {
                    LOCAL
                        .with(|l| l.borrow_mut().pop_front())
                        .or_else(|| self.injector.pop())
                };
                let Some(task) = next else {
                    drained = true;
                    break;
                };
                core.injector_interval.polled();
                YIELDING.set(false);
                if slot.timed {
                    if poll_start == 0 {
                        poll_start = clock.read(slot);
                    }
                    slot.poll_start(poll_start, task.0.id(), task.0.meta().location());
                    task.run_at(poll_start);
                    let now = clock.read(slot);
                    slot.poll_end(poll_start, now);
                    poll_start = now;
                } else {
                    task.run_at(clock.stamp(|| slot));
                }
                YIELDING.set(false);
                ran += 1;
                if main.woken.load(Ordering::Acquire) {
                    break;
                }
            }
            if ran > 0 {
                unparked_idle = false;
                slot.set_queue_depth(LOCAL.with(|l| l.borrow().len()));
            }
            let deferred = main_deferred || DEFERRED.with(|d| !d.borrow().is_empty());
            // Yielded tasks run again once nothing else is runnable, or at
            // the end of a full batch, after the reactor was polled.
            let wake_deferred = deferred && (drained || ran == core.event_interval);
            let idle = ran == 0 && !main.woken.load(Ordering::Acquire) && !deferred;
            // Paused or resumed after a pause: this runtime's timers are
            // ours to fire, and a paused clock jumps instead of parking.
            let mut park_for = None;
            if self.clock.is_virtual() {
                if idle {
                    let runnable = || {
                        if let Some(driver) = &driver {
                            driver.poll();
                        }
                        main.woken.load(Ordering::Acquire)
                            || !self.injector.is_empty()
                            || LOCAL.with(|l| !l.borrow().is_empty())
                    };
                    match self.clock.idle(runnable) {
                        Idle::Again => continue,
                        Idle::Park(timeout) => park_for = timeout,
                    }
                } else if ran == core.event_interval || wake_deferred {
                    self.clock.fire_due();
                }
            }
            match &driver {
                Some(_) if idle => {
                    core.injector_interval.parked();
                    clock.end_run(slot);
                    slot.parked();
                    if std::mem::replace(&mut unparked_idle, true) {
                        slot.noop();
                    }
                    self.park_hooks.parking();
                    core.parker.park_driving(park_for);
                    self.park_hooks.unparked();
                    slot.unparked();
                }
                Some(driver) if ran == core.event_interval || wake_deferred => driver.poll(),
                None if idle => {
                    core.injector_interval.parked();
                    clock.end_run(slot);
                    slot.parked();
                    if std::mem::replace(&mut unparked_idle, true) {
                        slot.noop();
                    }
                    self.park_hooks.parking();
                    core.parker.park_timeout(park_for);
                    self.park_hooks.unparked();
                    slot.unparked();
                }
                _ => {}
            }
            if wake_deferred {
                queue_deferred();
                if std::mem::take(&mut main_deferred) {
                    main.woken.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Cancels every task and empties the queues (runtime drop).
    pub(crate) fn shutdown(&self) {
        drop(self.stall_watcher.lock().take());
        self.owned.close_and_shutdown();
        let core = self.core.lock().take();
        if let Some(mut core) = core {
            core.local.clear();
            *self.core.lock() = Some(core);
        }
        while self.injector.pop().is_some() {}
    }
}

/// Puts the core back (with the thread-local queue) when `block_on` ends,
/// also by panic.
struct CoreGuard<'a> {
    shared: &'a Shared,
    core: Option<Box<Core>>,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut core) = self.core.take() {
            // Yielded tasks go back to the queue, behind the others.
            queue_deferred();
            let _ = LOCAL.try_with(|l| std::mem::swap(&mut *l.borrow_mut(), &mut core.local));
            *self.shared.core.lock() = Some(core);
        }
    }
}

struct RestoreDriving(*const Shared);

impl Drop for RestoreDriving {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(self.0));
    }
}

/// Called by `yield_now`: on the thread driving a current-thread runtime,
/// marks the task being polled as yielding (its self-wake then waits for
/// the reactor's next poll) and returns `true`; elsewhere returns `false`.
pub(crate) fn note_yield() -> bool {
    if DRIVING.try_with(|d| d.get().is_null()).unwrap_or(true) {
        return false;
    }
    YIELDING.try_with(|y| y.set(true)).is_ok()
}

/// Moves the tasks that yielded to the back of the local queue.
fn queue_deferred() {
    let _ = DEFERRED.try_with(|d| {
        let mut d = d.borrow_mut();
        if d.is_empty() {
            return;
        }
        LOCAL.with(|l| l.borrow_mut().extend(d.drain(..)));
    });
}

impl Schedule for Arc<Shared> {
    fn yield_now(&self, task: Notified) {
        if self.is_driving_thread() && YIELDING.replace(false) {
            self.counters.workers[0].scheduled_locally();
            DEFERRED.with(|d| d.borrow_mut().push(task));
            return;
        }
        self.schedule(task);
    }

    fn schedule(&self, task: Notified) {
        if self.is_driving_thread() {
            self.counters.workers[0].scheduled_locally();
            LOCAL.with(|l| l.borrow_mut().push_back(task));
            return;
        }
        self.counters.remote_scheduled();
        self.injector.push(task);
        // After shutdown emptied the injector nobody will: drop what we
        // pushed (a task holds its scheduler, so a leftover would leak both).
        if self.owned.is_closed() {
            while self.injector.pop().is_some() {}
            return;
        }
        self.unparker.unpark();
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
