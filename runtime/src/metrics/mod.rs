//! Seeing inside a runtime: counters ([`RuntimeMetrics`]), the stall
//! detector ([`StallInfo`], [`Builder::stall_threshold`]) and the live-task
//! listing ([`Dump`]).
//!
//! # What the counters cost
//!
//! Every worker owns one slot of counters, aligned to 128 bytes so that no two
//! workers' counters share a cache line. Only the worker that holds the
//! slot's core writes it, with a `Relaxed` load and a `Relaxed` store (no
//! read-modify-write); any thread may read it.
//!
//! Per poll of a task, always: a count kept in the worker's own state
//! (added to the slot's poll count every 32 polls and at each park, as
//! tokio batches its worker metrics), and two `Relaxed` stores to the task
//! header (its poll count and the stamp, made by the holder of the task's
//! `RUNNING` bit, read by [`Dump`]).
//!
//! No clock is read per poll by default. A worker reads the clock when it
//! starts a run of tasks (after a park) and when it parks: busy time
//! ([`RuntimeMetrics::worker_total_busy_duration`]) is the sum of those
//! runs. Every `STAMP_POLLS` (32) polls in between it reads the kernel's
//! coarse clock (Linux's `CLOCK_MONOTONIC_COARSE`, FreeBSD's
//! `CLOCK_MONOTONIC_FAST`: the time as of the last timer tick, 3 ns
//! against 21 ns for the exact clock here): a task's stamp (the dump's
//! time since its last poll) is the reading at the start of the group of
//! at most 32 polls its poll ran in, so it errs by at most that group's
//! length plus one tick, and only upwards.
//!
//! Timing every poll is opt-in, as in tokio: with
//! [`Builder::enable_metrics_poll_time_histogram`] or
//! [`Builder::stall_threshold`], a worker reads the clock at every poll's
//! end (the end of one poll is the start of the next in a run), keeps the
//! longest poll ([`RuntimeMetrics::worker_max_poll_duration`]) and stamps
//! each task exactly. The histogram adds one store into the worker's own
//! buckets, after a division (linear layout) or a leading-zeros count and
//! two shifts (log layout). The stall detector adds four stores per poll
//! publishing what the worker is polling (task id, spawn location, poll
//! start, its reset) for the watcher.
//!
//! Why: `clock_gettime(CLOCK_MONOTONIC)` is a vDSO call of 20 to 25 ns
//! here, as long as a whole poll of a task that only yields; read at every
//! poll it made `yield_many` 2.7 times and `spawn_many` 2.2 times slower
//! (`benches/results/metrics_cost.md` has the figures and the command). A
//! coarse clock (`CLOCK_MONOTONIC_COARSE`, 6 ns) was not taken either: its
//! 1 to 4 ms tick would show every ordinary poll as 0.
//!
//! Elsewhere: one store per park (park count, and the no-op count when it
//! grew), one per steal, and one `Relaxed` `fetch_add` per spawn on a
//! runtime-wide counter. Tasks polled outside the workers (a `LocalSet`'s,
//! the blocking pool's) read the clock themselves for their header. The
//! reactor counts its turns with three `Relaxed` loads and up to three
//! stores per turn, made by the holder of the reactor lock (one turn at a
//! time), whatever the number of events.
//!
//! # The stall detector
//!
//! With [`Builder::stall_threshold`] set, the runtime starts one watcher
//! thread (and none otherwise). It wakes every quarter of the threshold
//! (at least every 1 ms, at most every 100 ms), reads each worker's
//! published poll start, and reports a poll that has lasted longer than the
//! threshold once, while it still runs. The reactor thread's own periodic
//! watch (`STALL_GUARD`) was not used: its period is fixed and it runs only
//! while the reactor has watchers, and a dedicated thread keeps the report
//! (which may print, or run user code) off the reactor's path.
//!
//! Only the polls of the runtime's own tasks are watched: the `block_on`
//! future is not, and a `LocalSet` polled inside a task counts as that
//! task's poll.
//!
//! # Process-wide figures
//!
//! One reactor serves every runtime of the process, so what it counts
//! ([`RuntimeMetrics::io_driver_ready_count`],
//! [`RuntimeMetrics::reactor_turn_count`],
//! [`RuntimeMetrics::reactor_max_ready_per_turn`], and the wheel's part of
//! [`RuntimeMetrics::timers_pending`]) is the same for every runtime's
//! metrics: it counts the whole process, not the runtime asked.
//!
//! [`Builder::stall_threshold`]: crate::Builder::stall_threshold
//! [`Builder::enable_metrics_poll_time_histogram`]: crate::Builder::enable_metrics_poll_time_histogram

mod histogram;

pub use histogram::{
    HistogramConfiguration, InvalidHistogramConfiguration, LogHistogram, LogHistogramBuilder,
};

use std::fmt;
use std::ops::Range;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::scheduler::{self, Flavor};
use crate::shim::{fence, AtomicPtr, AtomicU64, Ordering};
use crate::task::Id;

