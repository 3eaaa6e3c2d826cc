//! The per-worker run queue: a bounded ring of [`CAPACITY`] tasks with one
//! producer (the owning worker) and any number of stealers, which take half.
//!
//! # Protocol
//!
//! `tail` is written only by the owner. `head` packs two 32-bit indices:
//! `real`, the next task the owner pops, and `steal`, the oldest slot still
//! being copied by a stealer. When no steal is under way they are equal.
//!
//! - The owner pushes at `tail` while `tail - steal < CAPACITY` (slots from
//!   `steal` on may still be read by a stealer). When full and no steal is
//!   under way, it moves half of the queue, plus the new task, to the
//!   injector in one claim of `head` (`push_overflow`).
//! - The owner pops by advancing `real` with a CAS (stealers move it too).
//! - A stealer claims `n = ceil(len / 2)` tasks by advancing `real` only
//!   (so `steal` still marks the claimed slots), copies them into its own
//!   queue, then sets `steal = real`, releasing the slots. Only one steal
//!   from a queue runs at a time: a stealer that sees `steal != real` backs
//!   off.
//!
//! Loom models at the bottom check push/pop/steal/overflow.

use std::mem::MaybeUninit;

use crate::shim::{Arc, AtomicPtr, AtomicU32, AtomicU64, Ordering, UnsafeCell};
use crate::task::Notified;

/// Slots per worker queue.
pub(crate) const CAPACITY: usize = if cfg!(runtime_loom) { 4 } else { 256 };
const MASK: usize = CAPACITY - 1;

struct Inner {
    /// `steal << 32 | real`.
    head: AtomicU64,
    /// One past the last pushed task; written by the owner only.
    tail: AtomicU32,
    /// The ring. A slot between `steal` and `tail` holds a task.
    buffer: Box<[UnsafeCell<MaybeUninit<Notified>>]>,
    /// Times a push found the queue full and sent tasks to the overflow
    /// (the metrics' `worker_overflow_count`); written by the owner only.
    overflows: AtomicU64,
}

// SAFETY: slots are handed between threads only through the head/tail
// protocol above (Release on publish, Acquire on claim).
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

/// The owner's end.
pub(crate) struct Local {
    inner: Arc<Inner>,
}

/// A stealer's end.
#[derive(Clone)]
pub(crate) struct Steal {
    inner: Arc<Inner>,
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// Makes a queue and its stealer handle.
pub(crate) fn local() -> (Steal, Local) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
        overflows: AtomicU64::new(0),
    });
    (
        Steal {
            inner: inner.clone(),
        },
        Local { inner },
    )
}

/// Where overflowing tasks go (the injector).
pub(crate) trait Overflow {
    fn push_batch(&self, tasks: impl Iterator<Item = Notified>);
}

impl Inner {
    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        self.tail.load(Ordering::Acquire).wrapping_sub(real) as usize
    }

    /// # Safety
    /// The slot at `index` holds a task that the caller has claimed.
    unsafe fn take(&self, index: u32) -> Notified {
        // SAFETY: the caller's claim makes this read exclusive.
        self.buffer[index as usize & MASK].with(|p| unsafe { (*p).assume_init_read() })
    }

    /// # Safety
    /// The slot at `index` is free and only the caller may write it.
    unsafe fn put(&self, index: u32, task: Notified) {
        // SAFETY: the caller's contract.
        self.buffer[index as usize & MASK].with_mut(|p| unsafe { (*p).write(task) });
    }
}

