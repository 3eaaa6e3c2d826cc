//! The thread-local view of "which runtime am I in".

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use crate::scheduler;

thread_local! {
    /// The handle of the runtime whose thread (or `block_on`) this is.
    static CURRENT: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
    /// How many [`SetCurrentGuard`]s are alive on this thread; each guard
    /// remembers its depth, so one dropped out of order is caught.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Whether this thread is inside `block_on` or is a worker (blocking
    /// here again would deadlock), and if so what `block_in_place` may do.
    /// `Copy` with a `const` initialiser: no destructor, so it stays
    /// readable during TLS destruction.
    static ENTERED: Cell<EnterRuntime> = const { Cell::new(EnterRuntime::NotEntered) };
}

/// Whether the thread drives a runtime now (`ENTERED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnterRuntime {
    /// Outside any runtime, or inside `block_in_place`: blocking is fine.
    NotEntered,
    /// A worker, or inside `block_on`.
    Entered {
        /// What `block_in_place` does here.
        block_in_place: BlockInPlace,
    },
}

/// What `block_in_place` does on a thread in runtime mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockInPlace {
    /// On a multi-thread runtime's worker (the worker's queue goes to a
    /// new thread first) or inside a multi-thread runtime's `block_on`
    /// (the tasks run on the workers): `f` blocks this thread.
    Allowed,
    /// Inside a current-thread runtime's `block_on`: refused, since every
    /// task of the runtime would stop.
    CurrentThread,
    /// A `LocalSet` is being polled or dropped inside a multi-thread
    /// runtime's `block_on`, off the worker threads
    /// ([`disallow_block_in_place`]): refused, as in tokio, since every
    /// task of the set would stop.
    LocalSet,
}

/// Restores the previous handle when dropped.
///
/// Guards nest: each must be dropped before the one made before it (the
/// runtime's own guards are scoped, so only a user's `EnterGuard`s can get
/// this wrong). Not `Send`: the thread-local it restores is this thread's.
#[derive(Debug)]
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
    /// This guard's place in the nesting (1 for the outermost); 0 for a
    /// guard made during TLS destruction, which changed nothing.
    depth: usize,
    _not_send: PhantomData<std::sync::MutexGuard<'static, ()>>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        if self.depth == 0 {
            return;
        }
        let depth = DEPTH.get();
        if depth != self.depth {
            if std::thread::panicking() {
                // A second panic would abort; leave the context as it is.
                return;
            }
            panic!(
                "`EnterGuard`s dropped out of order: the guards returned by `Runtime::enter` and \
                 `Handle::enter` must be dropped in the reverse order of their creation"
            );
        }
        DEPTH.set(depth - 1);
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Makes `handle` the current runtime of this thread until the guard drops.
///
/// During the thread's TLS destruction (a `Runtime` owned by a thread-local
/// and dropped by its destructor, after `CURRENT` is gone) this does
/// nothing: the caller runs without a current runtime instead of panicking
/// in a TLS destructor, which would abort the process.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    match CURRENT.try_with(|c| c.borrow_mut().replace(handle.clone())) {
        Ok(prev) => {
            let depth = DEPTH.get() + 1;
            DEPTH.set(depth);
            SetCurrentGuard {
                prev,
                depth,
                _not_send: PhantomData,
            }
        }
        Err(_) => SetCurrentGuard {
            prev: None,
            depth: 0,
            _not_send: PhantomData,
        },
    }
}

/// The current runtime's handle, if any.
pub(crate) fn current() -> Option<scheduler::Handle> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Runs `f` with the current runtime's handle, if any, without cloning it
/// (`None` also during the thread's TLS destruction). `f` must not change
/// the current runtime.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&scheduler::Handle>) -> R) -> R {
    let mut f = Some(f);
    let res = CURRENT.try_with(|c| match c.try_borrow() {
        Ok(h) => Some((f.take().expect("called once"))(h.as_ref())),
        Err(_) => None,
    });
    match res {
        Ok(Some(r)) => r,
        _ => (f.take().expect("called once"))(None),
    }
}

/// Marks the thread as driving a runtime until the guard drops.
#[derive(Debug)]
pub(crate) struct EnterRuntimeGuard {
    _private: (),
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        ENTERED.set(EnterRuntime::NotEntered);
    }
}

/// Enters "runtime mode" on this thread; `block_in_place` as in
/// [`EnterRuntime::Entered`].
///
/// # Panics
///
/// If the thread already drives a runtime: blocking it would stall every
/// task on it (and could deadlock), so this is refused loudly.
#[track_caller]
pub(crate) fn enter_runtime(block_in_place: BlockInPlace) -> EnterRuntimeGuard {
    let prev = ENTERED.replace(EnterRuntime::Entered { block_in_place });
    if prev != EnterRuntime::NotEntered {
        ENTERED.set(prev);
        panic!(
            "cannot block on a future from inside a runtime: this thread is already driving \
             asynchronous tasks (a `block_on` inside a task or inside another `block_on`). \
             Use `.await` instead, `spawn_blocking` to run blocking code elsewhere, or \
             `block_in_place` around the blocking call on a multi-thread runtime."
        );
    }
    EnterRuntimeGuard { _private: () }
}

/// This thread's runtime mode.
pub(crate) fn entered() -> EnterRuntime {
    ENTERED.get()
}

/// Leaves runtime mode while `f` runs (for `block_in_place`), so that `f`
/// may block, including on a nested `block_on`.
pub(crate) fn exit_runtime<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(EnterRuntime);
    impl Drop for Reset {
        fn drop(&mut self) {
            ENTERED.set(self.0);
        }
    }
    let _reset = Reset(ENTERED.replace(EnterRuntime::NotEntered));
    f()
}

/// Refuses `block_in_place` inside a multi-thread runtime's `block_on` on a
/// thread that is not one of its workers, until the guard drops (a
/// `LocalSet` holds one while it polls or drops its tasks). On a worker
/// thread (a task's poll, or a `block_on` nested in its `block_in_place`),
/// on a current-thread runtime and outside any runtime the mode is left as
/// it is; this is where tokio draws the line too.
pub(crate) fn disallow_block_in_place() -> DisallowBlockInPlaceGuard {
    let allowed = EnterRuntime::Entered {
        block_in_place: BlockInPlace::Allowed,
    };
    let flipped = ENTERED.get() == allowed && !scheduler::multi_thread::on_worker_thread();
    if flipped {
        ENTERED.set(EnterRuntime::Entered {
            block_in_place: BlockInPlace::LocalSet,
        });
    }
    DisallowBlockInPlaceGuard { flipped }
}

/// Made by [`disallow_block_in_place`]; allows it again when dropped.
#[derive(Debug)]
pub(crate) struct DisallowBlockInPlaceGuard {
    /// Whether this guard changed the mode (not one nested in another).
    flipped: bool,
}

impl Drop for DisallowBlockInPlaceGuard {
    fn drop(&mut self) {
        let refused = EnterRuntime::Entered {
            block_in_place: BlockInPlace::LocalSet,
        };
        if self.flipped && ENTERED.get() == refused {
            ENTERED.set(EnterRuntime::Entered {
                block_in_place: BlockInPlace::Allowed,
            });
        }
    }
}
