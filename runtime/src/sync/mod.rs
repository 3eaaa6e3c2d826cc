//! Synchronisation between tasks, with tokio's names and semantics.
//!
//! # Locks and signals
//!
//! [`Semaphore`], [`Mutex`], [`RwLock`], [`Notify`], [`Barrier`] and
//! [`OnceCell`]. The locks are all built on one fair semaphore
//! (`batch_semaphore.rs`): an atomic permit count for the uncontended paths
//! (one compare-and-swap to lock, one to unlock) and an intrusive FIFO queue
//! of waiters living inside the waiting futures (no allocation per wait).
//! A dropped wait unlinks itself and passes on what it was assigned, so
//! every acquisition is cancel safe and first come, first served, and takes
//! part in the task's cooperative budget.

mod barrier;
mod batch_semaphore;
mod blocking;
mod mutex;
mod notify;
mod once_cell;
mod rwlock;
mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

/// The named futures of this module.
pub mod futures {
    pub use super::notify::Notified;
}
