//! [`CancellationToken`]: a cancellation signal shared by clones, passed
//! down a tree of child tokens.
//!
//! # Protocol
//!
//! Every token is a handle to a [`Node`]; clones share the node. A child's
//! node holds a strong reference to its parent's node, and the parent keeps
//! a weak reference to the child in its `children` slab, at the key the
//! child remembers. So a node lives as long as a handle to it or to one of
//! its descendants, and a parent never keeps a dropped child alive: the
//! child's node, when it is freed, removes its own entry.
//!
//! - `cancel` sets `cancelled` under the node's lock and takes the children
//!   out in the same hold, then wakes the node's waiters and cancels each
//!   child that is still alive (iteratively, so a deep chain does not
//!   recurse).
//! - `child_token` looks at `cancelled` under the parent's lock: either it
//!   links the child before the parent's `cancel` takes the children (and
//!   is cancelled by it), or it sees the flag and makes a child that is
//!   cancelled from the start. No child misses its parent's cancellation.
//! - A waiting future creates its `Notified` before it looks at the flag;
//!   `cancel` sets the flag before `notify_waiters`, so a wait that saw the
//!   flag clear is reached by that call.
//!
//! Each node takes one lock at a time (a node's drop takes its parent's
//! lock, never its own with it), so there is no lock order to get wrong.
//!
//! Loom models: `loom_cancel_*` at the bottom of this file.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use slab::Slab;

use super::notify::{Notified, Notify, OwnedNotified};
use crate::shim::{AtomicBool, Mutex, Ordering};

/// A token that can be cancelled once, and whose cancellation every clone
/// and every [`child_token`](CancellationToken::child_token) (and their
/// children) sees; cancelling a child does not cancel its parent.
///
/// The usual shape of a graceful shutdown: the server holds the root, each
/// connection task gets a child and stops at its next
/// [`cancelled`](CancellationToken::cancelled).
///
/// # Examples
///
/// ```
/// use runtime::sync::CancellationToken;
///
/// #[runtime::main]
/// async fn main() {
///     let shutdown = CancellationToken::new();
///     let child = shutdown.child_token();
///     let worker = runtime::spawn(async move {
///         child.cancelled().await;
///         "stopped"
///     });
///     shutdown.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// }
/// ```
pub struct CancellationToken {
    node: Arc<Node>,
}

/// The shared state of a token and its clones.
struct Node {
    cancelled: AtomicBool,
    /// Wakes the waiting futures once `cancelled` is set.
    notify: Arc<Notify>,
    /// The parent's node and this node's key in its `children`.
    parent: Option<(Arc<Node>, usize)>,
    /// Guards `children`; `cancelled` is set under it.
    inner: Mutex<Slab<Weak<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        // Up the chain in a loop, not by recursion: freeing the last node
        // of a long chain of children frees the whole chain.
        let mut parent = self.parent.take();
        while let Some((node, key)) = parent {
            // After a cancel the slab was emptied and takes no new entries,
            // so the key is either still this node's or gone.
            node.inner.lock().try_remove(key);
            parent = match Arc::try_unwrap(node) {
                // The last reference: free it here, its parent next.
                Ok(mut node) => node.parent.take(),
                Err(_) => None,
            };
        }
    }
}

impl Node {
    fn new(parent: Option<(Arc<Node>, usize)>, cancelled: bool) -> Node {
        Node {
            cancelled: AtomicBool::new(cancelled),
            notify: Arc::new(Notify::new()),
            parent,
            inner: Mutex::new(Slab::new()),
        }
    }
}

impl CancellationToken {
    /// A token, not cancelled, with no parent.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node::new(None, false)),
        }
    }

    /// A token that is cancelled when this one is (and when its own
    /// [`cancel`](CancellationToken::cancel) is called); cancelling it does
    /// not cancel this one. A child of a cancelled token is cancelled
    /// already.
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// let parent = CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// let other = parent.child_token();
    /// parent.cancel();
    /// assert!(other.is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let mut children = self.node.inner.lock();
        if self.node.cancelled.load(Ordering::SeqCst) {
            drop(children);
            return CancellationToken {
                node: Arc::new(Node::new(None, true)),
            };
        }
        let entry = children.vacant_entry();
        let key = entry.key();
        let node = Arc::new(Node::new(Some((self.node.clone(), key)), false));
        entry.insert(Arc::downgrade(&node));
        drop(children);
        CancellationToken { node }
    }

    /// Cancels this token and its children (and theirs), waking every task
    /// waiting in [`cancelled`](CancellationToken::cancelled). Calling it
    /// again does nothing.
    pub fn cancel(&self) {
        let mut pending = vec![self.node.clone()];
        while let Some(node) = pending.pop() {
            let children = {
                let mut children = node.inner.lock();
                if node.cancelled.load(Ordering::SeqCst) {
                    continue;
                }
                node.cancelled.store(true, Ordering::SeqCst);
                std::mem::take(&mut *children)
            };
            node.notify.notify_waiters();
            pending.extend(children.into_iter().filter_map(|(_, c)| c.upgrade()));
        }
    }

    /// Whether this token is cancelled (by its own `cancel` or an
    /// ancestor's).
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::SeqCst)
    }

    /// A future that completes once this token is cancelled (at once if it
    /// is already).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            notified: self.node.notify.notified(),
            token: self,
        }
    }

    /// As [`cancelled`](CancellationToken::cancelled), owning a clone of
    /// the token, so the future is `'static`.
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
            notified: self.node.notify.clone().notified_owned(),
            token: self,
        }
    }

    /// A guard that cancels this token when dropped, unless
    /// [`disarm`](DropGuard::disarm)ed.
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// As [`drop_guard`](CancellationToken::drop_guard), borrowing the
    /// token.
    pub fn drop_guard_ref(&self) -> DropGuardRef<'_> {
        DropGuardRef { token: Some(self) }
    }

    /// Runs `fut` until it completes (`Some` of its output) or this token
    /// is cancelled (`None`, and `fut` is dropped). If both are ready at
    /// once, the cancellation wins.
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let token = CancellationToken::new();
    ///     assert_eq!(token.run_until_cancelled(async { 1 }).await, Some(1));
    ///     token.cancel();
    ///     assert_eq!(token.run_until_cancelled(async { 2 }).await, None);
    /// }
    /// ```
    pub async fn run_until_cancelled<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut cancelled = std::pin::pin!(self.cancelled());
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            fut.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// As [`run_until_cancelled`](CancellationToken::run_until_cancelled),
    /// consuming the token.
    pub async fn run_until_cancelled_owned<F: Future>(self, fut: F) -> Option<F::Output> {
        self.run_until_cancelled(fut).await
    }
}

