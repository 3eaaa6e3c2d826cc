//! The fair counting semaphore every lock of this module is built on: an
//! atomic permit count for the uncontended paths and an intrusive FIFO queue
//! of waiters, each asking for any number of permits at once.
//!
//! # Protocol
//!
//! `state` holds the available permits shifted left by [`SHIFT`], and two
//! flags: [`CLOSED`] and [`WAITERS`] (the queue is not empty). Whoever holds
//! the queue's lock keeps this invariant:
//!
//! > `WAITERS` is set exactly when the queue is non-empty, and then the
//! > available count is zero.
//!
//! - An acquirer first tries one compare-and-swap that takes its permits if
//!   `WAITERS` is clear and enough are available. Otherwise it takes the
//!   lock, takes whatever permits are available (possibly fewer than asked)
//!   while setting `WAITERS` in the same swap, and queues itself at the back
//!   asking for the rest.
//! - A releaser adds its permits with one swap if `WAITERS` is clear. If it is
//!   set, it takes the lock and hands the permits to the waiters from the
//!   oldest on, each fully before the next (so a large request at the head is
//!   filled by many small releases, and later small requests cannot overtake
//!   it: FIFO); only what is left when the queue empties goes back to the
//!   count, clearing `WAITERS` in the same swap.
//!
//! No permit is lost between the two: a releaser's swap that sees `WAITERS`
//! clear fails if an acquirer sets it first (and then retries under the lock,
//! which the acquirer holds until it is queued); and an acquirer that sets
//! `WAITERS` under the lock sees every permit a releaser added before.
//!
//! A waiter whose future is dropped unlinks itself under the lock and hands
//! the permits it was already assigned to the next waiters, so cancelling a
//! wait loses nothing. A waiter learns it is served from its `remaining`
//! count reaching zero, which the releaser stores (with `Release`) after its
//! last access to the node, so the waiter may free the node as soon as it
//! sees zero.
//!
//! Loom models: `loom_semaphore_*` at the bottom of this file.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll, Waker};

use runtime_reactor::coop;
use runtime_reactor::linked_list::{Link, List, Pointers};

use crate::shim::{AtomicUsize, Mutex, MutexGuard, Ordering, UnsafeCell};
use crate::sync::waker::set_waker;

/// `state` bit: the semaphore is closed.
const CLOSED: usize = 1;
/// `state` bit: the waiter queue is not empty (see the module's invariant).
const WAITERS: usize = 2;
/// The permit count starts at this bit.
const SHIFT: usize = 2;

/// The most permits a semaphore may hold (as tokio's).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// How many wakers are collected under the lock before it is released to
/// wake them.
const WAKE_BATCH: usize = 32;

/// A fixed-capacity batch of wakers, woken once the lock is released.
///
/// The slots are uninitialised until pushed: a new batch writes nothing
/// and dropping an empty one reads nothing (an array of `Option<Waker>`
/// costs a store and a test per slot each time, on every contended
/// release).
pub(crate) struct WakeList {
    /// `wakers[next..len]` are initialised and not yet woken.
    wakers: [MaybeUninit<Waker>; WAKE_BATCH],
    next: usize,
    len: usize,
}

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList {
            wakers: [const { MaybeUninit::uninit() }; WAKE_BATCH],
            next: 0,
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, waker: Waker) {
        assert!(self.len < WAKE_BATCH, "a full WakeList was pushed to");
        self.wakers[self.len].write(waker);
        self.len += 1;
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    /// Wakes the batch in push order and empties it. A waker that panics
    /// leaves the rest to `Drop`.
    pub(crate) fn wake_all(&mut self) {
        while self.next < self.len {
            let i = self.next;
            self.next += 1;
            // SAFETY: slots in `next..len` are initialised (`push`), and
            // `next` moved past `i` first, so this slot is read only once.
            let waker = unsafe { self.wakers[i].assume_init_read() };
            waker.wake();
        }
        self.next = 0;
        self.len = 0;
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        for slot in &mut self.wakers[self.next..self.len] {
            // SAFETY: slots in `next..len` are initialised and not yet
            // read (`wake_all` moves `next` past each slot it reads).
            unsafe { slot.assume_init_drop() };
        }
    }
}

/// The error of a wait on a closed semaphore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of a `try_acquire*` that could not take its permits at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are available now.
    NoPermits,
}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were not enough permits.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// The raw semaphore: permits without guards.
pub(crate) struct RawSemaphore {
    /// Permits `<< SHIFT`, [`CLOSED`], [`WAITERS`] (module docs).
    state: AtomicUsize,
    /// The waiters, oldest at the back. Guards every linked node's `inner`
    /// and the `remaining` of every linked node.
    waiters: Mutex<List<Waiter>>,
}

