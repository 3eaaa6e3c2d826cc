//! A timer: the intrusive [`Node`] the wheel links, and [`TimerEntry`], the
//! pinned handle a `Sleep` future embeds.
//!
//! # Memory
//!
//! A timer costs no allocation of its own: the node lives inside the
//! (pinned) future that waits for it, and the wheel's slots are intrusive
//! doubly linked lists threaded through those nodes. Registering links the
//! node (O(1)), cancelling unlinks it (O(1)), and dropping an unfired
//! entry cancels it, so the memory of a dropped `Sleep` is simply the
//! memory of the future that contained it.
//!
//! # State rules
//!
//! `Node::state` is one of:
//!
//! - `IDLE`: in no list; the wheel holds no pointer to the node. Initial
//!   state, and the state after a cancel or after a reset of a fired timer.
//!   Only the owner (the `TimerEntry`) moves a node out of `IDLE`.
//! - `REGISTERED`: linked into a slot or the pending list of the wheel; the
//!   node's data may hold the owner's `Waker`. Only moved out of, and into,
//!   with the wheel lock held.
//! - `FIRED`: the deadline passed; the node was unlinked and its waker
//!   taken. The firing thread stores `FIRED` (Release) as its last access to
//!   the node, so an owner that loads `FIRED` (Acquire) knows nobody else
//!   will touch the node again and may reuse or free it without locking.
//!   Only the owner moves a node out of `FIRED` (a reset).
//!
//! The owner therefore needs the lock only when it sees `REGISTERED`, or to
//! register; dropping a fired or never-polled timer takes no lock at all.

use std::fmt;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::wheel::NOWHERE;
use super::Notify;
use crate::linked_list::Pointers;
use crate::sync::{AtomicU8, Ordering, UnsafeCell};
use crate::Reactor;

/// In no list (see the module docs).
pub(crate) const IDLE: u8 = 0;
/// Linked into the wheel.
pub(crate) const REGISTERED: u8 = 1;
/// Deadline reached; unlinked, waker taken.
pub(crate) const FIRED: u8 = 2;

/// What the wheel links: the state word and the lock-guarded data.
pub(crate) struct Node {
    /// `IDLE`, `REGISTERED` or `FIRED`; transitions follow the module
    /// docs' rules.
    pub(crate) state: AtomicU8,
    /// Guarded by the lock of the wheel the node is used with: only
    /// accessed with that lock held (through `&mut Wheel`), except by its
    /// owner while `state` is `IDLE` or `FIRED` (nobody else can reach it
    /// then) and when it is dropped.
    pub(crate) data: UnsafeCell<NodeData>,
    /// The wheel points into the node: it must not move once linked.
    _pin: PhantomPinned,
}

/// The wheel-guarded part of a [`Node`].
pub(crate) struct NodeData {
    /// The node's links in its wheel list.
    pub(crate) pointers: Pointers<Node>,
    /// The tick the node expires at (set when linked).
    pub(crate) when: u64,
    /// Which list the node is in: `level * 64 + slot`, `PENDING` or
    /// `NOWHERE`, so that removal is O(1) without recomputing it.
    pub(crate) location: u16,
    /// Woken when the node fires; set by the owner's poll.
    pub(crate) waker: Option<Waker>,
}

impl Node {
    pub(crate) fn new() -> Node {
        Node {
            state: AtomicU8::new(IDLE),
            data: UnsafeCell::new(NodeData {
                pointers: Pointers::new(),
                when: 0,
                location: NOWHERE,
                waker: None,
            }),
            _pin: PhantomPinned,
        }
    }

    /// Whether the node fired (and has not been reset since).
    pub(crate) fn is_fired(&self) -> bool {
        self.state.load(Ordering::Acquire) == FIRED
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Relaxed) {
            IDLE => "idle",
            REGISTERED => "registered",
            _ => "fired",
        };
        f.debug_struct("Node").field("state", &state).finish()
    }
}

/// A one-shot timer of the process-wide reactor, to be embedded (pinned) in
/// a future: the building block of `runtime::time::Sleep`.
///
/// [`poll_elapsed`](TimerEntry::poll_elapsed) registers it on first use and
/// returns `Ready` once the deadline has passed and the reactor has noticed
/// (never before the deadline: deadlines are rounded up to the next
/// millisecond tick). Dropping an entry cancels it in O(1).
///
/// The entry needs no allocation: the wheel links the entry itself, which
/// is why it is `!Unpin` and its methods take `Pin<&mut Self>`.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll};
/// use std::time::{Duration, Instant};
/// use runtime_reactor::TimerEntry;
///
/// let start = Instant::now();
/// let mut timer = pin!(TimerEntry::new(start + Duration::from_millis(5)));
/// // A real executor would park until woken; spinning keeps the example short.
/// let mut cx = Context::from_waker(std::task::Waker::noop());
/// while timer.as_mut().poll_elapsed(&mut cx).is_pending() {
///     std::thread::yield_now();
/// }
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub struct TimerEntry {
    /// The reactor whose wheel the node is linked into; set on first
    /// registration and never changed afterwards, so that a node is only
    /// ever used with one wheel (the `# Safety` rule of `Timers`'s node
    /// methods).
    reactor: Option<&'static Reactor>,
    /// When the timer is due.
    deadline: Instant,
    /// The linked part.
    node: Node,
}

