//! The task allocation: header, scheduler, future/output and join waker in
//! one `Box`, driven through a per-type vtable.
//!
//! # Safety vocabulary
//!
//! The `# Safety` sections below use these terms.
//!
//! - A *task pointer* is the `NonNull<Header>` of a `Box<Cell<F, S>>` made
//!   by [`RawTask::new`] (the header is the cell's first field, see the
//!   assertion at the end of this file). A `Waker`'s data pointer is the
//!   same pointer, cast.
//! - A *reference* is one unit of the reference count in the state word
//!   (`state.rs`): one per `Task`, `Notified`, `Waker` and `JoinHandle`, and
//!   one held by the owned-task list. While the caller holds a reference,
//!   the allocation is live. A function that *consumes* a reference has
//!   dropped it (or passed it on) by the time it returns, and the caller
//!   must not use that reference again.
//! - The vtable functions are monomorphised for one `(F, S)`: each may only
//!   be called with a task pointer of a `Cell<F, S>` of exactly those types,
//!   which is what reaching it through the task's own `Header::vtable`
//!   guarantees.
//! - Any thread may call them: `RawTask::new` requires `F` and `F::Output`
//!   to be `Send`, and `S: Schedule` is `Send + Sync`. Who may touch the
//!   stage and the join waker is decided by the state bits (`RUNNING`,
//!   `COMPLETE`, `JOIN_INTEREST`, `JOIN_WAKER`), never by the thread.
//! - The exception is a *local task* ([`RawTask::new_local`], for
//!   `LocalSet`): its future need not be `Send`, and the functions that
//!   touch the future (`run`, `shutdown`) are called only on the thread
//!   that owns its `LocalSet`; the rest (waking, scheduling, `JoinHandle`,
//!   `dealloc`) is thread-free as above. The invariant that makes this
//!   sound is written down in `local.rs` (# Thread affinity).

use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::id::CurrentIdGuard;
use super::meta::Meta;
use super::state::{State, ToIdle, ToNotified, ToRunning, JOIN_INTEREST, JOIN_WAKER};
use super::{Id, JoinError, Notified, Schedule, Task};
use crate::shim::{AtomicU32, AtomicU64, Ordering, UnsafeCell};

/// The type-erased part of every task, first in the allocation so that a
/// `NonNull<Header>` is also a pointer to the whole `Cell`.
///
/// # Size
///
/// 56 bytes (without the `tracing` feature), checked below. Sixteen more
/// made `spawn_many` twice as slow: the cell of a small task (header,
/// scheduler handle, stage, join waker) then outgrows 128 bytes, glibc's
/// largest fast bin, and every free on a worker of a cell allocated by the
/// spawning thread takes the arena lock, which the spawner holds to
/// allocate (`futex` calls and context switches tripled). Hence the
/// 32-bit slot index and poll count, and the thin name pointer in `Meta`.
pub(crate) struct Header {
    /// Lifecycle bits and reference count (see `state.rs`).
    pub(crate) state: State,
    /// The functions that know the concrete future and scheduler types.
    vtable: &'static Vtable,
    /// The task's id, unique in the process; reported in `JoinError`s.
    pub(crate) id: Id,
    /// The task's slot in its scheduler's owned-task list (set once, when
    /// the task is bound, before it is shared).
    pub(crate) owned_index: AtomicU32,
    /// Polls so far (wrapping at 2^32): written only by the holder of
    /// `RUNNING`, one `Relaxed` store per poll; read by `Handle::dump`.
    pub(crate) polls: AtomicU32,
    /// Spawn location and name (`meta.rs`): written before the task is
    /// shared, read-only afterwards.
    pub(crate) meta: Meta,
    /// When the last poll began (`metrics::now_ns`, 0: never): written
    /// only by the holder of `RUNNING`, one `Relaxed` store per poll; read
    /// by `Handle::dump`.
    pub(crate) last_poll: AtomicU64,
    /// The id of the task's `tracing` span (`trace.rs`), `None` when no
    /// subscriber took it: written before the task is shared, read-only
    /// afterwards, so wakers on any thread may name the span in events.
    #[cfg(feature = "tracing")]
    pub(crate) span_id: Option<tracing::Id>,
}

