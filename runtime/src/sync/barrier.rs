//! [`Barrier`]: tasks wait until a set number of them have arrived.

use std::fmt;
use std::pin::pin;

use super::notify::Notify;
use crate::shim::Mutex;

/// Lets a set number of tasks wait for each other: the first `n - 1` tasks
/// that call [`wait`](Barrier::wait) wait, and the `n`-th wakes them all
/// and is the leader. The barrier then starts over.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Barrier;
///
/// #[runtime::main]
/// async fn main() {
///     let barrier = Arc::new(Barrier::new(4));
///     let mut tasks = Vec::new();
///     for _ in 0..4 {
///         let b = barrier.clone();
///         tasks.push(runtime::spawn(async move { b.wait().await.is_leader() }));
///     }
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// }
/// ```
pub struct Barrier {
    /// Arrivals in the current round and the number of completed rounds.
    state: Mutex<BarrierState>,
    n: usize,
    /// The leader's `notify_waiters` releases the round.
    release: Notify,
}

struct BarrierState {
    arrived: usize,
    generation: usize,
}

/// What [`Barrier::wait`] returns: whether this task was the leader.
#[derive(Debug, Clone)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the one that completed the round (exactly one
    /// task per round is).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks (`0` is taken as `1`: `wait` never waits).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 0,
            }),
            n: n.max(1),
            release: Notify::new(),
        }
    }

    /// Waits until `n` tasks have called `wait` in this round.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a task whose wait is dropped still counts as
    /// arrived for its round.
    pub async fn wait(&self) -> BarrierWaitResult {
        let released = {
            let mut st = self.state.lock();
            st.arrived += 1;
            if st.arrived == self.n {
                st.arrived = 0;
                st.generation = st.generation.wrapping_add(1);
                drop(st);
                self.release.notify_waiters();
                return BarrierWaitResult(true);
            }
            // Created under the lock, so before the leader's
            // `notify_waiters`: it receives it even if polled later.
            self.release.notified()
        };
        pin!(released).await;
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