impl Local {
    /// Tasks in the queue (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Space left for `push_back_batch`-style refills.
    pub(crate) fn remaining(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Ordering::Acquire));
        let tail = self.inner.tail.load(Ordering::Relaxed);
        CAPACITY - tail.wrapping_sub(steal) as usize
    }

    /// Counts a push that found the queue full.
    fn count_overflow(&self) {
        let n = self.inner.overflows.load(Ordering::Relaxed);
        self.inner
            .overflows
            .store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Puts `task` at the tail if there is room; otherwise gives it back
    /// with the `(steal, real)` head and the tail it saw.
    #[inline(always)]
    fn try_put(&mut self, task: Notified) -> Result<(), (Notified, u32, u32, u32)> {
        let (steal, real) = unpack(self.inner.head.load(Ordering::Acquire));
        // Only this thread writes `tail`.
        let tail = self.inner.tail.load(Ordering::Relaxed);
        if (tail.wrapping_sub(steal) as usize) < CAPACITY {
            // SAFETY: slot `tail` is outside [steal, tail): free, and only
            // the owner writes free slots.
            unsafe { self.inner.put(tail, task) };
            self.inner
                .tail
                .store(tail.wrapping_add(1), Ordering::Release);
            return Ok(());
        }
        Err((task, steal, real, tail))
    }

    /// Pushes a task; if the queue is full, moves half of it (and the task)
    /// to `overflow`.
    #[inline]
    pub(crate) fn push_back(&mut self, task: Notified, overflow: &impl Overflow) {
        if let Err((task, ..)) = self.try_put(task) {
            self.push_back_full(task, overflow);
        }
    }

    /// [`push_back`](Local::push_back) when the queue looked full: out of
    /// line, so that the common case saves and restores few registers.
    #[cold]
    #[inline(never)]
    fn push_back_full(&mut self, mut task: Notified, overflow: &impl Overflow) {
        loop {
            let (t, steal, real, tail) = match self.try_put(task) {
                Ok(()) => return,
                Err(full) => full,
            };
            if steal != real {
                // A stealer is making room right now; don't wait for it.
                self.count_overflow();
                overflow.push_batch(std::iter::once(t));
                return;
            }
            match self.push_overflow(t, real, tail, overflow) {
                Ok(()) => {
                    self.count_overflow();
                    return;
                }
                // A stealer took some meanwhile: there may be room now.
                Err(t) => task = t,
            }
        }
    }

    /// Moves the older half of a full queue plus `task` to `overflow`.
    fn push_overflow(
        &mut self,
        task: Notified,
        head: u32,
        tail: u32,
        overflow: &impl Overflow,
    ) -> Result<(), Notified> {
        const HALF: u32 = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, CAPACITY);
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(HALF), head.wrapping_add(HALF));
        if self
            .inner
            .head
            .compare_exchange(prev, next, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // A stealer took some: there is room now.
            return Err(task);
        }
        let inner = &*self.inner;
        // SAFETY: the CAS claimed [head, head + HALF) for us alone.
        let batch = (0..HALF).map(move |i| unsafe { inner.take(head.wrapping_add(i)) });
        overflow.push_batch(batch.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops the oldest task.
    pub(crate) fn pop(&mut self) -> Option<Notified> {
        let mut head = self.inner.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            let tail = self.inner.tail.load(Ordering::Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: the CAS claimed slot `real`.
                Ok(_) => return Some(unsafe { self.inner.take(real) }),
                Err(actual) => head = actual,
            }
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Drop every task still queued (their references), unless unwinding
        // from a panic in this very code.
        if !std::thread::panicking() {
            while self.pop().is_some() {}
        }
    }
}

impl Steal {
    /// Tasks in the queue (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Pushes that overflowed so far.
    pub(crate) fn overflow_count(&self) -> u64 {
        self.inner.overflows.load(Ordering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Steals about half of this queue into `dst` and returns one of the
    /// stolen tasks to run at once.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<Notified> {
        let (dst_steal, _) = unpack(dst.inner.head.load(Ordering::Acquire));
        let dst_tail = dst.inner.tail.load(Ordering::Relaxed);
        // Only steal into a queue at most half full.
        if dst_tail.wrapping_sub(dst_steal) as usize > CAPACITY / 2 {
            return None;
        }
        let n = self.claim_half()?;
        let (first, _) = n;
        let count = n.1;
        // Copy all but the last into `dst`; the last is returned.
        for i in 0..count - 1 {
            // SAFETY: `claim_half` claimed [first, first + count) of the
            // source; the destination slots are free (checked above) and
            // `dst` is ours.
            unsafe {
                let t = self.inner.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), t);
            }
        }
        // SAFETY: as above, the last claimed slot.
        let last = unsafe { self.inner.take(first.wrapping_add(count - 1)) };
        // Release the claim: `steal` catches up with `real`.
        let mut head = self.inner.head.load(Ordering::Acquire);
        loop {
            let (_, real) = unpack(head);
            match self.inner.head.compare_exchange(
                head,
                pack(real, real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        if count > 1 {
            dst.inner
                .tail
                .store(dst_tail.wrapping_add(count - 1), Ordering::Release);
        }
        Some(last)
    }

    /// Claims ceil(len/2) tasks: returns (first index, count).
    fn claim_half(&self) -> Option<(u32, u32)> {
        let mut head = self.inner.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            if steal != real {
                // Another stealer is at work on this queue.
                return None;
            }
            let tail = self.inner.tail.load(Ordering::Acquire);
            let len = tail.wrapping_sub(real);
            let n = len - len / 2;
            if n == 0 {
                return None;
            }
            let next = pack(steal, real.wrapping_add(n));
            match self
                .inner
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some((real, n)),
                Err(actual) => head = actual,
            }
        }
    }
}