/// The monotonic clock in nanoseconds (from an arbitrary start, the same
/// for every thread); never 0 (0 means "not polling").
///
/// One `clock_gettime(CLOCK_MONOTONIC)`, which is what `Instant::now`
/// reads too, without `Instant`'s normalising arithmetic: this runs once
/// per task poll.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; CLOCK_MONOTONIC exists
    // on every supported target, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
        .max(1)
}

/// [`now_ns`]'s clock as of the kernel's last timer tick (a few
/// milliseconds behind at most, never ahead), where the kernel keeps such
/// a clock: on Linux `CLOCK_MONOTONIC_COARSE` costs 3 ns against
/// `CLOCK_MONOTONIC`'s 21 ns here, since it reads no cycle counter. What
/// the task dump's "time since the last poll" needs, and not busy time.
pub(crate) fn coarse_now_ns() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(target_os = "freebsd")]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_FAST;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; the clock exists on
    // the targets it is chosen for, so the call cannot fail.
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
        .max(1)
}

/// Polls stamped with one clock reading when polls are not timed.
const STAMP_POLLS: u32 = 32;

/// A worker's reading of the clock: when its current run of tasks (from
/// an unpark to the next park) began, and the stamp its polls get.
pub(crate) struct RunClock {
    /// Start of the open run; 0 when none is open.
    busy_since: u64,
    stamp: u64,
    /// Polls left to stamp with `stamp` before reading the clock again.
    left: u32,
    /// `left` as of the last time the polls were added to the slot's
    /// count: the untimed polls not yet added are `counted - left`.
    counted: u32,
    /// Tasks woken onto this worker's own queue since the last flush.
    local_schedules: u64,
}

impl RunClock {
    pub(crate) const fn new() -> RunClock {
        RunClock {
            busy_since: 0,
            stamp: 0,
            left: 0,
            counted: 0,
            local_schedules: 0,
        }
    }

    /// `n` tasks were woken (or spawned) onto this worker's own queue, by
    /// tasks it runs; added to the slot's count with the polls.
    #[inline]
    pub(crate) fn scheduled_locally(&mut self, n: u64) {
        self.local_schedules = self.local_schedules.wrapping_add(n);
    }

    /// An untimed poll is about to start: its stamp, opening a run if none
    /// is open and reading the clock once per `STAMP_POLLS` polls. The poll
    /// is counted (in the slot at the next reading or the run's end).
    /// `slot` is called only then, so the hot path does not index the
    /// worker slots.
    #[inline]
    pub(crate) fn stamp<'a>(&mut self, slot: impl FnOnce() -> &'a WorkerSlot) -> u64 {
        if self.left == 0 {
            self.restamp(slot());
        }
        self.left -= 1;
        self.stamp
    }

    /// A new group of untimed stamps: the exact clock if this opens a run
    /// (busy time starts there), else the coarse one, which is all the
    /// stamps need.
    #[cold]
    fn restamp(&mut self, slot: &WorkerSlot) {
        if self.busy_since == 0 {
            self.read(slot);
            return;
        }
        self.flush(slot);
        self.stamp = coarse_now_ns();
        self.left = STAMP_POLLS;
        self.counted = STAMP_POLLS;
    }

    /// Reads the clock (for a timed poll's start, or a new group of
    /// stamps), opening a run if none is open.
    pub(crate) fn read(&mut self, slot: &WorkerSlot) -> u64 {
        self.flush(slot);
        let now = now_ns();
        if self.busy_since == 0 {
            self.busy_since = now;
        }
        self.stamp = now;
        self.left = STAMP_POLLS;
        self.counted = STAMP_POLLS;
        now
    }

    fn flush(&mut self, slot: &WorkerSlot) {
        let polls = self.counted - self.left;
        if polls != 0 {
            bump(&slot.poll_count, u64::from(polls));
            self.counted = self.left;
        }
        if self.local_schedules != 0 {
            bump(&slot.local_schedule_count, self.local_schedules);
            self.local_schedules = 0;
        }
    }

    /// The worker parks (or stops): the open run, if any, counts as busy.
    pub(crate) fn end_run(&mut self, slot: &WorkerSlot) {
        self.flush(slot);
        if self.busy_since != 0 {
            slot.busy(self.busy_since, now_ns());
            self.busy_since = 0;
            self.left = 0;
            self.counted = 0;
        }
    }
}

