//! [`Notify`]: wake one task, or all waiting tasks, without sending data.
//!
//! # Protocol
//!
//! `state` holds the notify state in its low two bits ([`EMPTY`],
//! [`WAITING`]: the waiter list is not empty, [`NOTIFIED`]: one stored
//! permit) and above them the number of `notify_waiters` calls so far. Under
//! the waiter lock `WAITING` is set exactly when the list is non-empty.
//!
//! - `notify_one` with no waiter stores the permit with one swap (`EMPTY` or
//!   `NOTIFIED` to `NOTIFIED`) and never locks; with waiters it locks, unlinks
//!   the oldest, marks its `notification` and wakes it.
//! - A [`Notified`] records the call count when it is created. Its first poll
//!   (or [`enable`](Notified::enable)) takes a stored permit with one swap if
//!   there is one; otherwise it locks, completes if the call count moved or a
//!   permit arrived meanwhile, or else links itself and sets `WAITING`. So a
//!   `notify_one` either sees `WAITING` (and finds the waiter in the list) or
//!   stores a permit the waiter sees under the lock: never lost.
//! - `notify_waiters` locks, bumps the call count, unlinks every waiter
//!   (marking each) and wakes them after unlocking. A `Notified` created
//!   before the call but not yet linked sees the count moved; one created
//!   after it does not, so only earlier waiters are woken.
//! - A waiter marked by `notify_one` whose future is dropped before it saw
//!   the mark passes the notification on (to the next waiter, or as the
//!   stored permit), so dropping a future never loses one.
//!
//! Loom models: `loom_notify_*` at the bottom of this file.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::ops::Deref;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime_reactor::linked_list::{Link, List, Pointers};

use super::batch_semaphore::WakeList;
use super::waker::set_waker;
use crate::shim::{AtomicUsize, Mutex, MutexGuard, Ordering, UnsafeCell};

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 3;
/// One `notify_waiters` call in `state`.
const CALL: usize = 4;

/// `notification` values of a waiter.
const NONE: usize = 0;
/// Unlinked by `notify_one`.
const ONE: usize = 1;
/// Unlinked by `notify_last`.
const LAST: usize = 2;
/// Unlinked by `notify_waiters`.
const ALL: usize = 3;

fn get_state(s: usize) -> usize {
    s & STATE_MASK
}

fn set_state(s: usize, state: usize) -> usize {
    (s & !STATE_MASK) | state
}

/// Notifies one task, or all waiting tasks, of an event.
///
/// [`notify_one`](Notify::notify_one) wakes the task that has waited longest
/// in [`notified`](Notify::notified); if none waits it stores one permit, and
/// the next `notified().await` completes at once (at most one permit is
/// stored). [`notify_waiters`](Notify::notify_waiters) wakes every task
/// waiting at the time of the call and stores nothing.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Notify;
///
/// #[runtime::main]
/// async fn main() {
///     let notify = Arc::new(Notify::new());
///     let n2 = notify.clone();
///     let waiter = runtime::spawn(async move {
///         n2.notified().await;
///         "woken"
///     });
///     notify.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// }
/// ```
pub struct Notify {
    /// State bits and `notify_waiters` count (module docs).
    state: AtomicUsize,
    /// Waiting futures, oldest at the back; guards every linked node's
    /// `inner` and `notification`.
    waiters: Mutex<List<Waiter>>,
}

/// One waiting [`Notified`].
struct Waiter {
    /// [`NONE`] while linked; otherwise how it was unlinked. Written under
    /// the lock after the notifier's last access to the node, so the owner
    /// may read it (and free the node) without the lock once it is set.
    notification: AtomicUsize,
    /// Guarded by the waiters lock.
    inner: UnsafeCell<WaiterInner>,
    _pin: PhantomPinned,
}

struct WaiterInner {
    pointers: Pointers<Waiter>,
    waker: Option<Waker>,
}

// SAFETY: the node's links and waker are reached only under the waiters
// lock; `notification` is atomic.
unsafe impl Send for Waiter {}