/// A worker's LIFO slot: one task, written by its owner, which a peer may
/// empty (a worker stuck in one task must not hold the task it woke last
/// hostage). Every transfer is one atomic swap, so each task put in is
/// taken out by exactly one caller; whatever is left is dropped with the
/// slot.
pub(crate) struct LifoSlot(AtomicPtr<()>);

impl LifoSlot {
    pub(crate) fn new() -> LifoSlot {
        LifoSlot(AtomicPtr::new(std::ptr::null_mut()))
    }

    fn from_ptr(ptr: *mut ()) -> Option<Notified> {
        // SAFETY: every non-null pointer in the slot came from
        // `Notified::into_ptr` in `replace`, and each swap hands it to
        // exactly one caller.
        (!ptr.is_null()).then(|| unsafe { Notified::from_ptr(ptr) })
    }

    /// Puts `task` in; returns the task it displaced, if any.
    pub(crate) fn replace(&self, task: Notified) -> Option<Notified> {
        LifoSlot::from_ptr(self.0.swap(task.into_ptr(), Ordering::AcqRel))
    }

    /// Takes the task out, if any (the owner, or a peer).
    ///
    /// An empty slot costs a load, not a swap (a locked instruction, which
    /// the owner would otherwise pay after every poll). Only the owner puts
    /// tasks in, so a slot the owner sees empty stays empty until it fills
    /// it; a peer that misses a task just put in looks again at its next
    /// watch.
    pub(crate) fn take(&self) -> Option<Notified> {
        if self.0.load(Ordering::Relaxed).is_null() {
            return None;
        }
        LifoSlot::from_ptr(self.0.swap(std::ptr::null_mut(), Ordering::AcqRel))
    }