// The size the note on `Header` is about (loom's atomics are larger).
#[cfg(all(
    not(feature = "tracing"),
    not(runtime_loom),
    target_pointer_width = "64"
))]
const _: () = assert!(std::mem::size_of::<Header>() == 56);

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("id", &self.id)
            .field("meta", &self.meta)
            .field("state", &self.state.load())
            .finish()
    }
}

struct Vtable {
    /// Runs the task for one `Notified` (consuming its reference).
    run: unsafe fn(NonNull<Header>, u64),
    /// Hands a `Notified` (whose reference is already counted) to the
    /// task's scheduler.
    schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation; the reference count is zero.
    dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: writes `Poll<Result<T, JoinError>>` to `dst`.
    try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// `JoinHandle::drop`.
    drop_join_handle: unsafe fn(NonNull<Header>),
    /// Runtime shutdown: cancel if idle.
    shutdown: unsafe fn(NonNull<Header>),
    /// `JoinHandle::register_waker`: stores the join waker without reading
    /// the output; `true` if the task is complete already.
    register_join_waker: unsafe fn(NonNull<Header>, &Waker) -> bool,
}

/// Where the task is in its life. Only the holder of `RUNNING` touches it
/// before `COMPLETE`; after, only the `JoinHandle` (while `JOIN_INTEREST`).
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    /// The scheduler the task belongs to (an `Arc` of its shared state).
    scheduler: S,
    /// The future, then its output.
    stage: UnsafeCell<Stage<F>>,
    /// The `JoinHandle`'s waker. Written by the handle only while
    /// `JOIN_WAKER` is clear; read by the task only if it saw `JOIN_WAKER`
    /// when completing. Dropped with the cell (or by the handle when it is
    /// dropped early).
    join_waker: UnsafeCell<Option<Waker>>,
    /// The task's `tracing` span (`trace.rs`). Under the stage's rule: only
    /// the holder of `RUNNING` touches it, entering it for each poll and
    /// replacing it with `Span::none()` (closing it) on completion;
    /// afterwards only `dealloc` drops what is left.
    #[cfg(feature = "tracing")]
    span: UnsafeCell<tracing::Span>,
}

