//! The hierarchical timing wheel: six levels of 64 slots, one tick per
//! millisecond.
//!
//! This is the hierarchical scheme of G. Varghese and T. Lauck, "Hashed and
//! Hierarchical Timing Wheels: Data Structures for the Efficient
//! Implementation of a Timer Facility" (SOSP 1987; IEEE/ACM Transactions on
//! Networking 5(6), 1997), in the shape tokio uses: level `l` has 64 slots of
//! `64^l` ticks each, so level 0 covers the next 64 ms one millisecond per
//! slot, level 1 the next ~4 s, …, level 5 about 2.2 years
//! ([`MAX_DURATION`]). An entry is stored at the lowest level whose slot
//! width still separates its tick from the current one; when the wheel
//! reaches a slot of a higher level, the entries in it move down
//! ("cascade") to the level that now separates them, until they reach a
//! slot they expire in. Insert and remove are O(1); advancing costs O(1)
//! per slot visited (found with one bit scan of a per-level occupancy word)
//! plus O(levels) cascades per entry over its whole life.
//!
//! Deadlines further away than the top level covers are stored in the top
//! level's slot for their tick (the top level is treated as a ring) and
//! re-inserted each time the wheel passes that slot, until they are due.
//!
//! The wheel is a plain data structure over intrusive lists of
//! [`Node`]s: it stores no `Waker`, takes no lock and knows no clock. Its
//! owner ([`Timers`](super::Timers)) keeps it behind a mutex; holding
//! `&mut Wheel` therefore means holding that lock, which is what makes
//! touching a linked node's [`NodeData`] sound.
//!
//! # Invariants
//!
//! - Every node reachable from `levels` or `pending` is live and pinned, and
//!   its `location` names the list it is in. (Established by
//!   [`Wheel::insert`]'s contract: the node's owner removes it, under the
//!   lock, before it is dropped or moved.)
//! - A node in `levels[l].slots[s]` has `s == slot_for(when, l)` and `when >
//!   elapsed`; bit `s` of `levels[l].occupied` is set iff that slot is
//!   non-empty.
//! - `pending` holds nodes whose tick is `<= elapsed`, taken out of a slot
//!   but not yet handed out by [`Wheel::poll`].

use std::fmt;
use std::ptr::NonNull;

use super::entry::{Node, NodeData};
use crate::linked_list::{Link, Pointers};

/// Levels of the wheel.
pub(crate) const NUM_LEVELS: usize = 6;
/// Slots per level, and the factor between the slot widths of two levels.
const LEVEL_MULT: usize = 64;
/// Bits of a tick that index the slots of one level.
const LEVEL_BITS: u32 = 6;
/// The largest distance (in ticks) between the current tick and a deadline
/// that the wheel represents exactly: `64^6 - 1` ms, about 2.2 years.
/// Deadlines further out ride the top level round by round.
pub(crate) const MAX_DURATION: u64 = (1 << (LEVEL_BITS as usize * NUM_LEVELS)) - 1;

/// `location` of a node in the pending list.
pub(crate) const PENDING: u16 = u16::MAX;
/// `location` of a node in no list.
pub(crate) const NOWHERE: u16 = u16::MAX - 1;

/// Runs `f` on the wheel-guarded data of `node`.
///
/// # Safety
///
/// `node` is live, the caller holds the wheel lock that guards it (see
/// [`NodeData`]), and no other reference to its data is live (`f` must not
/// call back into this function for the same node).
pub(crate) unsafe fn data<R>(node: NonNull<Node>, f: impl FnOnce(&mut NodeData) -> R) -> R {
    // SAFETY: `node` is live (caller); a shared reference to the node itself
    // is fine even while its owner holds a `Pin<&mut>` to the containing
    // entry, because `Node` is `!Unpin` (`PhantomPinned`), which exempts it
    // from `&mut` uniqueness. The data is guarded by the wheel lock, which
    // the caller holds, so this is the only access to it.
    unsafe { node.as_ref().data.with_mut(|p| f(&mut *p)) }
}

/// The wheel's lists: intrusive lists of timer nodes, guarded by the wheel
/// lock.
type List = crate::linked_list::List<Node>;

impl Link for Node {
    unsafe fn pointers<R>(node: NonNull<Node>, f: impl FnOnce(&mut Pointers<Node>) -> R) -> R {
        // SAFETY: the caller holds the wheel lock that guards the node's
        // data, and the node is live (`Link::pointers`' contract).
        unsafe { data(node, |d| f(&mut d.pointers)) }
    }
}

