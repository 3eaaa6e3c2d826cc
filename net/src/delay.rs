//! A minimal "wake me at" service for the accept back-off, and nothing else.
//!
//! The listener types must wait a little after `accept` failed for lack of
//! file descriptors or memory (see [`crate::accept`]). That path is rare, so
//! instead of depending on the runtime's timer it uses one background std
//! thread, `runtime-net-delay`, started on first use: it keeps a min-heap of
//! `(deadline, waker)` and wakes each waker at its deadline. The thread
//! sleeps on a condition variable in between, so an idle or backing-off
//! process uses no CPU.
//!
//! It exists for that rare exhaustion path only, and should give way to the
//! reactor's timer wheel once that is available (see the `TODO(timer)` at
//! its one call site, in `accept.rs`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Instant;

/// The shared queue of pending wake-ups.
struct Queue {
    state: Mutex<State>,
    /// Signalled when an entry earlier than all others is added.
    changed: Condvar,
}

struct State {
    /// Pending wake-ups, earliest on top.
    heap: BinaryHeap<Entry>,
    /// Tie-breaker, so that entries with equal deadlines are distinct.
    seq: u64,
    /// Whether the thread is running.
    started: bool,
}

struct Entry {
    deadline: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Entry) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    QUEUE.get_or_init(|| Queue {
        state: Mutex::new(State {
            heap: BinaryHeap::new(),
            seq: 0,
            started: false,
        }),
        changed: Condvar::new(),
    })
}

/// Wakes `waker` at (or soon after) `deadline`.
///
/// If the background thread cannot be started (the process is out of
/// threads), `waker` is woken at once: the caller then polls again and
/// retries, which is a degraded but still progressing path.
pub(crate) fn wake_at(deadline: Instant, waker: Waker) {
    let q = queue();
    let mut state = q.state.lock().unwrap_or_else(PoisonError::into_inner);
    if !state.started {
        let spawned = std::thread::Builder::new()
            .name("runtime-net-delay".into())
            .spawn(move || q.run());
        if spawned.is_err() {
            drop(state);
            waker.wake();
            return;
        }
        state.started = true;
    }
    let earliest = state.heap.peek().is_none_or(|e| deadline < e.deadline);
    state.seq += 1;
    let seq = state.seq;
    state.heap.push(Entry {
        deadline,
        seq,
        waker,
    });
    drop(state);
    if earliest {
        q.changed.notify_one();
    }
}

impl Queue {
    /// The thread's loop: wake what is due, sleep until the next deadline.
    fn run(&self) {
        let mut due = Vec::new();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            while state.heap.peek().is_some_and(|e| e.deadline <= now) {
                due.extend(state.heap.pop().map(|e| e.waker));
            }
            if !due.is_empty() {
                drop(state);
                for waker in due.drain(..) {
                    // A panicking waker must not stop the others.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
                }
                state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state = match state.heap.peek().map(|e| e.deadline) {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(now);
                    self.changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Flag(AtomicUsize, std::thread::Thread);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, AtomicOrdering::SeqCst);
            self.1.unpark();
        }
    }

    #[test]
    fn wakes_in_deadline_order_and_not_before() {
        let late = Arc::new(Flag(AtomicUsize::new(0), std::thread::current()));
        let early = Arc::new(Flag(AtomicUsize::new(0), std::thread::current()));
        let start = Instant::now();
        wake_at(start + Duration::from_millis(40), Waker::from(late.clone()));
        wake_at(
            start + Duration::from_millis(10),
            Waker::from(early.clone()),
        );
        while early.0.load(AtomicOrdering::SeqCst) == 0 {
            std::thread::park_timeout(Duration::from_millis(50));
        }
        assert!(start.elapsed() >= Duration::from_millis(10));
        while late.0.load(AtomicOrdering::SeqCst) == 0 {
            std::thread::park_timeout(Duration::from_millis(50));
        }
        assert!(start.elapsed() >= Duration::from_millis(40));
    }
}