/// One worker's counters and its published "what am I polling".
#[repr(align(128))]
pub(crate) struct WorkerSlot {
    park_count: AtomicU64,
    /// Wake-ups from a park (`park_count` less one while parked).
    unpark_count: AtomicU64,
    noop_count: AtomicU64,
    busy_ns: AtomicU64,
    poll_count: AtomicU64,
    steal_count: AtomicU64,
    /// Steals that took at least one task.
    steal_operations: AtomicU64,
    /// Tasks woken onto this worker's own queue from inside the runtime.
    local_schedule_count: AtomicU64,
    /// The injector interval's moving average of one poll (ns), published
    /// at each forced look (0 while the interval is fixed).
    mean_poll_ns: AtomicU64,
    /// The thread running this worker, while one does.
    thread: parking_lot::Mutex<Option<std::thread::ThreadId>>,
    max_poll_ns: AtomicU64,
    /// The current thread runtime's local queue length, as of the end of
    /// its last batch (the queue is thread-local there).
    queue_depth: AtomicU64,
    /// When the poll in progress began ([`now_ns`]); 0 while not polling.
    poll_start: AtomicU64,
    /// The id of the task being polled (valid while `poll_start` is).
    task_id: AtomicU64,
    /// Its spawn location (`&'static`, so always safe to read).
    location: AtomicPtr<Location<'static>>,
    /// The `poll_start` the stall watcher last reported (watcher only).
    reported: AtomicU64,
    /// Whether a stall watcher reads `poll_start`, `task_id` and
    /// `location`: if not, they are not written.
    watched: bool,
    /// Whether every poll is timed (stall detector or histogram on).
    pub(crate) timed: bool,
    /// The poll-time histogram, if enabled.
    histogram: Option<Box<histogram::Buckets>>,
}

/// Adds one to a counter only its owner writes: a load and a store, no RMW.
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl WorkerSlot {
    fn new(watched: bool, histogram: Option<&HistogramConfiguration>) -> WorkerSlot {
        WorkerSlot {
            park_count: AtomicU64::new(0),
            unpark_count: AtomicU64::new(0),
            noop_count: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            poll_count: AtomicU64::new(0),
            steal_count: AtomicU64::new(0),
            steal_operations: AtomicU64::new(0),
            local_schedule_count: AtomicU64::new(0),
            mean_poll_ns: AtomicU64::new(0),
            thread: parking_lot::Mutex::new(None),
            max_poll_ns: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            poll_start: AtomicU64::new(0),
            task_id: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            reported: AtomicU64::new(0),
            watched,
            timed: watched || histogram.is_some(),
            histogram: histogram.map(|h| Box::new(histogram::Buckets::new(h.shape))),
        }
    }

    pub(crate) fn parked(&self) {
        bump(&self.park_count, 1);
    }

    pub(crate) fn unparked(&self) {
        bump(&self.unpark_count, 1);
    }

    pub(crate) fn noop(&self) {
        bump(&self.noop_count, 1);
    }

    /// A task was woken onto the current-thread runtime's own queue (its
    /// only worker), from its thread.
    pub(crate) fn scheduled_locally(&self) {
        bump(&self.local_schedule_count, 1);
    }

    pub(crate) fn stole(&self, n: u64) {
        bump(&self.steal_count, n);
        bump(&self.steal_operations, 1);
    }

    /// Publishes the mean poll time the injector interval follows.
    pub(crate) fn set_mean_poll(&self, ns: u64) {
        self.mean_poll_ns.store(ns, Ordering::Relaxed);
    }

    /// Records the calling thread as the one running this worker until the
    /// guard drops (unless another thread took the worker over meanwhile,
    /// as after `block_in_place`).
    pub(crate) fn running_on_this_thread(&self) -> ThreadGuard<'_> {
        let id = std::thread::current().id();
        *self.thread.lock() = Some(id);
        ThreadGuard { slot: self, id }
    }

    pub(crate) fn set_queue_depth(&self, n: usize) {
        self.queue_depth.store(n as u64, Ordering::Relaxed);
    }

    /// A poll of `task` begins at `now` (from [`now_ns`]).
    pub(crate) fn poll_start(&self, now: u64, id: Id, location: &'static Location<'static>) {
        if !self.watched {
            return;
        }
        self.task_id.store(id.as_u64(), Ordering::Relaxed);
        self.location.store(
            location as *const Location<'static> as *mut Location<'static>,
            Ordering::Relaxed,
        );
        // Release: a reader that sees this start sees the id above.
        self.poll_start.store(now, Ordering::Release);
    }

    /// The timed poll that began at `start` ended at `now`.
    pub(crate) fn poll_end(&self, start: u64, now: u64) {
        if self.watched {
            self.poll_start.store(0, Ordering::Release);
        }
        bump(&self.poll_count, 1);
        let took = now.saturating_sub(start);
        if took > self.max_poll_ns.load(Ordering::Relaxed) {
            self.max_poll_ns.store(took, Ordering::Relaxed);
        }
        if let Some(h) = &self.histogram {
            h.record(took);
        }
    }

    /// The poll in progress is handed to another thread (`block_in_place`):
    /// it no longer holds this worker.
    pub(crate) fn poll_abandoned(&self) {
        if self.watched {
            self.poll_start.store(0, Ordering::Release);
        }
    }

    /// A run of tasks between `start` and `now`.
    pub(crate) fn busy(&self, start: u64, now: u64) {
        bump(&self.busy_ns, now.saturating_sub(start));
    }
}

/// Clears [`WorkerSlot`]'s thread when the thread stops running it.
pub(crate) struct ThreadGuard<'a> {
    slot: &'a WorkerSlot,
    id: std::thread::ThreadId,
}

impl Drop for ThreadGuard<'_> {
    fn drop(&mut self) {
        let mut thread = self.slot.thread.lock();
        if *thread == Some(self.id) {
            *thread = None;
        }
    }
}