/// A copyable pointer to a task; owns nothing by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: the header is only accessed through atomics, and the cell's other
// fields only under the rules of the state word; futures and outputs are
// required to be `Send` by `RawTask::new`, and `RawTask::new_local`'s
// contract keeps a local task's future on its thread.
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// The task pointer, for storing in an atomic.
    pub(crate) fn as_ptr(self) -> *mut () {
        self.ptr.as_ptr().cast()
    }

    /// Takes back a pointer made by [`as_ptr`](RawTask::as_ptr).
    ///
    /// # Safety
    ///
    /// `ptr` came from `as_ptr` of a task whose allocation is still live, and
    /// the caller holds (or is about to take over) one of its references
    /// for as long as it uses the `RawTask`. Nothing is consumed.
    pub(crate) unsafe fn from_ptr(ptr: *mut ()) -> RawTask {
        // SAFETY: the caller's contract: `ptr` came from `as_ptr`, that is
        // from a `NonNull<Header>`, so it is not null.
        let ptr = unsafe { NonNull::new_unchecked(ptr.cast()) };
        RawTask { ptr }
    }

    /// Allocates a task (three references: owned list, `JoinHandle`, first
    /// `Notified`) with a fresh id and the given `meta`.
    pub(crate) fn new<F, S>(future: F, scheduler: S, meta: Meta) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        Self::allocate(future, scheduler, meta)
    }

    /// Allocates a task whose future (and output) need not be `Send`, for
    /// a `LocalSet`; references as in [`new`](RawTask::new).
    ///
    /// # Safety
    ///
    /// The caller upholds the thread-affinity invariant of `local.rs`: the
    /// task's `run` and `shutdown` are called only on the thread calling
    /// `new_local`; `scheduler` queues every `Notified` for that thread and
    /// runs none elsewhere; and the task is completed or shut down on that
    /// thread before its scheduler's reference is given up, so whoever
    /// frees the cell (any thread) finds the future gone.
    pub(crate) unsafe fn new_local<F, S>(future: F, scheduler: S, meta: Meta) -> RawTask
    where
        F: Future + 'static,
        F::Output: 'static,
        S: Schedule,
    {
        #[cfg(feature = "tracing")]
        let meta = meta.with_kind(super::trace::Kind::Local);
        Self::allocate(future, scheduler, meta)
    }

    /// The allocation shared by [`new`](RawTask::new) and
    /// [`new_local`](RawTask::new_local), which state the `Send` rules.
    fn allocate<F, S>(future: F, scheduler: S, meta: Meta) -> RawTask
    where
        F: Future + 'static,
        F::Output: 'static,
        S: Schedule,
    {
        let id = Id::next();
        #[cfg(feature = "tracing")]
        let span = super::trace::spawn_span(&meta, meta.kind(), id, std::mem::size_of::<F>());
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F, S>(),
                id,
                owned_index: AtomicU32::new(u32::MAX),
                meta,
                polls: AtomicU32::new(0),
                last_poll: AtomicU64::new(0),
                #[cfg(feature = "tracing")]
                span_id: span.id(),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
            #[cfg(feature = "tracing")]
            span: UnsafeCell::new(span),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only used while some reference keeps the
        // allocation alive (the caller holds a `Task`, `Notified`, `Waker` or
        // `JoinHandle`).
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// The task's spawn location and name.
    pub(crate) fn meta(&self) -> &Meta {
        &self.header().meta
    }

    /// Counts one more reference (for a new `AbortHandle`), which the
    /// caller must give up later with [`drop_reference`](RawTask::drop_reference).
    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Runs the task: polls it, cancels it, or drops a stale notification.
    /// A poll records `stamp` (a `metrics::now_ns` reading) as its start.
    ///
    /// # Safety
    ///
    /// The caller holds the reference of a `Notified` for this task and
    /// gives it up: `run` consumes it (see the module's Safety vocabulary).
    /// Any thread, in any state: the state word decides what happens.
    pub(crate) unsafe fn run(self, stamp: u64) {
        // SAFETY: the header's vtable was built for this cell's types
        // (`RawTask::new`); the caller hands over a `Notified`'s reference,
        // which the vtable's `run` requires and consumes.
        unsafe { (self.header().vtable.run)(self.ptr, stamp) }
    }

    /// Hands a new `Notified` for this task to its scheduler.
    ///
    /// # Safety
    ///
    /// The caller holds one reference that was counted for the new
    /// `Notified` (a state transition that set `NOTIFIED` and took a
    /// reference, or a `Waker`'s own) and gives it up: the `Notified` owns
    /// it. Any thread.
    pub(crate) unsafe fn schedule(self) {
        // SAFETY: the header's vtable was built for this cell's types; the
        // caller's reference becomes the `Notified`'s, as `schedule`
        // requires.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// `JoinHandle::poll`: writes `Poll::Ready(output)` to `dst` if the task
    /// is complete, else stores `waker` as the join waker.
    ///
    /// # Safety
    ///
    /// The caller is the task's `JoinHandle` (it holds the handle's
    /// reference and `JOIN_INTEREST`, which it keeps), on whichever thread
    /// polls it, and `dst` points to a valid, writable
    /// `Poll<Result<T, JoinError>>` where `T` is the task's output type.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: the header's vtable was built for this cell's types; the
        // caller is the `JoinHandle` and `dst` has the type of this task's
        // output, as the vtable's `try_read_output` requires.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// `JoinHandle::drop`: gives up join interest and the handle's
    /// reference.
    ///
    /// # Safety
    ///
    /// Called exactly once per task, by its `JoinHandle`'s drop, which holds
    /// the handle's reference and `JOIN_INTEREST`; both are consumed. Any
    /// thread.
    pub(crate) unsafe fn drop_join_handle(self) {
        // SAFETY: the header's vtable was built for this cell's types; the
        // caller is the dropping `JoinHandle`, once.
        unsafe { (self.header().vtable.drop_join_handle)(self.ptr) }
    }

    /// Makes `waker` the join waker without reading the output; returns
    /// whether the task is complete already (then `waker` will not be woken
    /// for it: the caller reads the output, or wakes `waker` itself).
    ///
    /// # Safety
    ///
    /// As for [`try_read_output`](RawTask::try_read_output): the caller is
    /// the task's `JoinHandle` (holding its reference and `JOIN_INTEREST`,
    /// which it keeps).
    pub(crate) unsafe fn register_join_waker(self, waker: &Waker) -> bool {
        // SAFETY: the header's vtable was built for this cell's types; the
        // caller is the `JoinHandle`, as the vtable's function requires.
        unsafe { (self.header().vtable.register_join_waker)(self.ptr, waker) }
    }

    /// Cancels the task if it is idle (runtime shutdown). The caller keeps
    /// its own reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: the header's vtable was built for this cell's types; this
        // safe method is reached only through a `Task` (or `Notified`) the
        // caller holds, whose reference keeps the cell alive and which
        // `shutdown` does not consume.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// `abort()` from any thread.
    pub(crate) fn remote_abort(self) {
        if self.header().state.transition_to_notified_and_cancel() {
            // SAFETY: the transition took a reference for the `Notified`.
            unsafe { self.schedule() }
        }
    }

    /// Drops one reference, freeing the task if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec_n(1) {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    &Vtable {
        run: run::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
        register_join_waker: register_join_waker::<F, S>,
    }
}

