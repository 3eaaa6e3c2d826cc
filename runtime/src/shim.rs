//! The shared-state primitives of the scheduler and the tasks: the reactor
//! crate's loom shim (`runtime_reactor::sync`), one shim for both crates.
//!
//! Under `cfg(runtime_loom)` they are loom's, so the models beside the lock-free
//! code (the task state word, the local run queue and LIFO slot, the
//! parker) explore its interleavings; otherwise `std`'s and `parking_lot`'s.

#[allow(unused_imports)]
pub(crate) use runtime_reactor::sync::{
    fence, Arc, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Condvar, Mutex,
    MutexGuard, Ordering, UnsafeCell,
};