/// Runtime-wide counters and the workers' slots.
pub(crate) struct Counters {
    pub(crate) workers: Box<[WorkerSlot]>,
    /// On a line of its own: every spawn writes it, and every poll reads
    /// `workers` beside it (sharing the line made a spawner and the
    /// workers running its tasks bounce it between cores).
    spawned: Padded<AtomicU64>,
    /// Tasks scheduled through the injector from outside the workers, on
    /// a line of its own for the same reason.
    remote: Padded<AtomicU64>,
    stall: Option<Stall>,
}

/// A value alone on its cache line (128 bytes: two 64-byte lines, which
/// adjacent-line prefetchers fetch in pairs).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Counters {
    pub(crate) fn new(
        workers: usize,
        stall: Option<Stall>,
        histogram: Option<&HistogramConfiguration>,
    ) -> Arc<Counters> {
        Arc::new(Counters {
            workers: (0..workers)
                .map(|_| WorkerSlot::new(stall.is_some(), histogram))
                .collect(),
            spawned: Padded(AtomicU64::new(0)),
            remote: Padded(AtomicU64::new(0)),
            stall,
        })
    }

    pub(crate) fn spawned(&self) {
        self.spawned.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remote_scheduled(&self) {
        self.remote.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the stall watcher if a threshold is set; it stops when the
    /// returned guard is dropped (or the counters are).
    pub(crate) fn start_watcher(
        self: &Arc<Self>,
        names: impl Fn(Id) -> Option<String> + Send + 'static,
    ) -> Option<WatcherGuard> {
        let stall = self.stall.as_ref()?;
        let stop = Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new()));
        let period =
            (stall.threshold / 4).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let counters = Arc::downgrade(self);
        let stop2 = stop.clone();
        std::thread::Builder::new()
            .name("runtime-stall-watch".into())
            .spawn(move || loop {
                {
                    let mut stopped = stop2.0.lock();
                    if !*stopped {
                        stop2.1.wait_for(&mut stopped, period);
                    }
                    if *stopped {
                        return;
                    }
                }
                let Some(counters) = counters.upgrade() else {
                    return;
                };
                counters.check_stalls(&names);
            })
            .ok()?;
        Some(WatcherGuard(stop))
    }

    /// Reports every poll that has run past the threshold and was not
    /// reported yet.
    fn check_stalls(&self, names: &dyn Fn(Id) -> Option<String>) {
        let Some(stall) = &self.stall else { return };
        let threshold = stall.threshold.as_nanos() as u64;
        for (worker, slot) in self.workers.iter().enumerate() {
            let start = slot.poll_start.load(Ordering::Acquire);
            if start == 0 || slot.reported.load(Ordering::Relaxed) == start {
                continue;
            }
            let id = slot.task_id.load(Ordering::Relaxed);
            let location = slot.location.load(Ordering::Relaxed);
            // Seqlock-style: the id and location belong to `start` only if
            // the start did not change while they were read.
            fence(Ordering::Acquire);
            if slot.poll_start.load(Ordering::Relaxed) != start || location.is_null() {
                continue;
            }
            let elapsed = now_ns().saturating_sub(start);
            if elapsed <= threshold {
                continue;
            }
            slot.reported.store(start, Ordering::Relaxed);
            let Some(id) = Id::from_u64(id) else { continue };
            // SAFETY: `location` was stored from a `&'static Location`.
            let location: &'static Location<'static> = unsafe { &*location };
            let name = names(id);
            let info = StallInfo {
                worker,
                id,
                name,
                location,
                elapsed: Duration::from_nanos(elapsed),
            };
            (stall.callback)(&info);
        }
    }
}

/// Stops the stall watcher when dropped.
pub(crate) struct WatcherGuard(Arc<(parking_lot::Mutex<bool>, parking_lot::Condvar)>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        *self.0 .0.lock() = true;
        self.0 .1.notify_all();
    }
}

/// A stall report callback.
pub(crate) type StallCallback = Arc<dyn Fn(&StallInfo) + Send + Sync>;

/// The stall detector's settings.
#[derive(Clone)]
pub(crate) struct Stall {
    pub(crate) threshold: Duration,
    pub(crate) callback: StallCallback,
}

impl fmt::Debug for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stall")
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// The default stall report: one line on stderr.
pub(crate) fn print_stall(info: &StallInfo) {
    eprintln!("{info}");
}

/// One poll that has held a worker longer than
/// [`Builder::stall_threshold`](crate::Builder::stall_threshold), reported
/// while it is still running. Not in tokio.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let rt = runtime::Builder::new_multi_thread()
///     .worker_threads(1)
///     .stall_threshold(Duration::from_millis(20))
///     .on_stall(move |info| log.lock().unwrap().push(info.location().line()))
///     .build()
///     .unwrap();
/// let reported = seen.clone();
/// rt.block_on(async {
///     runtime::spawn(async move {
///         // Blocks its worker until the report came.
///         while reported.lock().unwrap().is_empty() {
///             std::thread::sleep(Duration::from_millis(5));
///         }
///     })
///     .await
///     .unwrap();
/// });
/// assert_eq!(seen.lock().unwrap().len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct StallInfo {
    worker: usize,
    id: Id,
    name: Option<String>,
    location: &'static Location<'static>,
    elapsed: Duration,
}