/// One waiting acquisition, inside its [`Acquire`] future.
struct Waiter {
    /// Permits still to be assigned. Changed only under the waiters lock;
    /// zero means fully served and unlinked, after which the releaser no
    /// longer touches the node (so the owner may read it without the lock).
    remaining: AtomicUsize,
    /// Guarded by the waiters lock.
    inner: UnsafeCell<WaiterInner>,
    /// Linked nodes must not move.
    _pin: PhantomPinned,
}

struct WaiterInner {
    pointers: Pointers<Waiter>,
    waker: Option<Waker>,
    /// Whether the node is in the queue (a close unlinks without serving).
    linked: bool,
}

// SAFETY: a node's links and waker are reached only under the waiters
// lock, and `remaining` is atomic; the lock moves between threads with it.
unsafe impl Send for Waiter {}

impl Link for Waiter {
    unsafe fn pointers<R>(node: NonNull<Self>, f: impl FnOnce(&mut Pointers<Self>) -> R) -> R {
        // SAFETY: `node` is live and the lock is held (the contract), so this
        // is the only access to its `inner`.
        unsafe { node.as_ref().inner.with_mut(|p| f(&mut (*p).pointers)) }
    }
}

impl Waiter {
    fn new() -> Waiter {
        Waiter {
            remaining: AtomicUsize::new(0),
            inner: UnsafeCell::new(WaiterInner {
                pointers: Pointers::new(),
                waker: None,
                linked: false,
            }),
            _pin: PhantomPinned,
        }
    }
}

