//! Unit tests of `LocalSet` with no runtime: a minimal `block_on` drives
//! the set, plain threads wake its tasks. They run under `miri`
//! (`cargo +nightly miri test -p runtime --lib task::`), which checks that
//! no local future is touched off its thread in a way that races, and that
//! nothing is freed twice or leaked.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use super::{spawn_local, LocalSet, MAX_TASKS_PER_TICK};

/// Wakes a parked thread; counts wake-ups.
struct ThreadWaker {
    thread: thread::Thread,
    woken: AtomicBool,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn thread_waker() -> Arc<ThreadWaker> {
    Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
        wakes: AtomicUsize::new(0),
    })
}

/// Polls `future` on this thread until it completes, parking in between.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let tw = thread_waker();
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        while !tw.woken.swap(false, Ordering::SeqCst) {
            thread::park();
        }
    }
}

/// A future that is pending until `fire` is called (from any thread); it
/// keeps the latest waker where `fire` finds it.
#[derive(Clone, Default)]
struct Trigger(Arc<Mutex<(bool, Option<Waker>)>>);

impl Trigger {
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.0.clone();
        poll_fn(move |cx| {
            let mut g = inner.lock().unwrap();
            if g.0 {
                return Poll::Ready(());
            }
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn has_waiter(&self) -> bool {
        self.0.lock().unwrap().1.is_some()
    }

    fn fire(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// Records the thread it is dropped on.
struct DropOn(Rc<RefCell<Vec<ThreadId>>>);

impl Drop for DropOn {
    fn drop(&mut self) {
        self.0.borrow_mut().push(thread::current().id());
    }
}

/// Returns `Pending` once (waking itself), then `Ready`.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[test]
fn rc_tasks_share_state_and_run_until_returns_the_output() {
    let local = LocalSet::new();
    let state = Rc::new(RefCell::new(Vec::new()));
    let out = block_on(local.run_until(async {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let state = state.clone();
                spawn_local(async move {
                    yield_once().await;
                    state.borrow_mut().push(i);
                    i * 2
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    }));
    assert_eq!(out, 90);
    let mut seen = state.borrow().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_wake_from_another_thread_runs_the_task_on_the_owner() {
    let owner = thread::current().id();
    let local = LocalSet::new();
    let trigger = Trigger::default();
    let ran_on = Rc::new(Cell::new(None));
    let handle = local.spawn_local({
        let (trigger, ran_on) = (trigger.clone(), ran_on.clone());
        async move {
            trigger.wait().await;
            ran_on.set(Some(thread::current().id()));
        }
    });
    let waker_thread = thread::spawn({
        let trigger = trigger.clone();
        move || {
            while !trigger.has_waiter() {
                thread::yield_now();
            }
            trigger.fire();
        }
    });
    block_on(local.run_until(handle)).unwrap();
    waker_thread.join().unwrap();
    assert_eq!(ran_on.get(), Some(owner));
}

#[test]
fn dropping_the_set_drops_pending_futures_on_the_owner_and_cancels_handles() {
    let owner = thread::current().id();
    let drops = Rc::new(RefCell::new(Vec::new()));
    let trigger = Trigger::default();
    let local = LocalSet::new();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let guard = DropOn(drops.clone());
            let wait = trigger.wait();
            local.spawn_local(async move {
                let _guard = guard;
                wait.await;
            })
        })
        .collect();
    // One that never ran at all, too.
    block_on(local.run_until(yield_once()));
    let never_ran = local.spawn_local({
        let guard = DropOn(drops.clone());
        async move { drop(guard) }
    });
    assert!(trigger.has_waiter());
    drop(local);
    assert_eq!(*drops.borrow(), vec![owner; 4]);
    // A wake-up after the set is gone, from another thread: a no-op.
    thread::spawn(move || trigger.fire()).join().unwrap();
    for h in handles.into_iter().chain([never_ran]) {
        let err = block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    }
}

#[test]
fn the_set_as_a_future_completes_when_every_task_is_done() {
    let local = LocalSet::new();
    let done = Rc::new(Cell::new(0));
    for _ in 0..5 {
        let done = done.clone();
        local.spawn_local(async move {
            yield_once().await;
            // A task spawned by a task is waited for too.
            let inner = done.clone();
            spawn_local(async move {
                yield_once().await;
                inner.set(inner.get() + 1);
            });
            done.set(done.get() + 1);
        });
    }
    block_on(local);
    assert_eq!(done.get(), 10);
}

#[test]
fn spawn_local_outside_a_set_panics_with_a_message() {
    let err = catch_unwind(|| drop(spawn_local(async {}))).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside a `LocalSet`"), "{msg}");
}

#[test]
fn a_panicking_task_is_a_join_error_and_the_others_keep_running() {
    let local = LocalSet::new();
    let out = block_on(local.run_until(async {
        let bad = spawn_local(async {
            yield_once().await;
            panic!("local boom");
        });
        let good = spawn_local(async {
            yield_once().await;
            7
        });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        good.await.unwrap()
    }));
    assert_eq!(out, 7);
}

#[test]
fn one_poll_of_the_set_runs_a_bounded_batch_then_wakes_itself() {
    let local = LocalSet::new();
    let ran = Rc::new(Cell::new(0));
    for _ in 0..2 * MAX_TASKS_PER_TICK + 5 {
        let ran = ran.clone();
        local.spawn_local(async move { ran.set(ran.get() + 1) });
    }
    let tw = thread_waker();
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    let mut set = pin!(local);
    assert!(set.as_mut().poll(&mut cx).is_pending());
    assert_eq!(ran.get(), MAX_TASKS_PER_TICK);
    assert!(tw.woken.load(Ordering::SeqCst), "the set woke itself");
    let mut polls = 1;
    loop {
        polls += 1;
        if set.as_mut().poll(&mut cx).is_ready() {
            break;
        }
        assert!(polls < 10, "the set does not finish");
    }
    assert_eq!(ran.get(), 2 * MAX_TASKS_PER_TICK + 5);
    // Batches of 61, 61 and 5.
    assert_eq!(polls, 3);
}

#[test]
fn a_yielding_task_runs_once_per_poll_of_the_set() {
    let local = LocalSet::new();
    let polls = Rc::new(Cell::new(0));
    let stop = Rc::new(Cell::new(false));
    let handle = local.spawn_local({
        let (polls, stop) = (polls.clone(), stop.clone());
        async move {
            while !stop.get() {
                polls.set(polls.get() + 1);
                yield_once().await;
            }
        }
    });
    let tw = thread_waker();
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    let mut set = pin!(local);
    for round in 1..=3 {
        tw.woken.store(false, Ordering::SeqCst);
        assert!(set.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), round);
        assert!(tw.woken.load(Ordering::SeqCst), "the set woke itself");
    }
    stop.set(true);
    while set.as_mut().poll(&mut cx).is_pending() {}
    assert!(handle.is_finished());
}

#[test]
fn abort_from_another_thread_cancels_on_the_owner() {
    let owner = thread::current().id();
    let drops = Rc::new(RefCell::new(Vec::new()));
    let local = LocalSet::new();
    let guard = DropOn(drops.clone());
    let handle = local.spawn_local(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    block_on(local.run_until(yield_once()));
    let handle = thread::spawn(move || {
        handle.abort();
        handle
    })
    .join()
    .unwrap();
    let err = block_on(local.run_until(handle)).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(*drops.borrow(), vec![owner]);
}

#[test]
fn a_join_handle_is_awaited_from_another_thread() {
    let local = LocalSet::new();
    let trigger = Trigger::default();
    let handle = local.spawn_local({
        let wait = trigger.wait();
        let rc = Rc::new(41);
        async move {
            wait.await;
            *rc + 1
        }
    });
    let waiter = thread::spawn(move || block_on(handle).unwrap());
    block_on(local.run_until(async {
        while !trigger.has_waiter() {
            yield_once().await;
        }
        trigger.fire();
    }));
    // The task may still be queued: drive the set until it is done.
    block_on(local);
    assert_eq!(waiter.join().unwrap(), 42);
}

#[test]
fn a_future_that_spawns_while_the_set_drops_is_cancelled_quietly() {
    struct SpawnOnDrop(Rc<Cell<bool>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let flag = self.0.clone();
            let h = spawn_local(async move { flag.set(true) });
            assert!(h.is_finished(), "cancelled at once");
        }
    }
    let ran = Rc::new(Cell::new(false));
    let local = LocalSet::new();
    let guard = SpawnOnDrop(ran.clone());
    local.spawn_local(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    block_on(local.run_until(yield_once()));
    drop(local);
    assert!(!ran.get());
}

#[test]
fn enter_scopes_nest_and_restore() {
    let a = LocalSet::new();
    let b = LocalSet::new();
    let ga = a.enter();
    let in_a = spawn_local(async { 'a' });
    {
        let _gb = b.enter();
        let in_b = spawn_local(async { 'b' });
        assert_eq!(block_on(b.run_until(in_b)).unwrap(), 'b');
    }
    let in_a2 = spawn_local(async { 'c' });
    drop(ga);
    assert!(catch_unwind(AssertUnwindSafe(|| drop(spawn_local(async {})))).is_err());
    assert_eq!(block_on(a.run_until(in_a)).unwrap(), 'a');
    assert_eq!(block_on(a.run_until(in_a2)).unwrap(), 'c');
}