impl StallInfo {
    /// The index of the stalled worker (0 on a current-thread runtime).
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The id of the task whose poll is stalling.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name, if it was given one with
    /// [`task::Builder::name`](crate::task::Builder::name) (and was still
    /// alive when the report was made).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// How long the poll had run when it was reported.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl fmt::Display for StallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runtime: worker {} stalled for {:?} polling task {}",
            self.worker, self.elapsed, self.id
        )?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        let at = self.location;
        write!(f, " spawned at {}:{}:{}", at.file(), at.line(), at.column())
    }
}

/// A live view of a runtime's counters, from [`Handle::metrics`].
///
/// Every method reads the current value (nothing is a snapshot); the
/// counters only grow, wrapping at `u64::MAX`. Worker indices run from 0
/// to [`num_workers`](RuntimeMetrics::num_workers) `- 1`; a
/// current-thread runtime has one worker, the thread in `block_on`. In
/// tokio most of these need `tokio_unstable`; here they are always on
/// (the [module docs](self) say what each costs).
///
/// [`Handle::metrics`]: crate::Handle::metrics
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let metrics = rt.handle().metrics();
/// rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
/// assert_eq!(metrics.num_workers(), 2);
/// assert_eq!(metrics.spawned_tasks_count(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    handle: scheduler::Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: scheduler::Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    fn counters(&self) -> &Counters {
        match &self.handle.flavor {
            Flavor::CurrentThread(s) => s.counters(),
            Flavor::MultiThread(s) => s.counters(),
        }
    }

    fn slot(&self, worker: usize) -> &WorkerSlot {
        let workers = &self.counters().workers;
        workers.get(worker).unwrap_or_else(|| {
            panic!(
                "worker index {worker} out of range: the runtime has {} workers",
                workers.len()
            )
        })
    }

    /// The number of worker threads (1 for a current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.counters().workers.len()
    }

    /// Tasks spawned and not yet complete (blocking tasks excluded).
    pub fn num_alive_tasks(&self) -> usize {
        match &self.handle.flavor {
            Flavor::CurrentThread(s) => s.owned().len(),
            Flavor::MultiThread(s) => s.owned().len(),
        }
    }

    /// Tasks waiting in the runtime's global (injection) queue.
    pub fn global_queue_depth(&self) -> usize {
        match &self.handle.flavor {
            Flavor::CurrentThread(s) => s.injector_len(),
            Flavor::MultiThread(s) => s.injector_len(),
        }
    }

    /// Threads in the blocking pool, idle ones included.
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.blocking.num_threads().0
    }

    /// Threads in the blocking pool waiting for work.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.handle.blocking.num_threads().1
    }

    /// Blocking jobs ([`spawn_blocking`](crate::task::spawn_blocking),
    /// `fs`, name lookups) waiting for a thread of the pool: non-zero only
    /// while all `max_blocking_threads` are busy.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking.queue_depth()
    }

    /// Tasks scheduled from outside the runtime's workers so far: spawned
    /// or woken by another thread (the `block_on` thread of a multi-thread
    /// runtime among them) into the global queue.
    pub fn remote_schedule_count(&self) -> u64 {
        self.counters().remote.load(Ordering::Relaxed)
    }

    /// Times an operation found its task's budget spent (128 operations
    /// in one poll) and made it yield. Process-wide, like the budget
    /// (tokio counts per runtime).
    pub fn budget_forced_yield_count(&self) -> u64 {
        runtime_reactor::coop::forced_yield_count()
    }

    /// Tasks spawned on this runtime so far (blocking tasks excluded).
    pub fn spawned_tasks_count(&self) -> u64 {
        self.counters().spawned.load(Ordering::Relaxed)
    }

    /// Times `worker` parked (went to sleep with nothing to do).
    ///
    /// # Panics
    ///
    /// If `worker >= num_workers()`, as every `worker_*` method.
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.slot(worker).park_count.load(Ordering::Relaxed)
    }

    /// Times `worker` parked plus times it woke up: odd while it is
    /// parked, as in tokio.
    pub fn worker_park_unpark_count(&self, worker: usize) -> u64 {
        let slot = self.slot(worker);
        // Unparks first: a park counted after it can only make it odd.
        let unparks = slot.unpark_count.load(Ordering::Relaxed);
        slot.park_count.load(Ordering::Relaxed).max(unparks) + unparks
    }

    /// The thread running `worker` now: `None` before it starts, after it
    /// stops, and, on a current-thread runtime, while no thread is in
    /// [`block_on`](crate::Runtime::block_on). After
    /// [`block_in_place`](crate::task::block_in_place) it is the thread
    /// that took the worker over.
    pub fn worker_thread_id(&self, worker: usize) -> Option<std::thread::ThreadId> {
        *self.slot(worker).thread.lock()
    }

    /// Times `worker` woke from a park and parked again without running a
    /// task.
    pub fn worker_noop_count(&self, worker: usize) -> u64 {
        self.slot(worker).noop_count.load(Ordering::Relaxed)
    }

    /// Tasks `worker` stole from its peers (always 0 on a current-thread
    /// runtime).
    pub fn worker_steal_count(&self, worker: usize) -> u64 {
        self.slot(worker).steal_count.load(Ordering::Relaxed)
    }

    /// Steals by `worker` that took at least one task (each takes up to
    /// half the victim's queue; [`worker_steal_count`] counts the tasks).
    ///
    /// [`worker_steal_count`]: Self::worker_steal_count
    pub fn worker_steal_operations(&self, worker: usize) -> u64 {
        self.slot(worker).steal_operations.load(Ordering::Relaxed)
    }

    /// Tasks woken or spawned onto `worker`'s own run queue (its LIFO slot
    /// included) by code running on that worker, as opposed to those
    /// scheduled from outside the runtime
    /// ([`remote_schedule_count`](Self::remote_schedule_count)). Like the
    /// poll count, a busy worker adds its count every 32 polls and when it
    /// parks, so it may lag behind the wakes.
    pub fn worker_local_schedule_count(&self, worker: usize) -> u64 {
        self.slot(worker)
            .local_schedule_count
            .load(Ordering::Relaxed)
    }

    /// Times `worker`'s local queue was full when it pushed a task, so
    /// that half of it went to the global queue (always 0 on a
    /// current-thread runtime, whose queue grows).
    pub fn worker_overflow_count(&self, worker: usize) -> u64 {
        match &self.handle.flavor {
            Flavor::CurrentThread(_) => {
                let _ = self.slot(worker);
                0
            }
            Flavor::MultiThread(s) => {
                let _ = self.slot(worker);
                s.overflow_count(worker)
            }
        }
    }

    /// The moving average of one poll's duration on `worker`, as the
    /// worker measures it to pace its looks at the global queue (over
    /// batches of polls, each batch weighing an eighth; no clock is read
    /// per poll). Zero until a batch was measured, and always zero with a
    /// fixed [`Builder::global_queue_interval`](crate::Builder::global_queue_interval).
    pub fn worker_mean_poll_time(&self, worker: usize) -> Duration {
        Duration::from_nanos(self.slot(worker).mean_poll_ns.load(Ordering::Relaxed))
    }

    /// Task polls `worker` has completed. Unless polls are timed, the
    /// worker adds its polls every 32 polls and when it parks (as tokio
    /// batches its worker metrics), so a busy worker's count may lag by up
    /// to 31.
    pub fn worker_poll_count(&self, worker: usize) -> u64 {
        self.slot(worker).poll_count.load(Ordering::Relaxed)
    }

    /// Time `worker` has spent running tasks (and driving the reactor
    /// between them), from each unpark that found work to the next park,
    /// counted at the park.
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        Duration::from_nanos(self.slot(worker).busy_ns.load(Ordering::Relaxed))
    }

    /// The longest single poll `worker` has completed. Not in tokio.
    ///
    /// Kept only while polls are timed, that is with the poll-time
    /// histogram ([`Builder::enable_metrics_poll_time_histogram`]) or the
    /// stall detector ([`Builder::stall_threshold`]) on; otherwise always
    /// zero, since timing every poll costs a clock read per poll (see the
    /// [module docs](crate::metrics#what-the-counters-cost)).
    ///
    /// [`Builder::enable_metrics_poll_time_histogram`]: crate::Builder::enable_metrics_poll_time_histogram
    /// [`Builder::stall_threshold`]: crate::Builder::stall_threshold
    pub fn worker_max_poll_duration(&self, worker: usize) -> Duration {
        Duration::from_nanos(self.slot(worker).max_poll_ns.load(Ordering::Relaxed))
    }

    /// Tasks in `worker`'s local queue. On a current-thread runtime, as of
    /// the end of its last batch of polls (the queue is thread-local).
    pub fn worker_local_queue_depth(&self, worker: usize) -> usize {
        match &self.handle.flavor {
            Flavor::CurrentThread(_) => {
                self.slot(worker).queue_depth.load(Ordering::Relaxed) as usize
            }
            Flavor::MultiThread(s) => {
                let _ = self.slot(worker);
                s.local_queue_depth(worker)
            }
        }
    }

    /// Whether the poll-time histogram is on
    /// ([`Builder::enable_metrics_poll_time_histogram`]; off by default,
    /// as in tokio).
    ///
    /// [`Builder::enable_metrics_poll_time_histogram`]: crate::Builder::enable_metrics_poll_time_histogram
    pub fn poll_time_histogram_enabled(&self) -> bool {
        self.histogram_shape().is_some()
    }

    fn histogram_shape(&self) -> Option<&histogram::Shape> {
        self.counters().workers[0]
            .histogram
            .as_deref()
            .map(histogram::Buckets::shape)
    }

    /// The number of buckets of the poll-time histogram (0 when it is off).
    pub fn poll_time_histogram_num_buckets(&self) -> usize {
        self.histogram_shape()
            .map_or(0, histogram::Shape::num_buckets)
    }

    /// The poll durations that `bucket` of the poll-time histogram holds:
    /// from `start` (included) to `end` (excluded). The last bucket ends at
    /// `u64::MAX` nanoseconds. When the histogram is off, `0..0`, as in
    /// tokio.
    ///
    /// # Panics
    ///
    /// If the histogram is on and `bucket >= poll_time_histogram_num_buckets()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new_current_thread()
    ///     .enable_metrics_poll_time_histogram()
    ///     .build()
    ///     .unwrap();
    /// let m = rt.handle().metrics();
    /// // tokio's default layout: 10 buckets of 100 µs.
    /// assert_eq!(m.poll_time_histogram_num_buckets(), 10);
    /// assert_eq!(
    ///     m.poll_time_histogram_bucket_range(0),
    ///     Duration::ZERO..Duration::from_micros(100)
    /// );
    /// ```
    #[track_caller]
    pub fn poll_time_histogram_bucket_range(&self, bucket: usize) -> Range<Duration> {
        match self.histogram_shape() {
            None => Duration::ZERO..Duration::ZERO,
            Some(shape) => {
                let r = shape.range(bucket);
                Duration::from_nanos(r.start)..Duration::from_nanos(r.end)
            }
        }
    }

    /// How many of `worker`'s polls took a time in `bucket`'s range
    /// ([`poll_time_histogram_bucket_range`](Self::poll_time_histogram_bucket_range));
    /// 0 when the histogram is off. Summed over the buckets, this is
    /// [`worker_poll_count`](Self::worker_poll_count).
    ///
    /// # Panics
    ///
    /// If `worker >= num_workers()`, or the histogram is on and `bucket`
    /// is out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread()
    ///     .enable_metrics_poll_time_histogram()
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    /// let m = rt.handle().metrics();
    /// let polls: u64 = (0..m.poll_time_histogram_num_buckets())
    ///     .map(|b| m.poll_time_histogram_bucket_count(0, b))
    ///     .sum();
    /// assert_eq!(polls, m.worker_poll_count(0));
    /// ```
    #[track_caller]
    pub fn poll_time_histogram_bucket_count(&self, worker: usize, bucket: usize) -> u64 {
        self.slot(worker)
            .histogram
            .as_ref()
            .map_or(0, |h| h.count(bucket))
    }

    /// I/O readiness events the reactor has delivered to registered
    /// sockets (and other sources), counted at the end of each turn.
    ///
    /// **Process-wide**: one reactor serves every runtime of the process,
    /// so this counts the events of all of them (and of sockets polled
    /// outside any runtime); tokio counts its runtime's I/O driver only.
    /// Wake-ups of the reactor itself are not counted.
    pub fn io_driver_ready_count(&self) -> u64 {
        reactor().map_or(0, runtime_reactor::Reactor::ready_count)
    }

    /// File descriptors registered with the process's reactor so far (every
    /// socket, pipe, `AsyncFd`, pidfd of any runtime). Process-wide, like
    /// [`io_driver_ready_count`](Self::io_driver_ready_count).
    pub fn io_driver_fd_registered_count(&self) -> u64 {
        reactor().map_or(0, runtime_reactor::Reactor::registered_count)
    }

    /// Registrations with the process's reactor removed so far (each
    /// registered fd dropped); registered less deregistered is the number
    /// live. Process-wide.
    pub fn io_driver_fd_deregistered_count(&self) -> u64 {
        reactor().map_or(0, runtime_reactor::Reactor::deregistered_count)
    }

    /// Turns of the process's reactor so far: each wait for events,
    /// blocking or not, by any thread (the reactor thread, an idle worker
    /// of any runtime, a `block_on` thread). Process-wide, as
    /// [`io_driver_ready_count`](Self::io_driver_ready_count), which
    /// divided by this is the mean number of events per turn. Not in
    /// tokio.
    pub fn reactor_turn_count(&self) -> u64 {
        reactor().map_or(0, runtime_reactor::Reactor::turn_count)
    }

    /// The most readiness events one turn of the process's reactor has
    /// delivered (a turn fetches at most 1024). Process-wide. Not in tokio.
    pub fn reactor_max_ready_per_turn(&self) -> u64 {
        reactor().map_or(0, runtime_reactor::Reactor::max_ready_per_turn)
    }

    /// Timers registered and not yet fired or dropped: every pending
    /// [`sleep`](crate::time::sleep) (and so `timeout` and `interval`)
    /// that has been polled at least once.
    ///
    /// The timers of the process's reactor are shared by every runtime and
    /// counted for the **whole process**; to them this adds the timers of
    /// this runtime's paused clock ([`time::pause`](crate::time::pause)),
    /// which only this runtime has. Reading takes the timer wheel's lock
    /// for a moment. Not in tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new_current_thread()
    ///     .start_paused(true)
    ///     .build()
    ///     .unwrap();
    /// let m = rt.handle().metrics();
    /// rt.block_on(async move {
    ///     let before = m.timers_pending();
    ///     let task = runtime::spawn(runtime::time::sleep(Duration::from_secs(60)));
    ///     // Registered by the task's first poll (and not fired: the paused
    ///     // clock moves only when the runtime is idle).
    ///     while m.timers_pending() == before {
    ///         runtime::task::yield_now().await;
    ///     }
    ///     assert_eq!(m.timers_pending(), before + 1);
    ///     task.abort();
    ///     let _ = task.await;
    ///     assert_eq!(m.timers_pending(), before);
    /// });
    /// ```
    pub fn timers_pending(&self) -> usize {
        let wheel = reactor().map_or(0, runtime_reactor::Reactor::timer_count);
        let paused = match &self.handle.flavor {
            Flavor::CurrentThread(s) => s.clock().timer_count(),
            Flavor::MultiThread(_) => 0,
        };
        wheel + paused
    }
}

