//! Who is searching for work and who is parked.
//!
//! One atomic word counts searching workers (low half) and unparked workers
//! (high half). At most half of the workers search at once (searching is
//! costly: it touches every other queue), and a wake-up unparks a worker
//! only when nobody is searching already: a searcher will find the new task,
//! and if it takes the last one it wakes a peer itself.

use crate::shim::{AtomicUsize, Mutex, Ordering};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;
/// The most workers the counters can hold.
pub(crate) const MAX_WORKERS: usize = SEARCH_MASK - 1;

#[derive(Debug)]
pub(crate) struct Idle {
    /// `unparked << 16 | searching`.
    state: AtomicUsize,
    /// Parked workers, by index.
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers <= MAX_WORKERS);
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn searching(state: usize) -> usize {
        state & SEARCH_MASK
    }

    fn unparked(state: usize) -> usize {
        state >> UNPARK_SHIFT
    }

    /// If a parked worker should be woken for new work, picks one, counts it
    /// as unparked and searching, and returns its index.
    /// `except` names a worker that must not be picked: one that is listed
    /// as parked but is in fact awake inside the reactor, dispatching the
    /// very events that call for help.
    pub(crate) fn worker_to_notify(&self, except: Option<usize>) -> Option<usize> {
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_notify() {
            return None;
        }
        let pos = sleepers.iter().rposition(|&w| Some(w) != except)?;
        let worker = sleepers.swap_remove(pos);
        self.state
            .fetch_add((1 << UNPARK_SHIFT) | 1, Ordering::SeqCst);
        Some(worker)
    }

    fn should_notify(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        Idle::searching(state) == 0 && Idle::unparked(state) < self.num_workers
    }

    /// A worker wants to search; refused if half of them already do.
    pub(crate) fn transition_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * Idle::searching(state) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching worker found work or gives up; returns whether it was the
    /// last searcher (then it must wake a peer if work may remain).
    pub(crate) fn transition_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(Idle::searching(prev) > 0);
        Idle::searching(prev) == 1
    }

    /// A worker parks; returns whether it was the last searcher.
    pub(crate) fn transition_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(worker);
        is_searching && Idle::searching(prev) == 1
    }

    /// A parked worker woke up on its own (spurious, timeout or shutdown):
    /// if it is still listed as a sleeper, unlist it and count it unparked.
    /// Returns `true` if it had been unlisted by a notifier already (it is
    /// then counted as searching).
    pub(crate) fn unpark_self(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }
}