    /// Whether a task is in the slot now.
    pub(crate) fn is_occupied(&self) -> bool {
        !self.0.load(Ordering::Acquire).is_null()
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::Mutex;
    use crate::task::{self, OwnedTasks, Schedule, Task};

    /// A scheduler that collects scheduled tasks (the queue tests never
    /// run them; they only move `Notified`s around).
    #[derive(Default)]
    struct Collect(Mutex<Vec<Notified>>);
    impl Overflow for Collect {
        fn push_batch(&self, tasks: impl Iterator<Item = Notified>) {
            self.0.lock().extend(tasks);
        }
    }

    struct NoSched;
    impl Schedule for Arc<NoSched> {
        fn schedule(&self, task: Notified) {
            drop(task);
        }
        fn release(&self, _task: &Task) -> Option<Task> {
            None
        }
    }

    fn tasks(owned: &OwnedTasks, n: usize) -> Vec<Notified> {
        (0..n)
            .map(|_| {
                let (notified, join) =
                    task::new_task(owned, async {}, Arc::new(NoSched), task::Meta::here());
                drop(join);
                notified.unwrap()
            })
            .collect()
    }

    fn cleanup(owned: OwnedTasks) {
        owned.close_and_shutdown();
    }

    #[cfg(not(runtime_loom))]
    #[test]
    fn fifo_order_and_overflow_moves_half() {
        let owned = OwnedTasks::new();
        let overflow = Collect::default();
        let (_steal, mut local) = local();
        let all = tasks(&owned, CAPACITY + 1);
        let ids: Vec<task::Id> = all.iter().map(|t| t.id()).collect();
        for t in all {
            local.push_back(t, &overflow);
        }
        // The oldest half and the newest task went to the injector.
        let spilled: Vec<task::Id> = overflow.0.lock().iter().map(|t| t.id()).collect();
        assert_eq!(spilled.len(), CAPACITY / 2 + 1);
        assert_eq!(&spilled[..CAPACITY / 2], &ids[..CAPACITY / 2]);
        assert_eq!(spilled[CAPACITY / 2], ids[CAPACITY]);
        let mut popped = Vec::new();
        while let Some(t) = local.pop() {
            popped.push(t.id());
        }
        assert_eq!(popped, &ids[CAPACITY / 2..CAPACITY]);
        overflow.0.lock().clear();
        cleanup(owned);
    }

    #[cfg(not(runtime_loom))]
    #[test]
    fn steal_takes_half_rounded_up() {
        let owned = OwnedTasks::new();
        let overflow = Collect::default();
        let (steal, mut a) = local();
        let (_s2, mut b) = local();
        for t in tasks(&owned, 7) {
            a.push_back(t, &overflow);
        }
        let got = steal.steal_into(&mut b).expect("something to steal");
        drop(got);
        assert_eq!(b.len(), 3, "4 stolen: 1 returned, 3 queued");
        assert_eq!(a.len(), 3);
        drop(a);
        drop(b);
        cleanup(owned);
    }

    #[cfg(not(runtime_loom))]
    #[test]
    fn lifo_slot_hands_each_task_out_once() {
        let owned = OwnedTasks::new();
        let mut all = tasks(&owned, 3);
        let ids: Vec<task::Id> = all.iter().map(|t| t.id()).collect();
        let slot = LifoSlot::new();
        assert!(!slot.is_occupied());
        assert!(slot.replace(all.remove(0)).is_none());
        assert!(slot.is_occupied());
        let displaced = slot
            .replace(all.remove(0))
            .expect("the first task comes back");
        assert_eq!(displaced.id(), ids[0]);
        assert_eq!(slot.take().map(|t| t.id()), Some(ids[1]));
        assert!(slot.take().is_none(), "taken twice");
        assert!(!slot.is_occupied());
        // A task left in the slot is released with it.
        assert!(slot.replace(all.remove(0)).is_none());
        drop(slot);
        drop(displaced);
        cleanup(owned);
    }

    #[cfg(runtime_loom)]
    #[test]
    fn loom_lifo_replace_vs_steal() {
        loom::model(|| {
            let owned = OwnedTasks::new();
            let mut all = tasks(&owned, 2);
            let mut ids: Vec<task::Id> = all.iter().map(|t| t.id()).collect();
            ids.sort_unstable();
            let slot = Arc::new(LifoSlot::new());
            assert!(slot.replace(all.remove(0)).is_none());
            let thief = {
                let slot = slot.clone();
                loom::thread::spawn(move || slot.take().map(|t| t.id()))
            };
            let mut got: Vec<task::Id> = slot
                .replace(all.remove(0))
                .map(|t| t.id())
                .into_iter()
                .collect();
            got.extend(thief.join().unwrap());
            got.extend(slot.take().map(|t| t.id()));
            got.sort_unstable();
            assert_eq!(got, ids, "each task comes out of the slot exactly once");
            cleanup(owned);
        });
    }

    #[cfg(runtime_loom)]
    #[test]
    fn loom_steal_vs_pop() {
        loom::model(|| {
            let owned = OwnedTasks::new();
            let overflow = Arc::new(Collect::default());
            let (steal, mut local) = local();
            for t in tasks(&owned, 3) {
                local.push_back(t, &*overflow);
            }
            let th = loom::thread::spawn(move || {
                let (_s, mut mine) = super::local();
                let mut n = 0;
                if steal.steal_into(&mut mine).is_some() {
                    n += 1;
                }
                while mine.pop().is_some() {
                    n += 1;
                }
                n
            });
            let mut n = 0;
            while local.pop().is_some() {
                n += 1;
            }
            n += th.join().unwrap();
            assert_eq!(n, 3, "every task is popped or stolen exactly once");
            cleanup(owned);
        });
    }

    #[cfg(runtime_loom)]
    #[test]
    fn loom_overflow_vs_steal() {
        loom::model(|| {
            let owned = OwnedTasks::new();
            let overflow = Arc::new(Collect::default());
            let (steal, mut local) = local();
            let mut all = tasks(&owned, CAPACITY + 2);
            for t in all.drain(..CAPACITY) {
                local.push_back(t, &*overflow);
            }
            let th = loom::thread::spawn(move || {
                let (_s, mut mine) = super::local();
                let mut n = usize::from(steal.steal_into(&mut mine).is_some());
                while mine.pop().is_some() {
                    n += 1;
                }
                n
            });
            for t in all {
                local.push_back(t, &*overflow);
            }
            let mut n = 0;
            while local.pop().is_some() {
                n += 1;
            }
            n += th.join().unwrap();
            n += overflow.0.lock().drain(..).count();
            assert_eq!(n, CAPACITY + 2, "no task lost or duplicated");
            cleanup(owned);
        });
    }
}