impl Link for Waiter {
    unsafe fn pointers<R>(node: NonNull<Self>, f: impl FnOnce(&mut Pointers<Self>) -> R) -> R {
        // SAFETY: `node` is live and the lock is held (the contract).
        unsafe { node.as_ref().inner.with_mut(|p| f(&mut (*p).pointers)) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not yet polled or enabled.
    Init,
    /// Linked in the list (or unlinked by a notifier, not yet seen).
    Waiting,
    /// Completed.
    Done,
}

/// The future of [`Notify::notified`]: completes when notified.
///
/// Fused: once complete, it stays complete.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified<'a> {
    wait: Wait<&'a Notify>,
}

/// The future of [`Notify::notified_owned`]: as [`Notified`], holding an
/// `Arc<Notify>` instead of a borrow, so it is `'static` and can be moved
/// into a spawned task.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct OwnedNotified {
    wait: Wait<Arc<Notify>>,
}

/// The state of one wait, whichever way it holds the [`Notify`].
struct Wait<N: Deref<Target = Notify>> {
    notify: N,
    state: State,
    /// `notify_waiters` calls when this future was created.
    calls: usize,
    waiter: Waiter,
}

// SAFETY: the shared parts of `waiter` are reached only under the notify's
// lock (or atomically); the rest is plain data, and `N` is a `&Notify` or an
// `Arc<Notify>`, both `Send` (`Notify` is `Sync`).
unsafe impl<N: Deref<Target = Notify> + Send> Send for Wait<N> {}
// SAFETY: `&Wait` gives access to nothing.
unsafe impl<N: Deref<Target = Notify>> Sync for Wait<N> {}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(0),
            waiters: Mutex::new(List::new()),
        }
    }

    /// A `Notify` with no stored permit, usable in a `static`.
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// static EVENT: Notify = Notify::const_new();
    /// EVENT.notify_one();
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn const_new() -> Notify {
        Notify {
            state: AtomicUsize::new(0),
            waiters: Mutex::const_new(List::new()),
        }
    }

    /// A future that completes on the next notification.
    ///
    /// It receives a [`notify_waiters`](Notify::notify_waiters) made any time
    /// after this call, even before it is polled. It is in line for
    /// [`notify_one`](Notify::notify_one) once polled or
    /// [`enable`](Notified::enable)d (or it takes the stored permit then).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a `notify_one` handed to a future that is dropped before
    /// completing goes on to the next waiter (or is stored).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let notify = Notify::new();
    ///     notify.notify_one(); // stored: no one waits yet
    ///     notify.notified().await;
    /// }
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            wait: Wait::new(self),
        }
    }

    /// As [`notified`](Notify::notified), owning an `Arc` of the `Notify`
    /// instead of borrowing it, so the future can outlive the borrow (be
    /// moved into a spawned task, stored in a struct).
    ///
    /// # Cancel safety
    ///
    /// As [`notified`](Notify::notified).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Notify;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let notify = Arc::new(Notify::new());
    ///     // Created (so counted for `notify_waiters`) before the spawn.
    ///     let notified = notify.clone().notified_owned();
    ///     let waiter = runtime::spawn(notified);
    ///     notify.notify_waiters();
    ///     waiter.await.unwrap();
    /// }
    /// ```
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            wait: Wait::new(self),
        }
    }

    /// Wakes the task that has waited longest, or, if none waits, stores a
    /// permit for the next [`notified`](Notify::notified) (at most one).
    pub fn notify_one(&self) {
        self.notify_with(ONE);
    }

    /// As [`notify_one`](Notify::notify_one), but wakes the task that began
    /// waiting most recently.
    pub fn notify_last(&self) {
        self.notify_with(LAST);
    }

    fn notify_with(&self, kind: usize) {
        let mut cur = self.state.load(Ordering::SeqCst);
        while get_state(cur) != WAITING {
            match self.state.compare_exchange(
                cur,
                set_state(cur, NOTIFIED),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let list = self.waiters.lock();
        let waker = self.notify_locked(list, kind);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Under the lock: hands one notification of `kind` to a waiter, or
    /// stores the permit.
    fn notify_locked(&self, mut list: MutexGuard<'_, List<Waiter>>, kind: usize) -> Option<Waker> {
        let mut cur = self.state.load(Ordering::SeqCst);
        loop {
            if get_state(cur) != WAITING {
                // No waiter: store the permit. (Only the permit's taking
                // runs without the lock, so the swap may need a retry.)
                match self.state.compare_exchange(
                    cur,
                    set_state(cur, NOTIFIED),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(_) => return None,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            }
            // SAFETY: the lock is held; `WAITING` means the list is not
            // empty (module invariant).
            let node = unsafe {
                if kind == LAST {
                    list.pop_front()
                } else {
                    list.pop_back()
                }
            }
            .expect("WAITING with an empty waiter list");
            if list.is_empty() {
                self.state.store(set_state(cur, EMPTY), Ordering::SeqCst);
            }
            // SAFETY: the node was linked, so live; the lock is held.
            let waiter = unsafe { node.as_ref() };
            // SAFETY: the lock is held.
            let waker = waiter.inner.with_mut(|p| unsafe { (*p).waker.take() });
            // The last access: from here the owner may free the node.
            waiter.notification.store(kind, Ordering::Release);
            return waker;
        }
    }

    /// Wakes every task waiting now (those whose [`Notified`] was created
    /// before this call); stores no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let notify = Notify::new();
    ///     let a = notify.notified();
    ///     let b = notify.notified();
    ///     notify.notify_waiters(); // both were created before it
    ///     a.await;
    ///     b.await;
    /// }
    /// ```
    pub fn notify_waiters(&self) {
        let mut list = self.waiters.lock();
        let cur = self.state.load(Ordering::SeqCst);
        if get_state(cur) != WAITING {
            self.state.fetch_add(CALL, Ordering::SeqCst);
            return;
        }
        self.state
            .store(set_state(cur + CALL, EMPTY), Ordering::SeqCst);
        // Every waiter is unlinked under this one lock hold, so none can be
        // left behind for a later `notify_one`; past a batch the wakers spill
        // into a vector (a rare allocation) and are all woken after unlock.
        let mut wakers = WakeList::new();
        let mut spill = Vec::new();
        // SAFETY: the lock is held.
        while let Some(node) = unsafe { list.pop_back() } {
            // SAFETY: the node was linked, so live; the lock is held.
            let waiter = unsafe { node.as_ref() };
            // SAFETY: the lock is held.
            let waker = waiter.inner.with_mut(|p| unsafe { (*p).waker.take() });
            waiter.notification.store(ALL, Ordering::Release);
            if let Some(w) = waker {
                if wakers.is_full() {
                    spill.push(w);
                } else {
                    wakers.push(w);
                }
            }
        }
        drop(list);
        wakers.wake_all();
        spill.into_iter().for_each(Waker::wake);
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field(
                "permit",
                &(get_state(self.state.load(Ordering::SeqCst)) == NOTIFIED),
            )
            .finish()
    }
}

impl<N: Deref<Target = Notify>> Wait<N> {
    fn new(notify: N) -> Wait<N> {
        let calls = notify.state.load(Ordering::SeqCst) / CALL;
        Wait {
            notify,
            state: State::Init,
            calls,
            waiter: Waiter {
                notification: AtomicUsize::new(NONE),
                inner: UnsafeCell::new(WaiterInner {
                    pointers: Pointers::new(),
                    waker: None,
                }),
                _pin: PhantomPinned,
            },
        }
    }
}

impl<'a> Notified<'a> {
    fn wait(self: Pin<&mut Self>) -> Pin<&mut Wait<&'a Notify>> {
        // SAFETY: a structural projection: `wait` is never moved out.
        unsafe { self.map_unchecked_mut(|n| &mut n.wait) }
    }

    /// Puts this future in line for [`Notify::notify_one`] without polling
    /// it (no waker is registered), or takes the stored permit.
    ///
    /// Returns whether the future is now ready: a `notify_waiters` call came
    /// after its creation, it took the stored permit, or it was enabled
    /// before and has since been notified.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::pin;
    /// use runtime::sync::Notify;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let notify = Notify::new();
    ///     let mut waiting = pin!(notify.notified());
    ///     assert!(!waiting.as_mut().enable());
    ///     notify.notify_one(); // goes to `waiting`, not to the stored permit
    ///     assert!(waiting.as_mut().enable());
    ///     waiting.await;
    /// }
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.wait().poll_notified(None).is_ready()
    }
}

impl OwnedNotified {
    fn wait(self: Pin<&mut Self>) -> Pin<&mut Wait<Arc<Notify>>> {
        // SAFETY: a structural projection: `wait` is never moved out.
        unsafe { self.map_unchecked_mut(|n| &mut n.wait) }
    }

    /// As [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.wait().poll_notified(None).is_ready()
    }
}

