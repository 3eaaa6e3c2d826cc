//! Synchronisation between tasks: channels (and, beside them, locks), with
//! tokio's names and semantics, so `tokio::sync` can be swapped for
//! `runtime::sync` without other changes.
//!
//! # Channels
//!
//! - [`mpsc`]: multi-producer, single-consumer queues, bounded
//!   ([`mpsc::channel`], whose capacity counts permits) or not
//!   ([`mpsc::unbounded_channel`]);
//! - [`oneshot`]: one value, sent once, from one task to another;
//! - [`broadcast`]: every value to every receiver, with lagging receivers
//!   told how many values they lost;
//! - [`watch`]: the latest value, and a wait for it to change.
//!
//! Every receive (and every wait for capacity) takes part in the
//! cooperative budget: a task looping on an always-ready receiver still
//! yields to the others. They work under any executor; the `blocking_*`
//! methods let a plain thread take part.
//!
//! # Locks and signals
//!
//! [`Semaphore`], [`Mutex`], [`RwLock`], [`Notify`], [`Barrier`] (built on
//! `Notify`), [`OnceCell`] (on the semaphore below: one initialiser at a
//! time) and [`SetOnce`] (on `Notify`).
//!
//! The locks are all built on one fair semaphore (`batch_semaphore.rs`): an
//! atomic permit count for the uncontended paths (one compare-and-swap to
//! lock, one to unlock, where tokio's unlock always takes the waiter lock)
//! and an intrusive FIFO queue of waiters living inside the waiting futures
//! (no allocation per wait). A dropped wait unlinks itself and passes on
//! what it was assigned, so every acquisition is cancel safe and first
//! come, first served, and takes part in the task's cooperative budget.
//! [`Notify`] has its own waiter list of the same kind (`notify.rs`, with
//! its protocol).
//!
//! Written here rather than on `async-lock`/`event-listener`: those do not
//! promise FIFO order (a newcomer may take the permits a woken waiter was
//! woken for, so a large `acquire_many` can starve), which tokio's
//! semantics rule out. Measured with `cargo run --release -p
//! runtime-benches --bin sync_locks -- --rounds 5 --ms 300` (2 workers
//! each, operations per second, a quiet 2-core machine; tables in
//! `benches/results/sync_locks.md`):
//!
//! | case | here | tokio on tokio | async-lock on `runtime` |
//! |---|---:|---:|---:|
//! | contended mutex (8 tasks) | 15 M | 7.4 M | 14 M |
//! | uncontended mutex | 52 M | 24 M | 76 M |
//! | contended semaphore (8 tasks, 2 permits) | 45 M | 2.5 M | 12 M |
//! | `Notify` ping-pong (round trips) | 9.4 M | 5.1 M | - |
//!
//! async-lock's mutex is unfair (a newcomer takes the lock ahead of woken
//! waiters, saving hand-offs), which is what it gains on some runs of the
//! contended case.
//!
//! # Shutdown
//!
//! [`CancellationToken`] (tokio-util's name and semantics): a signal shared
//! by clones and passed down to child tokens, the usual way to tell every
//! connection task of a server to stop.

mod barrier;
mod batch_semaphore;
mod block;
pub mod broadcast;
mod cancellation_token;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod set_once;
mod waker;
pub mod watch;

/// Runs `f` to completion on a loom thread, parking between polls (loom's
/// `futures` feature is off in this workspace).
#[cfg(all(test, runtime_loom))]
pub(crate) fn loom_block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(loom::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(loom::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        loom::thread::park();
    }
}
mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult};
pub use cancellation_token::{
    CancellationToken, DropGuard, DropGuardRef, WaitForCancellationFuture,
    WaitForCancellationFutureOwned,
};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

/// The named futures of this module.
pub mod futures {
    pub use super::notify::{Notified, OwnedNotified};
}