/// One level: 64 slots and a bit per slot saying whether it is occupied.
struct Level {
    /// Which level this is (slot width `64^level` ticks).
    level: usize,
    /// Bit `s` is set iff `slots[s]` is non-empty.
    occupied: u64,
    slots: [List; LEVEL_MULT],
}

/// The next slot to process: its level, index and the tick it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiration {
    level: usize,
    slot: usize,
    deadline: u64,
}

/// Ticks covered by one slot of `level`.
fn slot_range(level: usize) -> u64 {
    1 << (LEVEL_BITS as usize * level)
}

/// Ticks covered by all of `level`.
fn level_range(level: usize) -> u64 {
    1 << (LEVEL_BITS as usize * (level + 1))
}

/// The slot of `level` that tick `when` falls in.
fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (LEVEL_BITS as usize * level)) % LEVEL_MULT as u64) as usize
}

/// The level at which a deadline `when` is stored while the wheel is at
/// `elapsed`: the level of the most significant bit in which they differ
/// (six bits per level), capped at the top level.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << LEVEL_BITS) - 1;
    // The low bits are masked in so that `when == elapsed` maps to level 0.
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_DURATION {
        // Beyond the top level: ride the top level as a ring.
        masked = MAX_DURATION - 1;
    }
    let significant = 63 - masked.leading_zeros() as usize;
    significant / LEVEL_BITS as usize
}

impl Level {
    fn new(level: usize) -> Level {
        Level {
            level,
            occupied: 0,
            slots: std::array::from_fn(|_| List::default()),
        }
    }

    /// The first occupied slot after the one `now` falls in (wrapping
    /// around), and the tick it starts at.
    ///
    /// The slot of `now` itself is searched last: a slot is processed (and
    /// emptied) when the wheel reaches its start, so while `now` is inside
    /// it, it can only hold top-level deadlines of a later round, which come
    /// after every other slot of this round.
    fn next_expiration(&self, now: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let now_slot = (now / slot_range(self.level)) % LEVEL_MULT as u64;
        let start = (now_slot + 1) as u32;
        let rotated = self.occupied.rotate_right(start);
        let slot = (rotated.trailing_zeros() + start) as usize % LEVEL_MULT;
        let level_range = level_range(self.level);
        let level_start = now & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range(self.level);
        if deadline <= now {
            // Only the top level wraps: a slot "before" now holds deadlines
            // of the next round (see `level_for`).
            debug_assert_eq!(self.level, NUM_LEVELS - 1, "a lower level wrapped");
            deadline += level_range;
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }

    /// # Safety
    ///
    /// The wheel lock is held; `node` is live and in no list.
    unsafe fn add(&mut self, node: NonNull<Node>, when: u64) {
        let slot = slot_for(when, self.level);
        // SAFETY: the caller's contract.
        unsafe {
            data(node, |d| {
                d.when = when;
                d.location = (self.level * LEVEL_MULT + slot) as u16;
            });
            self.slots[slot].push_front(node);
        }
        self.occupied |= 1 << slot;
    }

    /// # Safety
    ///
    /// The wheel lock is held and `node` is in `slots[slot]`.
    unsafe fn remove(&mut self, node: NonNull<Node>, slot: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.slots[slot].remove(node) };
        if self.slots[slot].is_empty() {
            self.occupied &= !(1 << slot);
        }
    }

    fn take_slot(&mut self, slot: usize) -> List {
        self.occupied &= !(1 << slot);
        std::mem::take(&mut self.slots[slot])
    }
}

/// The timing wheel (see the module docs).
pub(crate) struct Wheel {
    /// The tick up to which the wheel has been advanced: every deadline
    /// `<= elapsed` has been taken out of the slots.
    elapsed: u64,
    levels: [Level; NUM_LEVELS],
    /// Expired nodes taken out of their slot, not yet handed out by `poll`.
    pending: List,
    /// Linked nodes (slots and pending), for leak checks.
    len: usize,
}