impl<N: Deref<Target = Notify>> Wait<N> {
    fn poll_notified(self: Pin<&mut Self>, cx: Option<&Context<'_>>) -> Poll<()> {
        // SAFETY: `waiter` is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let Wait {
            notify,
            state,
            calls,
            waiter,
        } = this;
        let notify: &Notify = notify;
        match *state {
            State::Done => Poll::Ready(()),
            State::Init => {
                let cur = notify.state.load(Ordering::SeqCst);
                if cur / CALL != *calls {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                if get_state(cur) == NOTIFIED
                    && notify
                        .state
                        .compare_exchange(
                            cur,
                            set_state(cur, EMPTY),
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        )
                        .is_ok()
                {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                let mut list = notify.waiters.lock();
                let mut cur = notify.state.load(Ordering::SeqCst);
                loop {
                    // The call count moves only under the lock: stable now.
                    if cur / CALL != *calls {
                        *state = State::Done;
                        return Poll::Ready(());
                    }
                    let next = match get_state(cur) {
                        NOTIFIED => set_state(cur, EMPTY),
                        EMPTY => set_state(cur, WAITING),
                        _ => break,
                    };
                    match notify.state.compare_exchange(
                        cur,
                        next,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    ) {
                        Ok(_) if get_state(cur) == NOTIFIED => {
                            *state = State::Done;
                            return Poll::Ready(());
                        }
                        Ok(_) => break,
                        Err(actual) => cur = actual,
                    }
                }
                if let Some(cx) = cx {
                    // SAFETY: not yet linked, and the lock is held.
                    waiter
                        .inner
                        .with_mut(|p| unsafe { (*p).waker = Some(cx.waker().clone()) });
                }
                // SAFETY: the lock is held; the node is pinned in this
                // future (`!Unpin`), which unlinks it before it is freed,
                // and it is in no list.
                unsafe { list.push_front(NonNull::from(&*waiter)) };
                *state = State::Waiting;
                Poll::Pending
            }
            State::Waiting => {
                if waiter.notification.load(Ordering::Acquire) != NONE {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                let _list = notify.waiters.lock();
                if waiter.notification.load(Ordering::Acquire) != NONE {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                if let Some(cx) = cx {
                    // SAFETY: linked, and the lock is held.
                    waiter
                        .inner
                        .with_mut(|p| unsafe { set_waker(&mut (*p).waker, cx) });
                }
                Poll::Pending
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wait().poll_notified(Some(cx))
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wait().poll_notified(Some(cx))
    }
}

impl<N: Deref<Target = Notify>> Drop for Wait<N> {
    fn drop(&mut self) {
        if self.state != State::Waiting {
            return;
        }
        let notify: &Notify = &self.notify;
        let mut list = notify.waiters.lock();
        match self.waiter.notification.load(Ordering::Acquire) {
            NONE => {
                // SAFETY: still linked (no notifier marked it), lock held.
                unsafe { list.remove(NonNull::from(&self.waiter)) };
                if list.is_empty() {
                    let cur = notify.state.load(Ordering::SeqCst);
                    if get_state(cur) == WAITING {
                        notify.state.store(set_state(cur, EMPTY), Ordering::SeqCst);
                    }
                }
            }
            kind @ (ONE | LAST) => {
                // Handed a notification it never reported: pass it on.
                if let Some(w) = notify.notify_locked(list, kind) {
                    w.wake();
                }
            }
            _ => {}
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.wait.state)
            .finish()
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("state", &self.wait.state)
            .finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::shim::Arc;
    use crate::sync::loom_block_on as block_on;
    use loom::thread;

    #[test]
    fn loom_notify_one_not_lost() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let n2 = notify.clone();
            let t = thread::spawn(move || n2.notify_one());
            block_on(notify.notified());
            t.join().unwrap();
        });
    }

    #[test]
    fn loom_notify_waiters_reaches_earlier_notified() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let fut = notify.notified();
            let n2 = notify.clone();
            let t = thread::spawn(move || n2.notify_waiters());
            block_on(fut);
            t.join().unwrap();
        });
    }

    #[test]
    fn loom_notify_dropped_waiter_passes_on() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let n2 = notify.clone();
            let t = thread::spawn(move || n2.notify_one());
            let took_permit = {
                let mut fut = Box::pin(notify.notified());
                fut.as_mut().enable()
            };
            t.join().unwrap();
            // Unless the dropped future had completed, the notification is
            // not lost: it is stored for the next waiter.
            if !took_permit {
                block_on(notify.notified());
            }
        });
    }
}