impl Clone for CancellationToken {
    /// A handle to the same token: cancelling either cancels both.
    fn clone(&self) -> Self {
        CancellationToken {
            node: self.node.clone(),
        }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The future of [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitForCancellationFuture<'a> {
    token: &'a CancellationToken,
    /// Created with the future, before the flag is first looked at.
    notified: Notified<'a>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `notified` is structurally pinned: never moved out of the
        // pinned future; `token` is a plain reference.
        let this = unsafe { self.get_unchecked_mut() };
        if this.token.is_cancelled() {
            return Poll::Ready(());
        }
        // SAFETY: as above.
        let notified = unsafe { Pin::new_unchecked(&mut this.notified) };
        // Only `cancel` notifies this node, after setting the flag.
        notified.poll(cx)
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture").finish()
    }
}

/// The future of [`CancellationToken::cancelled_owned`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitForCancellationFutureOwned {
    token: CancellationToken,
    notified: OwnedNotified,
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: as in `WaitForCancellationFuture::poll`.
        let this = unsafe { self.get_unchecked_mut() };
        if this.token.is_cancelled() {
            return Poll::Ready(());
        }
        // SAFETY: as above.
        unsafe { Pin::new_unchecked(&mut this.notified) }.poll(cx)
    }
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFutureOwned").finish()
    }
}

/// Cancels its token when dropped; from
/// [`CancellationToken::drop_guard`].
#[must_use = "dropping the guard at once cancels the token"]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("the token is there until disarm or drop")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.token {
            t.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}

/// Cancels the borrowed token when dropped; from
/// [`CancellationToken::drop_guard_ref`].
#[must_use = "dropping the guard at once cancels the token"]
pub struct DropGuardRef<'a> {
    token: Option<&'a CancellationToken>,
}

impl<'a> DropGuardRef<'a> {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> &'a CancellationToken {
        self.token
            .take()
            .expect("the token is there until disarm or drop")
    }
}

impl Drop for DropGuardRef<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.token {
            t.cancel();
        }
    }
}

impl fmt::Debug for DropGuardRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuardRef")
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_children_leave_the_parent() {
        let parent = CancellationToken::new();
        let children: Vec<_> = (0..100).map(|_| parent.child_token()).collect();
        assert_eq!(parent.node.inner.lock().len(), 100);
        drop(children);
        assert_eq!(parent.node.inner.lock().len(), 0);
        // A grandchild keeps its dropped parent's node (and its link).
        let grandchild = parent.child_token().child_token();
        assert_eq!(parent.node.inner.lock().len(), 1);
        parent.cancel();
        assert!(grandchild.is_cancelled());
        assert_eq!(parent.node.inner.lock().len(), 0);
        drop(grandchild);
    }

    #[test]
    fn a_deep_chain_cancels_without_recursion() {
        let root = CancellationToken::new();
        let mut leaf = root.clone();
        let mut keep = Vec::new();
        for _ in 0..100_000 {
            let next = leaf.child_token();
            keep.push(leaf);
            leaf = next;
        }
        root.cancel();
        assert!(leaf.is_cancelled());
        // Dropping the chain from the root end frees it node by node.
        drop(keep);
        drop(leaf);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::thread;

    #[test]
    fn loom_cancel_reaches_a_child_made_concurrently() {
        loom::model(|| {
            let parent = CancellationToken::new();
            let p2 = parent.clone();
            let t = thread::spawn(move || p2.cancel());
            let child = parent.child_token();
            block_on(child.cancelled());
            t.join().unwrap();
        });
    }

    #[test]
    fn loom_cancel_wakes_a_waiter() {
        loom::model(|| {
            let token = CancellationToken::new();
            let t2 = token.clone();
            let t = thread::spawn(move || t2.cancel());
            block_on(token.cancelled());
            t.join().unwrap();
        });
    }

    #[test]
    fn loom_cancel_vs_child_drop() {
        loom::model(|| {
            let parent = CancellationToken::new();
            let child = parent.child_token();
            let p2 = parent.clone();
            let t = thread::spawn(move || p2.cancel());
            drop(child);
            t.join().unwrap();
            assert_eq!(parent.node.inner.lock().len(), 0);
        });
    }
}