impl RawSemaphore {
    pub(crate) fn new(permits: usize) -> RawSemaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
        );
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(List::new()),
        }
    }

    #[cfg(not(runtime_loom))]
    pub(crate) const fn const_new(permits: usize) -> RawSemaphore {
        assert!(permits <= MAX_PERMITS);
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::const_new(List::new()),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits now, or fails.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if cur >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                cur,
                cur - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// A future taking `n` permits.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            num: n,
            queued: false,
            node: Waiter::new(),
        }
    }

    /// Gives `n` permits back (or adds them), serving waiters first.
    ///
    /// # Panics
    ///
    /// If the count would exceed [`MAX_PERMITS`].
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut cur = self.state.load(Ordering::Relaxed);
        while cur & WAITERS == 0 {
            let new = add_checked(cur, n);
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let list = self.waiters.lock();
        self.release_locked(n, list);
    }

    /// Hands `n` permits to the queue from its oldest waiter on, then puts
    /// the rest back; wakes the served waiters once the lock is released.
    fn release_locked<'a>(&'a self, mut n: usize, mut list: MutexGuard<'a, List<Waiter>>) {
        let mut wakers = WakeList::new();
        loop {
            while n > 0 && !wakers.is_full() {
                let Some(node) = list.back() else { break };
                // SAFETY: linked nodes are live and pinned (their future
                // unlinks them before it is freed), and the lock is held.
                let waiter = unsafe { node.as_ref() };
                let need = waiter.remaining.load(Ordering::Relaxed);
                if n < need {
                    waiter.remaining.store(need - n, Ordering::Relaxed);
                    n = 0;
                    break;
                }
                n -= need;
                // SAFETY: the lock is held.
                unsafe { list.pop_back() };
                // SAFETY: the lock is held and the node is live (above).
                let waker = waiter.inner.with_mut(|p| unsafe {
                    (*p).linked = false;
                    (*p).waker.take()
                });
                // The last access: from here the owner may free the node.
                waiter.remaining.store(0, Ordering::Release);
                if let Some(w) = waker {
                    wakers.push(w);
                }
            }
            if list.is_empty() {
                self.put_back_clearing_waiters(n);
                n = 0;
            }
            if n == 0 || !wakers.is_full() {
                drop(list);
                wakers.wake_all();
                debug_assert_eq!(n, 0);
                return;
            }
            // A full batch with permits still in hand: wake outside the
            // lock, then go on serving.
            drop(list);
            wakers.wake_all();
            list = self.waiters.lock();
        }
    }

    /// Under the lock, with the queue empty: adds `n` permits and clears
    /// `WAITERS`.
    fn put_back_clearing_waiters(&self, n: usize) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let new = add_checked(cur & !WAITERS, n);
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Removes up to `n` available permits; returns how many.
    pub(crate) fn forget_permits(&self, n: usize) -> usize {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let take = (cur >> SHIFT).min(n);
            match self.state.compare_exchange_weak(
                cur,
                cur - (take << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Closes the semaphore: every queued and future wait fails.
    pub(crate) fn close(&self) {
        let mut list = self.waiters.lock();
        self.state.fetch_or(CLOSED, Ordering::Release);
        loop {
            let mut wakers = WakeList::new();
            while !wakers.is_full() {
                // SAFETY: the lock is held.
                let Some(node) = (unsafe { list.pop_back() }) else {
                    break;
                };
                // SAFETY: the node was linked, so it is live; the lock is
                // held. Its `remaining` stays non-zero: it was not served,
                // and its owner gives back what it was assigned.
                let waker = unsafe {
                    node.as_ref().inner.with_mut(|p| {
                        (*p).linked = false;
                        (*p).waker.take()
                    })
                };
                if let Some(w) = waker {
                    wakers.push(w);
                }
            }
            let done = list.is_empty();
            if done {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            drop(list);
            wakers.wake_all();
            if done {
                return;
            }
            list = self.waiters.lock();
        }
    }

    /// The body of [`Acquire::poll`] (without the budget).
    fn poll_acquire(
        &self,
        cx: &mut Context<'_>,
        num: usize,
        node: &Waiter,
        queued: &mut bool,
    ) -> Poll<Result<(), AcquireError>> {
        if *queued {
            if node.remaining.load(Ordering::Acquire) == 0 {
                *queued = false;
                return Poll::Ready(Ok(()));
            }
            let _list = self.waiters.lock();
            if node.remaining.load(Ordering::Acquire) == 0 {
                *queued = false;
                return Poll::Ready(Ok(()));
            }
            // SAFETY: the lock is held, which guards `inner`.
            let linked = node.inner.with_mut(|p| unsafe {
                if (*p).linked {
                    set_waker(&mut (*p).waker, cx);
                }
                (*p).linked
            });
            if !linked {
                // Unlinked but not served: closed. `queued` stays set so
                // that dropping the future gives back what it was assigned.
                return Poll::Ready(Err(AcquireError(())));
            }
            return Poll::Pending;
        }

        // The uncontended path: one swap.
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            if cur & WAITERS != 0 || cur >> SHIFT < num {
                break;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur - (num << SHIFT),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(actual) => cur = actual,
            }
        }

        let mut list = self.waiters.lock();
        let mut cur = self.state.load(Ordering::Acquire);
        let taken = loop {
            if cur & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            let available = cur >> SHIFT;
            if available >= num {
                // Only possible with `WAITERS` clear (the invariant).
                match self.state.compare_exchange_weak(
                    cur,
                    cur - (num << SHIFT),
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Poll::Ready(Ok(())),
                    Err(actual) => cur = actual,
                }
            } else {
                let new = (cur & CLOSED) | WAITERS;
                match self.state.compare_exchange_weak(
                    cur,
                    new,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break available,
                    Err(actual) => cur = actual,
                }
            }
        };
        node.remaining.store(num - taken, Ordering::Relaxed);
        // SAFETY: the node is not linked yet and the lock is held.
        node.inner.with_mut(|p| unsafe {
            (*p).waker = Some(cx.waker().clone());
            (*p).linked = true;
        });
        // SAFETY: the lock is held; the node is pinned inside its future
        // (`Acquire` is `!Unpin`), live until that future's `Drop` unlinks
        // it, and in no list.
        unsafe { list.push_front(NonNull::from(node)) };
        *queued = true;
        Poll::Pending
    }
}

/// `cur + n` permits, or a panic past [`MAX_PERMITS`].
fn add_checked(cur: usize, n: usize) -> usize {
    let permits = cur >> SHIFT;
    assert!(
        n <= MAX_PERMITS - permits,
        "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
    );
    cur + (n << SHIFT)
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`RawSemaphore::acquire`].
pub(crate) struct Acquire<'a> {
    sem: &'a RawSemaphore,
    num: usize,
    /// Whether `node` is queued or was served and not yet reported.
    queued: bool,
    node: Waiter,
}

// SAFETY: the node's shared parts are reached only under the semaphore's
// lock (or, for `remaining`, atomically); the rest is plain data.
unsafe impl Send for Acquire<'_> {}
// SAFETY: `&Acquire` gives access to nothing.
unsafe impl Sync for Acquire<'_> {}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: `node` is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let result = ready!(this
            .sem
            .poll_acquire(cx, this.num, &this.node, &mut this.queued));
        coop.made_progress();
        Poll::Ready(result)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if !self.queued {
            return;
        }
        if self.node.remaining.load(Ordering::Acquire) == 0 {
            // Served but never reported: give everything back.
            self.sem.release(self.num);
            return;
        }
        let mut list = self.sem.waiters.lock();
        let remaining = self.node.remaining.load(Ordering::Relaxed);
        // SAFETY: the lock is held.
        let linked = self.node.inner.with_mut(|p| unsafe {
            let linked = (*p).linked;
            (*p).linked = false;
            linked
        });
        if linked {
            // SAFETY: the lock is held and the node is in this list.
            unsafe { list.remove(NonNull::from(&self.node)) };
        }
        // Pass on what was assigned (and clear `WAITERS` if now empty).
        self.sem.release_locked(self.num - remaining, list);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("num", &self.num).finish()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::{WakeList, WAKE_BATCH};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Wake, Waker};

    /// Records its number in a shared log when woken; counts drops.
    struct Probe {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
        drops: Arc<AtomicUsize>,
        panics: bool,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
            assert!(!self.panics, "probe {} panics on wake", self.id);
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probes(
        n: usize,
        panic_at: Option<usize>,
    ) -> (Vec<Waker>, Arc<Mutex<Vec<usize>>>, Arc<AtomicUsize>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let drops = Arc::new(AtomicUsize::new(0));
        let wakers = (0..n)
            .map(|id| {
                Waker::from(Arc::new(Probe {
                    id,
                    log: log.clone(),
                    drops: drops.clone(),
                    panics: panic_at == Some(id),
                }))
            })
            .collect();
        (wakers, log, drops)
    }

    #[test]
    fn wake_list_wakes_in_push_order_and_is_reusable() {
        let (wakers, log, drops) = probes(WAKE_BATCH, None);
        let mut list = WakeList::new();
        for w in wakers {
            assert!(!list.is_full());
            list.push(w);
        }
        assert!(list.is_full());
        list.wake_all();
        assert_eq!(*log.lock().unwrap(), (0..WAKE_BATCH).collect::<Vec<_>>());
        assert_eq!(drops.load(Ordering::SeqCst), WAKE_BATCH);
        // Empty again: it takes a second batch.
        let (wakers, log2, drops2) = probes(2, None);
        assert!(!list.is_full());
        for w in wakers {
            list.push(w);
        }
        list.wake_all();
        assert_eq!(*log2.lock().unwrap(), vec![0, 1]);
        assert_eq!(drops2.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn wake_list_drops_what_it_did_not_wake() {
        let (wakers, log, drops) = probes(3, None);
        let mut list = WakeList::new();
        for w in wakers {
            list.push(w);
        }
        drop(list);
        assert!(log.lock().unwrap().is_empty());
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn wake_list_panicking_waker_leaves_the_rest_to_drop() {
        let (wakers, log, drops) = probes(4, Some(1));
        let mut list = WakeList::new();
        for w in wakers {
            list.push(w);
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| list.wake_all()));
        assert!(r.is_err());
        assert_eq!(*log.lock().unwrap(), vec![0, 1]);
        // Probes 0 and 1 were consumed by their wake; 2 and 3 by the drop.
        drop(list);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
        assert_eq!(*log.lock().unwrap(), vec![0, 1]);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::thread;

    #[test]
    fn loom_semaphore_handoff() {
        loom::model(|| {
            let sem = crate::shim::Arc::new(RawSemaphore::new(1));
            let s2 = sem.clone();
            let t = thread::spawn(move || {
                block_on(s2.acquire(1)).unwrap();
                s2.release(1);
            });
            block_on(sem.acquire(1)).unwrap();
            sem.release(1);
            t.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    }

    #[test]
    fn loom_semaphore_cancel_passes_on() {
        loom::model(|| {
            let sem = crate::shim::Arc::new(RawSemaphore::new(0));
            let s2 = sem.clone();
            let t = thread::spawn(move || s2.release(2));
            {
                // Polled once (maybe queued, maybe served), then dropped.
                let mut fut = Box::pin(sem.acquire(2));
                let waker = std::task::Waker::noop();
                let mut cx = Context::from_waker(waker);
                if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                    r.unwrap();
                    sem.release(2);
                }
            }
            t.join().unwrap();
            assert_eq!(sem.available_permits(), 2);
        });
    }

    #[test]
    fn loom_semaphore_close_wakes() {
        loom::model(|| {
            let sem = crate::shim::Arc::new(RawSemaphore::new(0));
            let s2 = sem.clone();
            let t = thread::spawn(move || s2.close());
            assert!(block_on(sem.acquire(1)).is_err());
            t.join().unwrap();
        });
    }
}