/// The process's reactor; it exists once a runtime was built.
fn reactor() -> Option<&'static runtime_reactor::Reactor> {
    runtime_reactor::Reactor::get().ok()
}

/// What a listed task is doing, from its state word (read once, so a task
/// may have moved on by the time the listing is shown).
///
/// # Examples
///
/// ```
/// use runtime::metrics::TaskState;
///
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let task = rt.spawn(async {});
/// // Spawned, not polled yet: waiting in the run queue.
/// assert_eq!(rt.handle().dump().tasks()[0].state(), TaskState::Scheduled);
/// rt.block_on(task).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken and waiting in a run queue.
    Scheduled,
    /// Being polled on some thread.
    Running,
    /// Finished (or cancelled), its output not yet taken by its
    /// `JoinHandle`.
    Complete,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
        })
    }
}

/// One task of a [`Dump`]; `Display` writes it as one line.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let task = rt.spawn(async {});
/// let dump = rt.handle().dump();
/// let listed = &dump.tasks()[0];
/// assert_eq!(listed.id(), task.id());
/// assert_eq!(listed.polls(), 0);
/// assert!(listed.to_string().starts_with(&format!("task {}", task.id())));
/// rt.block_on(task).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct TaskDump {
    id: Id,
    name: Option<String>,
    location: &'static Location<'static>,
    state: TaskState,
    polls: u64,
    since_last_poll: Option<Duration>,
}

