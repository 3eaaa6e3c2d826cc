//! The list of every live task of a scheduler, so shutdown can cancel them.

use slab::Slab;

use crate::shim::{AtomicBool, Mutex, Ordering};

use super::{Id, Task};

/// Shards of the list; a task lives in shard `id % SHARDS`, so spawns and
/// completions on different workers rarely contend on one lock.
/// (One under loom: ids come from a process-wide counter, and a shard that
/// differs between model iterations would make the model nondeterministic.)
const SHARDS: usize = if cfg!(runtime_loom) { 1 } else { 16 };

/// Every task bound to one scheduler and not yet complete.
#[derive(Debug)]
pub(crate) struct OwnedTasks {
    /// The tasks, by shard; a task's slot index is stored in its header.
    shards: Box<[Mutex<Slab<Task>>]>,
    /// Set at shutdown: no task may be bound afterwards.
    closed: AtomicBool,
}

impl OwnedTasks {
    pub(crate) fn new() -> OwnedTasks {
        OwnedTasks {
            shards: (0..SHARDS).map(|_| Mutex::new(Slab::new())).collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Slab<Task>> {
        &self.shards[(id.as_u64() % SHARDS as u64) as usize]
    }

    /// Adds a task; gives it back if the list is closed.
    pub(crate) fn bind(&self, task: Task) -> Result<(), Task> {
        let mut shard = self.shard(task.id()).lock();
        // Checked under the shard lock: `close_and_shutdown` takes every
        // shard lock after setting `closed`, so no task slips in after it.
        if self.closed.load(Ordering::SeqCst) {
            return Err(task);
        }
        let raw = task.raw();
        let index = shard.insert(task);
        // The index is published before any other thread can complete the
        // task: its first `Notified` is not queued yet.
        // A shard holds far fewer than 2^32 tasks (each is a heap cell of
        // a hundred bytes or more), so the index fits.
        raw.header()
            .owned_index
            .store(index as u32, Ordering::Relaxed);
        Ok(())
    }

    /// Removes a completed task, returning the list's reference.
    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        let index = task.raw().header().owned_index.load(Ordering::Relaxed) as usize;
        let mut shard = self.shard(task.id()).lock();
        match shard.get(index) {
            Some(t) if t.raw() == task.raw() => Some(shard.remove(index)),
            _ => None,
        }
    }

    /// Closes the list and cancels every task in it that is not running.
    /// Returns how many tasks were still bound.
    pub(crate) fn close_and_shutdown(&self) -> usize {
        self.closed.store(true, Ordering::SeqCst);
        let mut n = 0;
        for shard in self.shards.iter() {
            loop {
                // Take the tasks out first: cancelling drops futures, whose
                // `Drop` may complete other tasks and so re-enter this lock.
                let tasks: Vec<Task> = {
                    let mut shard = shard.lock();
                    shard.drain().collect()
                };
                if tasks.is_empty() {
                    break;
                }
                n += tasks.len();
                for task in tasks {
                    task.raw().shutdown();
                }
            }
        }
        n
    }

    /// The name of the live task `id`, if it has one (diagnostics: scans
    /// one shard under its lock).
    pub(crate) fn name_of(&self, id: Id) -> Option<String> {
        let shard = self.shard(id).lock();
        shard
            .iter()
            .find(|(_, t)| t.id() == id)
            .and_then(|(_, t)| t.meta().name().map(String::from))
    }

    /// Calls `f` with every bound task, one shard's lock held at a time
    /// (`f` must not spawn or complete tasks of this list).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Task)) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (_, task) in shard.iter() {
                f(task);
            }
        }
    }

    /// How many tasks are bound.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