/// The whole cell behind a task pointer.
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>` of exactly these types, and the
/// caller holds a reference to it for all of `'a` (the cell must not be
/// freed while the returned borrow is used).
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the header is the first field of a `repr(C)` cell, and the
    // vtable that led here was built for exactly these types.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// The vtable's `schedule`: wraps the caller's reference in a `Notified`
/// and hands it to the task's scheduler.
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>`, and the caller gives up one
/// reference that was counted for the new `Notified` (see
/// [`RawTask::schedule`]). Any thread.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>` with a
    // reference held, which the `Notified` below now owns.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler
        .schedule(Notified(Task::from_raw(RawTask { ptr })));
}

/// The vtable's `dealloc`: frees the cell, dropping whatever it still holds
/// (the scheduler handle, a leftover stage, the join waker).
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>` whose reference count has just
/// dropped to zero, by the caller's own decrement: nobody else can reach the
/// cell, and the caller does not use `ptr` afterwards. Any thread.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the reference count is zero; nobody else can reach the cell.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

/// The vtable's `run`: one poll of the task, or its cancellation, or
/// nothing for a stale notification.
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>`, and the caller gives up the
/// reference of the `Notified` being run: it is dropped, or handed on (to
/// the scheduler when the task was woken while it ran), before `run`
/// returns. Any thread; `transition_to_running` makes this call the only
/// one touching the future.
unsafe fn run<F, S>(ptr: NonNull<Header>, stamp: u64)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>`, kept
    // alive by the reference of the `Notified` being run.
    let cell = unsafe { cell::<F, S>(ptr) };
    let raw = RawTask { ptr };
    match cell.header.state.transition_to_running() {
        ToRunning::Success => {}
        ToRunning::Cancelled => {
            if cancel_and_complete(cell, raw) {
                // SAFETY: those were the last references, and `cell` is not
                // used again.
                unsafe { dealloc::<F, S>(ptr) }
            }
            return;
        }
        ToRunning::Failed => return raw.drop_reference(),
    }
    // Holding RUNNING, this thread alone writes these.
    let header = &cell.header;
    header.polls.store(
        header.polls.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
    header.last_poll.store(stamp, Ordering::Relaxed);
    let waker = ManuallyDrop::new(
        // SAFETY: the waker borrows the reference the poll holds; it is
        // never dropped (ManuallyDrop), only cloned, so counts stay exact.
        unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), waker_vtable::<F, S>())) },
    );
    let mut cx = Context::from_waker(&waker);
    // `task::id()` inside the poll (and inside the future's `Drop` if the
    // poll unwinds) names this task.
    let id_guard = CurrentIdGuard::enter(cell.header.id);
    let res = in_span(cell, || {
        catch_unwind(AssertUnwindSafe(|| {
            cell.stage.with_mut(|stage| {
                // If `poll` panics, the future is dropped by this guard while the
                // panic unwinds, so its `Drop` sees `thread::panicking()`.
                let unwinding = DropOnUnwind(stage);
                // SAFETY: we hold RUNNING, so we alone touch the stage; the
                // future never moves (it lives in the heap cell until dropped in
                // place).
                let res = match unsafe { &mut *stage } {
                    Stage::Running(fut) => {
                        // SAFETY: pinned in the cell, see above.
                        let fut = unsafe { Pin::new_unchecked(fut) };
                        runtime_reactor::coop::budget(|| fut.poll(&mut cx))
                    }
                    _ => unreachable!("a task is polled only while its future is present"),
                };
                std::mem::forget(unwinding);
                res
            })
        }))
    });
    drop(id_guard);
    let last = match res {
        Ok(Poll::Pending) => match cell.header.state.transition_to_idle() {
            ToIdle::Ok => {
                raw.drop_reference();
                false
            }
            ToIdle::OkNotified => {
                cell.scheduler.yield_now(Notified(Task::from_raw(raw)));
                false
            }
            ToIdle::Cancelled => cancel_and_complete(cell, raw),
        },
        Ok(Poll::Ready(out)) => {
            // Dropping the finished future may panic; the result says so.
            let result = match consume_stage(cell) {
                None => Ok(out),
                Some(payload) => {
                    drop(out);
                    cell.scheduler.unhandled_panic();
                    Err(JoinError::panic(cell.header.id, payload))
                }
            };
            complete(cell, raw, result)
        }
        Err(payload) => {
            // The future was dropped while the panic unwound (see
            // `DropOnUnwind`); the stage is `Consumed` already.
            cell.scheduler.unhandled_panic();
            complete(cell, raw, Err(JoinError::panic(cell.header.id, payload)))
        }
    };
    if last {
        // SAFETY: `complete` dropped the last references, and `cell` is not
        // used again.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Runs `f` (the poll) inside the task's `tracing` span: entered before,
/// exited after, also when `f` unwinds. Called only by the holder of
/// `RUNNING`, which keeps it until `f` has returned.
#[cfg(feature = "tracing")]
fn in_span<F: Future, S, R>(cell: &Cell<F, S>, f: impl FnOnce() -> R) -> R {
    cell.span.with(|span| {
        // SAFETY: the caller holds RUNNING, under which it alone touches the
        // span (the rule on `Cell::span`); the shared borrow ends with this
        // closure, before the caller gives RUNNING up.
        let _entered = unsafe { &*span }.enter();
        f()
    })
}

/// Without the `tracing` feature there is no span: runs `f`.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
fn in_span<F: Future, S, R>(_cell: &Cell<F, S>, f: impl FnOnce() -> R) -> R {
    f()
}

/// Drops the future in place if `poll` unwinds, while the panic is still in
/// flight (as tokio does): rollback and poisoning guards held by the future
/// see `std::thread::panicking()` and act on it. Forgotten when `poll`
/// returns.
///
/// A panic in the future's `Drop` here would be a second panic escaping a
/// destructor during unwinding, which aborts the process; it is caught
/// inside this guard instead and discarded, so the task's `JoinError` keeps
/// the payload of the panic in `poll` (the one the user wants to see).
struct DropOnUnwind<F: Future>(*mut Stage<F>);

impl<F: Future> Drop for DropOnUnwind<F> {
    fn drop(&mut self) {
        let stage = self.0;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the guard lives inside the `with_mut` access of the
            // poll, whose caller holds RUNNING (so the stage is ours); the
            // `Pin<&mut F>` handed to `poll` died with its frame as the
            // panic left it, so nothing else points into the stage now.
            unsafe { *stage = Stage::Consumed }
        }));
    }
}

/// Replaces the stage with `Consumed`, dropping the future or the output in
/// place; returns the payload if that `Drop` panicked.
///
/// Called only by whoever owns the stage: the holder of `RUNNING` before
/// completion; after it, the task if nobody has join interest, else the
/// `JoinHandle`.
fn consume_stage<F: Future, S>(cell: &Cell<F, S>) -> Option<Box<dyn Any + Send>> {
    // The future's or output's `Drop` may ask for `task::id()`.
    let _id = CurrentIdGuard::enter(cell.header.id);
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller owns the stage, by the rule in this function's
        // doc (RUNNING held, or COMPLETE with the interest it decides).
        cell.stage
            .with_mut(|stage| unsafe { *stage = Stage::Consumed })
    }))
    .err()
}

/// Drops the future and completes with a cancellation (or the panic of the
/// future's `Drop`); returns what [`complete`] returns.
#[must_use = "the caller frees the cell if this returns `true`"]
fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>, raw: RawTask) -> bool {
    let err = match consume_stage(cell) {
        None => JoinError::cancelled(cell.header.id),
        Some(payload) => JoinError::panic(cell.header.id, payload),
    };
    complete(cell, raw, Err(err))
}

/// Stores the result, publishes `COMPLETE`, notifies the `JoinHandle`,
/// leaves the owned-task list and drops the running reference.
///
/// Returns `true` if those were the last references: the caller must then
/// free the cell with `dealloc`, after this call (never inside it: `cell`
/// is a borrow of the allocation that must outlive the call).
#[must_use = "the caller frees the cell if this returns `true`"]
fn complete<F: Future, S: Schedule>(
    cell: &Cell<F, S>,
    raw: RawTask,
    result: Result<F::Output, JoinError>,
) -> bool {
    // SAFETY: RUNNING is ours until `transition_to_complete`.
    cell.stage
        .with_mut(|stage| unsafe { *stage = Stage::Finished(result) });
    // The span closes when the task ends, not when its last reference goes
    // (a `JoinHandle` may keep the cell for long).
    #[cfg(feature = "tracing")]
    // SAFETY: RUNNING is ours until `transition_to_complete` (the rule on
    // `Cell::span`), and no poll's borrow of the span is left: `in_span`
    // has returned.
    let span = cell
        .span
        .with_mut(|span| unsafe { std::mem::replace(&mut *span, tracing::Span::none()) });
    #[cfg(feature = "tracing")]
    drop(span);
    let prev = cell.header.state.transition_to_complete();
    if !prev.has(JOIN_INTEREST) {
        // Nobody will read the output: drop it here.
        let _ = consume_stage(cell);
    } else if prev.has(JOIN_WAKER) {
        cell.join_waker.with(|w| {
            // SAFETY: JOIN_WAKER was set when we completed, so the handle no
            // longer writes the waker; shared reads only.
            if let Some(w) = unsafe { &*w } {
                let _ = catch_unwind(AssertUnwindSafe(|| w.wake_by_ref()));
            }
        });
    }
    let task = Task::from_raw(raw);
    let released = cell.scheduler.release(&task);
    let n = 1 + usize::from(released.is_some());
    if let Some(t) = released {
        std::mem::forget(t);
    }
    std::mem::forget(task);
    cell.header.state.ref_dec_n(n)
}

/// The vtable's `try_read_output`: see [`RawTask::try_read_output`].
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>`; the caller is its
/// `JoinHandle`, holding the handle's reference and `JOIN_INTEREST` (neither
/// is consumed); `dst` points to a valid, writable
/// `Poll<Result<F::Output, JoinError>>`.
unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>`, kept
    // alive by the `JoinHandle`'s reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller's contract: `dst` is a valid, writable
    // `Poll<Result<F::Output, JoinError>>`.
    let dst = unsafe { &mut *dst.cast::<Poll<Result<F::Output, JoinError>>>() };
    if can_read_output(cell, waker) {
        // SAFETY: COMPLETE was observed with JOIN_INTEREST held: the stage
        // is the handle's alone.
        let stage = cell
            .stage
            .with_mut(|stage| unsafe { std::mem::replace(&mut *stage, Stage::Consumed) });
        match stage {
            Stage::Finished(res) => *dst = Poll::Ready(res),
            _ => panic!("JoinHandle polled after it returned its output"),
        }
    }
}

/// Whether the output can be read now; otherwise makes sure `waker` is the
/// stored join waker.
fn can_read_output<F: Future, S>(cell: &Cell<F, S>, waker: &Waker) -> bool {
    let state = &cell.header.state;
    let snapshot = state.load();
    if snapshot.has(super::state::COMPLETE) {
        return true;
    }
    if snapshot.has(JOIN_WAKER) {
        // SAFETY: JOIN_WAKER is set, so neither side writes the waker now
        // (the handle writes it only while the bit is clear, and the task
        // only reads it): a shared read.
        let same = cell
            .join_waker
            .with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        if !state.unset_join_waker() {
            return true;
        }
    }
    // SAFETY: JOIN_WAKER is clear and the task is not complete: the task
    // will not read the waker until we set the bit again.
    cell.join_waker
        .with_mut(|w| unsafe { *w = Some(waker.clone()) });
    !state.set_join_waker()
}

/// The vtable's `register_join_waker`: see [`RawTask::register_join_waker`].
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>`; the caller is its
/// `JoinHandle`, holding the handle's reference and `JOIN_INTEREST` (neither
/// is consumed). Any thread.
unsafe fn register_join_waker<F: Future, S>(ptr: NonNull<Header>, waker: &Waker) -> bool {
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>`, kept
    // alive by the `JoinHandle`'s reference; the handle is the only writer
    // of the join waker, which `can_read_output` requires.
    let cell = unsafe { cell::<F, S>(ptr) };
    can_read_output(cell, waker)
}

/// The vtable's `drop_join_handle`: see [`RawTask::drop_join_handle`].
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>`; the caller is its dropping
/// `JoinHandle`, once, and gives up the handle's reference and
/// `JOIN_INTEREST`. Any thread.
unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>`; the
    // `JoinHandle`'s reference keeps it alive until the end of this call.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.unset_join_interest() {
        // SAFETY: interest and JOIN_WAKER are now clear: the task will
        // neither read the waker nor expect us to; drop it early.
        let w = cell.join_waker.with_mut(|w| unsafe { (*w).take() });
        drop(w);
    } else {
        // Complete: the output is ours to drop (COMPLETE with JOIN_INTEREST
        // held), and the handle's drop must not panic.
        let _ = consume_stage(cell);
    }
    RawTask { ptr }.drop_reference();
}

/// The vtable's `shutdown`: cancels the task now if it is idle (neither
/// running nor complete); otherwise marks it cancelled, for the running poll
/// to see.
///
/// # Safety
///
/// `ptr` is a task pointer of a `Cell<F, S>` and the caller holds a
/// reference to it (the owned-task list's, or a queued `Notified`'s), which
/// it keeps. Any thread.
unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's contract: a task pointer of a `Cell<F, S>`, kept
    // alive by the reference the caller holds.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // We hold RUNNING now; `complete` drops one reference as "the
        // poll's": take one for it.
        cell.header.state.ref_inc();
        if cancel_and_complete(cell, RawTask { ptr }) {
            // SAFETY: those were the last references, and `cell` is not
            // used again.
            unsafe { dealloc::<F, S>(ptr) }
        }
    }
}

fn waker_vtable<F, S>() -> &'static RawWakerVTable
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    &RawWakerVTable::new(
        clone_waker::<F, S>,
        wake_by_val::<F, S>,
        wake_by_ref::<F, S>,
        drop_waker,
    )
}

/// `RawWakerVTable::clone`: one more reference, for the new waker.
///
/// # Safety
///
/// `ptr` is the data pointer of a live waker of this task (a task pointer of
/// a `Cell<F, S>`, cast), whose reference keeps the cell alive during the
/// call and is not consumed. Any thread.
unsafe fn clone_waker<F, S>(ptr: *const ()) -> RawWaker
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller's contract: a waker's data pointer is the task
    // pointer `run` built it from, kept alive by this waker's reference.
    let header = unsafe { &*ptr.cast::<Header>() };
    #[cfg(feature = "tracing")]
    super::trace::waker_op(header, "waker.clone");
    header.state.ref_inc();
    RawWaker::new(ptr, waker_vtable::<F, S>())
}

/// `RawWakerVTable::wake`: wakes the task and consumes the waker.
///
/// # Safety
///
/// `ptr` is the data pointer of a waker of this task (a task pointer of a
/// `Cell<F, S>`, cast) and the waker's reference is given up: it becomes
/// the `Notified`'s, or is dropped. Any thread.
unsafe fn wake_by_val<F: Future, S: Schedule>(ptr: *const ()) {
    // SAFETY: a waker's data pointer is the task pointer `run` built it
    // from, a `NonNull`, so it is not null.
    let ptr = unsafe { NonNull::new_unchecked(ptr as *mut Header) };
    // SAFETY: the caller's contract: the waker's reference keeps the header
    // alive until this function gives it up below.
    let header = unsafe { ptr.as_ref() };
    #[cfg(feature = "tracing")]
    super::trace::waker_op(header, "waker.wake");
    match header.state.transition_to_notified_by_val() {
        ToNotified::Submit => {
            // SAFETY: the transition took a reference for the `Notified`;
            // the waker's own keeps the cell (and the scheduler handle in
            // it) alive while `schedule` runs, and is dropped after.
            unsafe { schedule::<F, S>(ptr) };
            RawTask { ptr }.drop_reference();
        }
        // SAFETY: that was the last reference.
        ToNotified::Dealloc => unsafe { dealloc::<F, S>(ptr) },
        ToNotified::DoNothing => {}
    }
}

/// `RawWakerVTable::wake_by_ref`: wakes the task; the waker stays.
///
/// # Safety
///
/// `ptr` is the data pointer of a live waker of this task (a task pointer of
/// a `Cell<F, S>`, cast), whose reference keeps the cell alive during the
/// call and is not consumed. Any thread.
unsafe fn wake_by_ref<F: Future, S: Schedule>(ptr: *const ()) {
    // SAFETY: a waker's data pointer is the task pointer `run` built it
    // from, a `NonNull`, so it is not null.
    let ptr = unsafe { NonNull::new_unchecked(ptr as *mut Header) };
    // SAFETY: the caller's contract: the waker holds a reference for the
    // duration of the call, so the header is alive.
    let header = unsafe { ptr.as_ref() };
    #[cfg(feature = "tracing")]
    super::trace::waker_op(header, "waker.wake_by_ref");
    if header.state.transition_to_notified_by_ref() == ToNotified::Submit {
        // SAFETY: the transition took a reference for the `Notified`.
        unsafe { schedule::<F, S>(ptr) }
    }
}

/// `RawWakerVTable::drop`: gives up the waker's reference.
///
/// # Safety
///
/// `ptr` is the data pointer of a waker of a task (a task pointer, cast),
/// and the waker's reference is consumed. Any thread. The same function
/// serves every task type: it touches only the header, and `dealloc` goes
/// through the task's own vtable.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: a waker's data pointer is the task pointer `run` built it
    // from, a `NonNull`, so it is not null; the waker's reference (the
    // caller's contract) is the one `drop_reference` gives up.
    let ptr = unsafe { NonNull::new_unchecked(ptr as *mut Header) };
    let raw = RawTask { ptr };
    // Before the reference goes: it keeps the header alive for the event.
    #[cfg(feature = "tracing")]
    super::trace::waker_op(raw.header(), "waker.drop");
    raw.drop_reference();
}

// The cast from `NonNull<Header>` to `NonNull<Cell<..>>` relies on this.
const _: () = assert!(std::mem::offset_of!(Cell<std::future::Ready<()>, ()>, header) == 0);