impl TaskDump {
    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name, if given with [`task::Builder::name`](crate::task::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// What it was doing when listed.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Polls begun so far (counted modulo 2^32).
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Time since its last poll began; `None` if it was never polled.
    ///
    /// Unless polls are timed (the poll-time histogram or a stall
    /// threshold on), a poll's start is the clock reading taken at the
    /// start of the group of up to 32 polls its worker ran it in, read
    /// from the kernel's coarse clock (on Linux, as of its last timer
    /// tick), so this may exceed the exact figure by that group's length
    /// plus one tick, a few milliseconds (see the
    /// [module docs](crate::metrics#what-the-counters-cost)).
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.location;
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(
            f,
            " at {}:{}:{} {} polls={}",
            at.file(),
            at.line(),
            at.column(),
            self.state,
            self.polls
        )?;
        match self.since_last_poll {
            Some(d) => write!(f, " last_poll={d:?} ago"),
            None => write!(f, " last_poll=never"),
        }
    }
}

/// The live tasks of a runtime, from [`Handle::dump`]; `Display` writes one
/// line per task, ordered by id.
///
/// [`Handle::dump`]: crate::Handle::dump
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let task = runtime::task::Builder::new()
///     .name("worker")
///     .spawn_on(async {}, rt.handle())
///     .unwrap();
/// let dump = rt.handle().dump();
/// assert_eq!(dump.tasks()[0].name(), Some("worker"));
/// assert!(dump.to_string().contains("\"worker\""));
/// rt.block_on(task).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    tasks: Vec<TaskDump>,
}