// SAFETY: the raw node pointers are only dereferenced through `&mut Wheel`,
// i.e. by whichever thread holds the lock the wheel lives behind, and they
// point to nodes that stay live until unlinked under that lock (invariant
// above). The nodes' data (`NodeData`: links, a tick and a `Waker`) is
// itself `Send`.
unsafe impl Send for Wheel {}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(Level::new),
            pending: List::default(),
            len: 0,
        }
    }

    /// The tick the wheel has been advanced to.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// How many nodes are linked.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Links `node` to expire at tick `when`.
    ///
    /// Returns `false` (and links nothing) if `when <= elapsed`: the
    /// deadline has passed, the caller treats the timer as fired.
    ///
    /// # Safety
    ///
    /// `node` is live and in no list, and stays live and pinned until it is
    /// unlinked again, by [`remove`](Wheel::remove) or by
    /// [`poll`](Wheel::poll) handing it out, under the lock that guards
    /// this wheel. It is not linked into another wheel meanwhile.
    pub(crate) unsafe fn insert(&mut self, node: NonNull<Node>, when: u64) -> bool {
        if when <= self.elapsed {
            return false;
        }
        let level = level_for(self.elapsed, when);
        // SAFETY: the caller's contract.
        unsafe { self.levels[level].add(node, when) };
        self.len += 1;
        true
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    ///
    /// `node` is linked in this wheel (inserted and not yet handed out by
    /// `poll`).
    pub(crate) unsafe fn remove(&mut self, node: NonNull<Node>) {
        // SAFETY: `node` is linked, so live (invariant); the lock is held
        // (`&mut self`).
        let location = unsafe { data(node, |d| std::mem::replace(&mut d.location, NOWHERE)) };
        if location == PENDING {
            // SAFETY: `location` says it is in `pending`.
            unsafe { self.pending.remove(node) };
        } else {
            debug_assert_ne!(location, NOWHERE, "removing an unlinked node");
            let (level, slot) = (
                location as usize / LEVEL_MULT,
                location as usize % LEVEL_MULT,
            );
            // SAFETY: `location` names the slot it is in.
            unsafe { self.levels[level].remove(node, slot) };
        }
        self.len -= 1;
    }

    /// The tick at which the wheel next has work: an expired node waiting
    /// in `pending` (then `elapsed`), or the start of the next occupied
    /// slot. A slot of a higher level may start before the first deadline in
    /// it (processing it only cascades), so this is a lower bound of the
    /// next deadline, never later than it.
    pub(crate) fn next_expiration_tick(&self) -> Option<u64> {
        if !self.pending.is_empty() {
            return Some(self.elapsed);
        }
        self.next_expiration().map(|e| e.deadline)
    }

    fn next_expiration(&self) -> Option<Expiration> {
        // The lowest occupied level always has the earliest slot: a level
        // holds only deadlines beyond the current slot of every level
        // below it.
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// Advances the wheel towards tick `now` and unlinks and returns one
    /// node whose tick is `<= now`, or `None` when none is left (the wheel
    /// is then at `now`). Nodes come out in the order of their ticks.
    ///
    /// # Safety
    ///
    /// None beyond the wheel invariants (the lock is held: `&mut self`); it
    /// is `unsafe` because it dereferences the linked nodes.
    pub(crate) unsafe fn poll(&mut self, now: u64) -> Option<NonNull<Node>> {
        loop {
            // SAFETY: the lock is held; nodes in `pending` are live.
            if let Some(node) = unsafe { self.pending.pop_back() } {
                // SAFETY: `node` was just unlinked and is still live.
                unsafe { data(node, |d| d.location = NOWHERE) };
                self.len -= 1;
                return Some(node);
            }
            match self.next_expiration() {
                Some(exp) if exp.deadline <= now => {
                    // SAFETY: the lock is held.
                    unsafe { self.process_expiration(exp) };
                    self.elapsed = exp.deadline;
                }
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Empties the slot of `exp`: nodes due by its start go to `pending`,
    /// the others cascade to the level that now separates their tick from
    /// the slot's start.
    ///
    /// # Safety
    ///
    /// The lock is held.
    unsafe fn process_expiration(&mut self, exp: Expiration) {
        let mut entries = self.levels[exp.level].take_slot(exp.slot);
        // SAFETY: every node of the slot is live (invariant); each is
        // unlinked from `entries` before it is linked elsewhere.
        unsafe {
            while let Some(node) = entries.pop_back() {
                let when = data(node, |d| d.when);
                if when <= exp.deadline {
                    data(node, |d| d.location = PENDING);
                    self.pending.push_front(node);
                } else {
                    let level = level_for(exp.deadline, when);
                    debug_assert!(level < exp.level || exp.level == NUM_LEVELS - 1);
                    self.levels[level].add(node, when);
                }
            }
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::pin::Pin;

    fn nodes(n: usize) -> Vec<Pin<Box<Node>>> {
        (0..n).map(|_| Box::pin(Node::new())).collect()
    }

    fn ptr(node: &Pin<Box<Node>>) -> NonNull<Node> {
        NonNull::from(&**node)
    }

    fn when_of(node: NonNull<Node>) -> u64 {
        // SAFETY: test nodes outlive the wheel's use; single-threaded.
        unsafe { data(node, |d| d.when) }
    }

    fn location_of(node: &Pin<Box<Node>>) -> u16 {
        // SAFETY: as above.
        unsafe { data(ptr(node), |d| d.location) }
    }

    /// Polls every node due by `now`.
    fn drain(wheel: &mut Wheel, now: u64) -> Vec<NonNull<Node>> {
        let mut out = Vec::new();
        // SAFETY: all linked nodes are alive in the test.
        while let Some(n) = unsafe { wheel.poll(now) } {
            out.push(n);
        }
        out
    }

    #[test]
    fn level_for_picks_the_separating_level() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, 1 << 18), 3);
        assert_eq!(level_for(0, 1 << 24), 4);
        assert_eq!(level_for(0, 1 << 30), 5);
        assert_eq!(level_for(0, MAX_DURATION - 1), 5);
        // Beyond the top level: clamped to the top level.
        assert_eq!(level_for(0, MAX_DURATION), 5);
        assert_eq!(level_for(0, u64::MAX), 5);
        // Relative to elapsed, not to zero.
        assert_eq!(level_for(100, 101), 0);
        assert_eq!(level_for(63, 64), 1);
    }

    #[test]
    fn entries_go_to_their_level_and_slot() {
        let ns = nodes(4);
        let mut wheel = Wheel::new();
        let whens = [5, 64 * 3 + 1, 4096 * 2, MAX_DURATION + 7];
        for (n, &w) in ns.iter().zip(&whens) {
            // SAFETY: the nodes outlive the wheel's use of them.
            assert!(unsafe { wheel.insert(ptr(n), w) });
        }
        assert_eq!(location_of(&ns[0]), 5);
        assert_eq!(location_of(&ns[1]), 64 + 3);
        assert_eq!(location_of(&ns[2]), 2 * 64 + 2);
        let top = location_of(&ns[3]) as usize;
        assert_eq!(top / 64, 5, "far deadlines are clamped to the top level");
        assert_eq!(wheel.len(), 4);
        for n in &ns {
            // SAFETY: each is linked.
            unsafe { wheel.remove(ptr(n)) };
        }
        assert_eq!(wheel.len(), 0);
        assert!(wheel.levels.iter().all(|l| l.occupied == 0));
    }

    #[test]
    fn past_deadlines_are_refused() {
        let ns = nodes(1);
        let mut wheel = Wheel::new();
        assert!(drain(&mut wheel, 10).is_empty());
        assert_eq!(wheel.elapsed(), 10);
        // SAFETY: the node outlives the wheel's use.
        assert!(!unsafe { wheel.insert(ptr(&ns[0]), 10) });
        // SAFETY: as above.
        assert!(!unsafe { wheel.insert(ptr(&ns[0]), 3) });
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn nothing_fires_before_its_tick() {
        let ns = nodes(1);
        let mut wheel = Wheel::new();
        // SAFETY: the node outlives the wheel's use.
        assert!(unsafe { wheel.insert(ptr(&ns[0]), 5000) });
        assert_eq!(wheel.next_expiration_tick(), Some(4096));
        for now in [1, 63, 64, 4095, 4096, 4999] {
            assert!(drain(&mut wheel, now).is_empty(), "fired at {now}");
        }
        // Cascaded down to level 0 on the way.
        assert_eq!(location_of(&ns[0]) as usize / 64, 0);
        assert_eq!(wheel.next_expiration_tick(), Some(5000));
        assert_eq!(drain(&mut wheel, 5000), vec![ptr(&ns[0])]);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn cascades_through_every_level() {
        // One deadline per level, each just past a slot boundary.
        let whens: Vec<u64> = (0..NUM_LEVELS).map(|l| 3 * slot_range(l) + 1).collect();
        let ns = nodes(whens.len());
        let mut wheel = Wheel::new();
        for (n, &w) in ns.iter().zip(&whens) {
            // SAFETY: the nodes outlive the wheel's use.
            assert!(unsafe { wheel.insert(ptr(n), w) });
        }
        let mut fired = Vec::new();
        let mut now = 0;
        // Jump from deadline to deadline, as the reactor would.
        while let Some(next) = wheel.next_expiration_tick() {
            assert!(next > now || !wheel.pending.is_empty());
            now = next;
            for n in drain(&mut wheel, now) {
                assert!(when_of(n) <= now, "fired early");
                assert_eq!(when_of(n), now, "fired late");
                fired.push(when_of(n));
            }
        }
        assert_eq!(fired, whens);
    }

    #[test]
    fn far_deadlines_ride_the_top_level_until_due() {
        let ns = nodes(2);
        let mut wheel = Wheel::new();
        let far = 3 * MAX_DURATION + 12345;
        // SAFETY: the nodes outlive the wheel's use.
        unsafe {
            assert!(wheel.insert(ptr(&ns[0]), far));
            assert!(wheel.insert(ptr(&ns[1]), MAX_DURATION));
        }
        assert!(drain(&mut wheel, MAX_DURATION - 1).is_empty());
        assert_eq!(drain(&mut wheel, MAX_DURATION), vec![ptr(&ns[1])]);
        assert!(drain(&mut wheel, far - 1).is_empty());
        assert_eq!(drain(&mut wheel, far), vec![ptr(&ns[0])]);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn fires_in_deadline_order_with_removals() {
        // xorshift, fixed seed.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let ns = nodes(2000);
        let mut wheel = Wheel::new();
        let mut linked = vec![false; ns.len()];
        for (i, n) in ns.iter().enumerate() {
            // Spread over all levels and beyond the top one (2^36 ticks).
            let span = 1u64 << (rand() % 40);
            let when = 1 + rand() % span;
            // SAFETY: the nodes outlive the wheel's use.
            assert!(unsafe { wheel.insert(ptr(n), when) });
            linked[i] = true;
        }
        // Remove every third.
        for (i, n) in ns.iter().enumerate().step_by(3) {
            // SAFETY: linked.
            unsafe { wheel.remove(ptr(n)) };
            linked[i] = false;
        }
        let mut last = 0;
        let mut fired = 0;
        let mut now = 0;
        while wheel.len() > 0 {
            // Advance by random strides, or straight to the next slot (as
            // the reactor does when it sleeps until the next deadline).
            now = match wheel.next_expiration_tick() {
                Some(next) if rand() % 2 == 0 => next.max(now),
                _ => now + 1 + rand() % (1 << (rand() % 24)),
            };
            for n in drain(&mut wheel, now) {
                let w = when_of(n);
                assert!(w <= now, "fired early: {w} > {now}");
                assert!(w >= last, "out of order: {w} after {last}");
                last = w;
                fired += 1;
            }
        }
        assert_eq!(fired, linked.iter().filter(|l| **l).count());
    }

    /// Regression: a top-level slot holding a deadline of a later round
    /// while the wheel is inside that slot must not hide the other slots of
    /// this round (it once made the next expiration a full round late).
    #[test]
    fn a_later_round_in_the_current_top_slot_does_not_delay_others() {
        let ns = nodes(2);
        let mut wheel = Wheel::new();
        let top = slot_range(NUM_LEVELS - 1);
        // SAFETY: the nodes outlive the wheel's use.
        unsafe {
            // Slot 0 of the top level, one round later.
            assert!(wheel.insert(ptr(&ns[0]), level_range(NUM_LEVELS - 1) + 5));
            // Slot 2 of the top level, this round.
            assert!(wheel.insert(ptr(&ns[1]), 2 * top + 7));
        }
        assert_eq!(wheel.next_expiration_tick(), Some(2 * top));
        assert!(drain(&mut wheel, 2 * top + 6).is_empty());
        assert_eq!(drain(&mut wheel, 2 * top + 7), vec![ptr(&ns[1])]);
        assert_eq!(
            wheel.next_expiration_tick(),
            Some(level_range(NUM_LEVELS - 1))
        );
        assert_eq!(
            drain(&mut wheel, level_range(NUM_LEVELS - 1) + 5),
            vec![ptr(&ns[0])]
        );
    }

    #[test]
    fn remove_from_pending() {
        let ns = nodes(3);
        let mut wheel = Wheel::new();
        // SAFETY: the nodes outlive the wheel's use.
        unsafe {
            for n in &ns {
                assert!(wheel.insert(ptr(n), 70));
            }
            // One comes out; the other two wait in `pending`.
            let first = wheel.poll(100).unwrap();
            assert_eq!(first, ptr(&ns[0]));
            assert_eq!(location_of(&ns[1]), PENDING);
            wheel.remove(ptr(&ns[1]));
            assert_eq!(wheel.poll(100), Some(ptr(&ns[2])));
            assert_eq!(wheel.poll(100), None);
        }
        assert_eq!(wheel.len(), 0);
    }
}