// SAFETY: the node's raw links and data are only touched under the wheel
// lock (or by the owner, through `&mut`/`Pin<&mut>`, in states where the
// wheel holds no pointer to it); the rest is `Send + Sync` data. Shared
// references only read the atomic state and the deadline.
unsafe impl Send for TimerEntry {}
// SAFETY: as above: `&TimerEntry` gives access to `deadline` and an atomic
// load of the state only.
unsafe impl Sync for TimerEntry {}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("deadline", &self.deadline)
            .field("node", &self.node)
            .finish()
    }
}

impl TimerEntry {
    /// A timer due at `deadline`, not yet registered (creating one is
    /// free; the first poll registers it).
    pub fn new(deadline: Instant) -> TimerEntry {
        TimerEntry {
            reactor: None,
            deadline,
            node: Node::new(),
        }
    }

    /// A timer of a given reactor (tests with a private reactor).
    #[cfg(all(test, not(runtime_loom)))]
    pub(crate) fn new_in(reactor: &'static Reactor, deadline: Instant) -> TimerEntry {
        TimerEntry {
            reactor: Some(reactor),
            deadline,
            node: Node::new(),
        }
    }

    /// When the timer is due.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the timer has fired (and was not reset since).
    pub fn is_elapsed(&self) -> bool {
        self.node.is_fired()
    }

    /// Projects to the reactor (resolved on first use) and the pinned node.
    ///
    /// # Panics
    ///
    /// If the process-wide reactor cannot be started.
    fn project(self: Pin<&mut Self>) -> (&'static Reactor, &mut Instant, Pin<&Node>) {
        // SAFETY: nothing is moved out of `this`; the node is only handed
        // out pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let reactor = *this.reactor.get_or_insert_with(|| {
            Reactor::get().unwrap_or_else(|e| panic!("cannot start the reactor for a timer: {e}"))
        });
        // SAFETY: `this` is pinned, so its field is too.
        let node = unsafe { Pin::new_unchecked(&this.node) };
        (reactor, &mut this.deadline, node)
    }

    /// Returns `Ready` once the deadline has passed, registering the timer
    /// (or updating its waker) otherwise: the task of `cx` is woken when it
    /// fires.
    ///
    /// # Panics
    ///
    /// On first use, if the process-wide reactor cannot be started (for
    /// example, out of file descriptors).
    pub fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.node.is_fired() {
            return Poll::Ready(());
        }
        let (reactor, deadline, node) = self.project();
        let timers = &reactor.timers;
        let when = timers.deadline_tick(*deadline);
        // SAFETY: the node is pinned inside this entry, whose `Drop` cancels
        // it with the same `Timers` (`reactor` never changes once set).
        let (poll, wake) = unsafe { timers.poll_node(node, when, cx.waker()) };
        wake_up(reactor, wake);
        poll
    }

    /// Moves the deadline to `deadline`.
    ///
    /// A registered timer stays registered (its waker is kept, so the task
    /// that last polled it is woken at the new deadline, or at once if it
    /// has passed); a fired or never-polled one is registered by the next
    /// poll.
    ///
    /// # Panics
    ///
    /// If the process-wide reactor cannot be started.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let (reactor, dl, node) = self.project();
        *dl = deadline;
        let timers = &reactor.timers;
        let when = timers.deadline_tick(deadline);
        // SAFETY: as in `poll_elapsed`.
        wake_up(reactor, unsafe { timers.reset_node(node, when) });
    }
}

/// Wakes whoever must see a new, earlier deadline (see `Notify`).
fn wake_up(reactor: &Reactor, wake: Notify) {
    match wake {
        Notify::Nobody => {}
        Notify::Driver => reactor.wake(),
        Notify::Watcher => reactor.timers.wake_watcher(),
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        if let Some(reactor) = self.reactor {
            // SAFETY: the entry was pinned before `reactor` was set (it is
            // only set through `Pin<&mut Self>`), and pinned data is dropped
            // in place, so the node is still where the wheel points. It was
            // only ever used with this reactor's timers.
            let node = unsafe { Pin::new_unchecked(&self.node) };
            // SAFETY: same `Timers` as every earlier use of the node.
            unsafe { reactor.timers.cancel_node(node) };
        }
    }
}