impl Dump {
    pub(crate) fn capture(handle: &scheduler::Handle) -> Dump {
        let owned = match &handle.flavor {
            Flavor::CurrentThread(s) => s.owned(),
            Flavor::MultiThread(s) => s.owned(),
        };
        let now = now_ns();
        let mut tasks = Vec::new();
        owned.for_each(|task| {
            let raw = task.raw();
            let header = raw.header();
            let snap = header.state.load();
            use crate::task::state::{COMPLETE, NOTIFIED, RUNNING};
            let state = if snap.has(COMPLETE) {
                TaskState::Complete
            } else if snap.has(RUNNING) {
                TaskState::Running
            } else if snap.has(NOTIFIED) {
                TaskState::Scheduled
            } else {
                TaskState::Idle
            };
            let last = header.last_poll.load(Ordering::Relaxed);
            tasks.push(TaskDump {
                id: header.id,
                name: header.meta.name().map(String::from),
                location: header.meta.location(),
                state,
                polls: u64::from(header.polls.load(Ordering::Relaxed)),
                since_last_poll: (last != 0)
                    .then(|| Duration::from_nanos(now.saturating_sub(last))),
            });
        });
        tasks.sort_by_key(|t| t.id);
        Dump { tasks }
    }

    /// The tasks, ordered by id.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tasks {
            writeln!(f, "{t}")?;
        }
        Ok(())
    }
}
