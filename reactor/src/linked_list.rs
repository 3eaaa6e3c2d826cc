//! An intrusive doubly linked list: the nodes live inside the futures that
//! wait (timer entries, readiness waiters), so linking costs no allocation
//! and unlinking is O(1).
//!
//! The list owns nothing. Whoever uses it guards the list and the links of
//! every node in it with one lock, and guarantees that a node stays pinned
//! and alive for as long as it is linked (its owner's `Drop` unlinks it).
//!
//! Public only so that the `runtime` crate's synchronisation primitives
//! (their waiter queues) share this one list; not part of the API.

use std::ptr::NonNull;

/// The two links of a node, kept inside the node's lock-guarded data.
#[derive(Debug)]
pub struct Pointers<T> {
    /// The neighbour towards the head.
    prev: Option<NonNull<T>>,
    /// The neighbour towards the tail.
    next: Option<NonNull<T>>,
}

impl<T> Pointers<T> {
    /// Links of a node in no list.
    pub const fn new() -> Pointers<T> {
        Pointers {
            prev: None,
            next: None,
        }
    }
}

impl<T> Default for Pointers<T> {
    fn default() -> Self {
        Pointers::new()
    }
}

/// A node type that can be linked into a [`List`].
pub trait Link {
    /// Runs `f` on the links of `node`.
    ///
    /// # Safety
    ///
    /// `node` is live, and the caller holds the lock that guards the list
    /// it is (or is about to be) linked into, so this is the only access to
    /// its links.
    unsafe fn pointers<R>(node: NonNull<Self>, f: impl FnOnce(&mut Pointers<Self>) -> R) -> R
    where
        Self: Sized;
}

/// A doubly linked list of `T` (head = most recently pushed).
#[derive(Debug)]
pub struct List<T> {
    head: Option<NonNull<T>>,
    tail: Option<NonNull<T>>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List::new()
    }
}

impl<T> List<T> {
    /// An empty list.
    pub const fn new() -> List<T> {
        List {
            head: None,
            tail: None,
        }
    }
}

// SAFETY: the list is only pointers to nodes; it is sent between threads
// inside the lock that guards it and every node's links (module docs), and
// the nodes themselves are `Send` data reached only under that lock.
unsafe impl<T: Send> Send for List<T> {}

impl<T: Link> List<T> {
    /// Whether no node is linked.
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// The oldest node, left linked.
    pub fn back(&self) -> Option<NonNull<T>> {
        self.tail
    }

    /// The most recently pushed node, left linked.
    pub fn front(&self) -> Option<NonNull<T>> {
        self.head
    }

    /// Unlinks and returns the most recently pushed node.
    ///
    /// # Safety
    ///
    /// The list's lock is held.
    pub unsafe fn pop_front(&mut self) -> Option<NonNull<T>> {
        let head = self.head?;
        // SAFETY: `head` is in this list (the caller holds its lock).
        unsafe { self.remove(head) };
        Some(head)
    }

    /// Links `node` at the head.
    ///
    /// # Safety
    ///
    /// The list's lock is held, and `node` is live, pinned and in no list.
    pub unsafe fn push_front(&mut self, node: NonNull<T>) {
        let head = self.head;
        // SAFETY: the caller's contract; `head`, if any, is in this list and
        // so live (the list invariant), and is another node than `node`.
        unsafe {
            T::pointers(node, |p| {
                p.prev = None;
                p.next = head;
            });
            match head {
                Some(h) => T::pointers(h, |p| p.prev = Some(node)),
                None => self.tail = Some(node),
            }
        }
        self.head = Some(node);
    }

    /// Unlinks and returns the oldest node.
    ///
    /// # Safety
    ///
    /// The list's lock is held.
    pub unsafe fn pop_back(&mut self) -> Option<NonNull<T>> {
        let tail = self.tail?;
        // SAFETY: nodes in the list are live (the list invariant); `tail`
        // and its predecessor are distinct nodes.
        unsafe {
            let prev = T::pointers(tail, |p| {
                p.next = None;
                p.prev.take()
            });
            self.tail = prev;
            match prev {
                Some(p) => T::pointers(p, |p| p.next = None),
                None => self.head = None,
            }
        }
        Some(tail)
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    ///
    /// The list's lock is held and `node` is in this list.
    pub unsafe fn remove(&mut self, node: NonNull<T>) {
        // SAFETY: `node` and its neighbours are in this list, hence live,
        // and pairwise distinct.
        unsafe {
            let (prev, next) = T::pointers(node, |p| (p.prev.take(), p.next.take()));
            match prev {
                Some(p) => T::pointers(p, |p| p.next = next),
                None => {
                    debug_assert_eq!(self.head, Some(node), "node not in this list");
                    self.head = next;
                }
            }
            match next {
                Some(n) => T::pointers(n, |p| p.prev = prev),
                None => {
                    debug_assert_eq!(self.tail, Some(node), "node not in this list");
                    self.tail = prev;
                }
            }
        }
    }
}
