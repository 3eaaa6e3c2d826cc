//! Unit tests of ids, abort handles, task meta and `JoinSet`'s ready list,
//! driven by hand with a queue-only scheduler, so that they run under
//! `miri` (`cargo +nightly miri test -p runtime --lib -- task::`). The
//! `spawn_location` tests at the end need a real runtime and are skipped
//! there.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::{
    new_task, try_id, AbortHandle, Id, JoinError, JoinHandle, JoinSet, Meta, Notified, OwnedTasks,
    Schedule, Task,
};

/// A scheduler that only queues; the test runs the queue.
struct Queue {
    queue: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
}

impl Schedule for Arc<Queue> {
    fn schedule(&self, task: Notified) {
        if self.owned.is_closed() {
            return drop(task);
        }
        self.queue.lock().unwrap().push_back(task);
    }
    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }
}

impl Queue {
    fn new() -> Arc<Queue> {
        Arc::new(Queue {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(),
        })
    }

    #[track_caller]
    fn spawn<F>(self: &Arc<Self>, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_meta(f, Meta::here())
    }

    fn spawn_meta<F>(self: &Arc<Self>, f: F, meta: Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (n, join) = new_task(&self.owned, f, self.clone(), meta);
        if let Some(n) = n {
            self.schedule(n);
        }
        join
    }

    fn run_all(&self) -> usize {
        let mut n = 0;
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(t) => {
                    t.run();
                    n += 1;
                }
                None => return n,
            }
        }
    }

    fn shutdown(&self) {
        self.owned.close_and_shutdown();
        let drained: Vec<_> = self.queue.lock().unwrap().drain(..).collect();
        drop(drained);
    }
}

/// Counts wake-ups.
#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn count_waker() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker::default());
    (c.clone(), Waker::from(c))
}

/// Pending until `open` is set (and woken through the waker it stores).
struct Gate {
    open: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Future for Gate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.open.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

fn gate() -> (Gate, impl Fn()) {
    let open = Arc::new(Mutex::new((false, None::<Waker>)));
    let o = open.clone();
    let opener = move || {
        let w = {
            let mut g = o.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    };
    (Gate { open }, opener)
}

/// Counts drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn ids_are_unique_increasing_and_display_as_numbers() {
    let a = Id::next();
    let b = Id::next();
    assert_ne!(a, b);
    assert!(a < b, "ids count up: {a} then {b}");
    assert_eq!(a.to_string(), a.as_u64().to_string());
    assert_eq!(format!("{a:?}"), format!("Id({})", a.as_u64()));
    let mut set = std::collections::HashSet::new();
    for _ in 0..100 {
        assert!(set.insert(Id::next()));
    }
}

#[test]
fn try_id_names_the_task_in_poll_and_in_drop_and_is_none_outside() {
    assert_eq!(try_id(), None);
    let s = Queue::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    struct RecordOnDrop(Arc<Mutex<Vec<Option<Id>>>>);
    impl Drop for RecordOnDrop {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(try_id());
        }
    }
    let guard = RecordOnDrop(seen.clone());
    let seen2 = seen.clone();
    let (g, open) = gate();
    let mut join = s.spawn(async move {
        let _guard = guard;
        seen2.lock().unwrap().push(Some(super::id()));
        g.await;
    });
    s.run_all();
    assert_eq!(try_id(), None, "restored after the poll");
    // Aborted: the future (and its guard) is dropped by the cancellation,
    // still under the task's id.
    join.abort();
    s.run_all();
    drop(open);
    assert!(
        matches!(poll_join(&mut join), Poll::Ready(Err(e)) if e.is_cancelled() && e.id() == join.id())
    );
    assert_eq!(*seen.lock().unwrap(), [Some(join.id()), Some(join.id())]);
    assert_eq!(try_id(), None);
    s.shutdown();
}

#[test]
fn id_outside_a_task_panics() {
    let err = std::panic::catch_unwind(super::id).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("outside a task"), "{msg}");
}

#[test]
fn abort_handles_cancel_clone_and_outlive_the_join_handle() {
    let s = Queue::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCount(drops.clone());
    let (g, _open) = gate();
    let mut join = s.spawn(async move {
        let _d = d;
        g.await;
    });
    let a1 = join.abort_handle();
    let a2 = a1.clone();
    assert_eq!((a1.id(), a2.id()), (join.id(), join.id()));
    s.run_all();
    assert!(!a1.is_finished());
    // Dropping an abort handle does nothing to the task.
    drop(a1);
    s.run_all();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    // Aborting from another thread.
    let a2 = std::thread::spawn(move || {
        a2.abort();
        a2
    })
    .join()
    .unwrap();
    s.run_all();
    assert!(a2.is_finished());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(matches!(poll_join(&mut join), Poll::Ready(Err(e)) if e.is_cancelled()));
    // The join handle goes first; the abort handle still reads the header,
    // then frees the task (miri checks both).
    drop(join);
    assert!(a2.is_finished());
    drop(a2);
    s.shutdown();
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let s = Queue::new();
    let mut join = s.spawn(async { 5 });
    let abort = join.abort_handle();
    s.run_all();
    abort.abort();
    s.run_all();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(5))));
    s.shutdown();
}

#[test]
fn meta_records_location_and_name() {
    let s = Queue::new();
    let (join, line) = (s.spawn(async {}), line!());
    let at = join.raw.meta().location();
    assert_eq!((at.file(), at.line()), (file!(), line));
    assert_eq!(join.raw.meta().name(), None);
    let named = s.spawn_meta(
        async {},
        Meta::new(std::panic::Location::caller(), Some("n1")),
    );
    assert_eq!(named.raw.meta().name(), Some("n1"));
    let dbg = format!("{:?}", named.raw.header());
    assert!(dbg.contains("n1") && dbg.contains(file!()), "{dbg}");
    s.run_all();
    s.shutdown();
}

fn join_set_of(s: &Arc<Queue>, n: usize) -> (JoinSet<usize>, Vec<(AbortHandle, impl Fn())>) {
    let mut set = JoinSet::new();
    let mut gates = Vec::new();
    for i in 0..n {
        let (g, open) = gate();
        let abort = set.insert(s.spawn(async move {
            g.await;
            i
        }));
        gates.push((abort, open));
    }
    (set, gates)
}

#[test]
fn join_set_returns_results_in_completion_order_and_wakes_its_waiter() {
    let s = Queue::new();
    let (mut set, gates) = join_set_of(&s, 4);
    s.run_all();
    assert_eq!(set.len(), 4);
    let (count, waker) = count_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(set.poll_join_next(&mut cx).is_pending());
    assert!(set.try_join_next().is_none());
    // Finish 2, then 0: the waiter is woken, results come in that order.
    (gates[2].1)();
    s.run_all();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    (gates[0].1)();
    s.run_all();
    match set.poll_join_next(&mut cx) {
        Poll::Ready(Some(Ok(2))) => {}
        _ => panic!("task 2 finished first"),
    }
    let (id, out) = set.try_join_next_with_id().unwrap().unwrap();
    assert_eq!((id, out), (gates[0].0.id(), 0));
    assert_eq!(set.len(), 2);
    // Task 1 is aborted, task 3 finishes.
    gates[1].0.abort();
    (gates[3].1)();
    s.run_all();
    let mut rest = [set.try_join_next().unwrap(), set.try_join_next().unwrap()];
    assert!(set.try_join_next().is_none());
    assert!(set.is_empty());
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(None)));
    rest.sort_by_key(|r| r.is_ok());
    assert!(matches!(&rest[0], Err(e) if e.is_cancelled() && e.id() == gates[1].0.id()));
    assert!(matches!(rest[1], Ok(3)));
    s.shutdown();
}

#[test]
fn join_set_keeps_results_when_a_pending_poll_is_abandoned() {
    let s = Queue::new();
    let (mut set, gates) = join_set_of(&s, 2);
    s.run_all();
    // A waiter registers and goes away (a dropped `join_next`).
    let (_count, waker) = count_waker();
    assert!(set
        .poll_join_next(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    for (_, open) in &gates {
        open();
    }
    s.run_all();
    let mut got = vec![
        set.try_join_next().unwrap().unwrap(),
        set.try_join_next().unwrap().unwrap(),
    ];
    got.sort();
    assert_eq!(got, [0, 1]);
    s.shutdown();
}

#[test]
fn join_set_takes_a_task_that_finished_before_it_was_added() {
    let s = Queue::new();
    let join = s.spawn(async { 9usize });
    s.run_all();
    assert!(join.is_finished());
    let mut set = JoinSet::new();
    set.insert(join);
    assert!(matches!(set.try_join_next(), Some(Ok(9))));
    s.shutdown();
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    let s = Queue::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    let mut aborts = Vec::new();
    for _ in 0..3 {
        let d = DropCount(drops.clone());
        let (g, _open) = gate();
        aborts.push(set.insert(s.spawn(async move {
            let _d = d;
            g.await;
        })));
    }
    s.run_all();
    drop(set);
    s.run_all();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(aborts.iter().all(AbortHandle::is_finished));
    s.shutdown();
}

#[test]
fn detach_all_lets_tasks_run_and_skips_stale_keys() {
    let s = Queue::new();
    let (mut set, gates) = join_set_of(&s, 2);
    s.run_all();
    // Task 0 finishes (its key is queued), then the set lets go of both.
    (gates[0].1)();
    s.run_all();
    set.detach_all();
    assert!(set.is_empty());
    assert!(set.try_join_next().is_none());
    // A new entry may reuse slot 0; an old key must not be taken for it.
    let (g, open) = gate();
    set.insert(s.spawn(async move {
        g.await;
        7
    }));
    s.run_all();
    assert!(set.try_join_next().is_none());
    open();
    (gates[1].1)();
    s.run_all();
    assert!(gates[1].0.is_finished(), "a detached task still runs");
    assert!(matches!(set.try_join_next(), Some(Ok(7))));
    s.shutdown();
}

#[test]
fn join_set_poll_spends_budget_and_yields_when_it_is_spent() {
    let s = Queue::new();
    let mut set = JoinSet::new();
    for i in 0..3usize {
        set.insert(s.spawn(async move { i }));
    }
    s.run_all();
    let (count, waker) = count_waker();
    let mut cx = Context::from_waker(&waker);
    runtime_reactor::coop::budget(|| {
        // Spend the whole budget, as a busy task would.
        while runtime_reactor::coop::has_budget_remaining() {
            let c = runtime_reactor::coop::poll_proceed(&mut cx);
            if let Poll::Ready(c) = c {
                c.made_progress();
            }
        }
        assert!(set.poll_join_next(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken to run again");
    });
    runtime_reactor::coop::budget(|| {
        for _ in 0..3 {
            assert!(matches!(
                set.poll_join_next(&mut cx),
                Poll::Ready(Some(Ok(_)))
            ));
        }
    });
    s.shutdown();
}

/// The location each public spawn entry point records is its caller's.
#[cfg(not(miri))]
mod spawn_location {
    use super::super::{Builder, JoinSet};

    fn check(raw: super::super::RawTask, line: u32, what: &str) {
        let at = raw.meta().location();
        assert_eq!((at.file(), at.line()), (file!(), line), "{what}");
    }

    #[test]
    fn every_spawn_entry_point_records_its_callers_line() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        let h = rt.handle().clone();
        let (j, l) = (rt.spawn(async {}), line!());
        check(j.raw, l, "Runtime::spawn");
        let (j, l) = (h.spawn(async {}), line!());
        check(j.raw, l, "Handle::spawn");
        let (j, l) = (rt.spawn_blocking(|| ()), line!());
        check(j.raw, l, "Runtime::spawn_blocking");
        let (j, l) = (h.spawn_blocking(|| ()), line!());
        check(j.raw, l, "Handle::spawn_blocking");
        // (Each spawn call and its `line!()` share a line; keep them
        // short enough that rustfmt leaves them so.)
        let b = Builder::new().name("b");
        let (j, l) = (b.spawn_on(async {}, &h).unwrap(), line!());
        check(j.raw, l, "Builder::spawn_on");
        assert_eq!(j.raw.meta().name(), Some("b"));
        let b = Builder::new();
        let (j, l) = (b.spawn_blocking_on(|| (), &h).unwrap(), line!());
        check(j.raw, l, "Builder::spawn_blocking_on");
        let mut set = JoinSet::new();
        let (a, l) = (set.spawn_on(async {}, &h), line!());
        check(a.raw(), l, "JoinSet::spawn_on");
        let (a, l) = (set.spawn_blocking_on(|| (), &h), line!());
        check(a.raw(), l, "JoinSet::spawn_blocking_on");
        rt.block_on(async {
            let (j, l) = (crate::spawn(async {}), line!());
            check(j.raw, l, "runtime::spawn");
            let (j, l) = (super::super::spawn(async {}), line!());
            check(j.raw, l, "task::spawn");
            let (j, l) = (crate::spawn_blocking(|| ()), line!());
            check(j.raw, l, "spawn_blocking");
            let (j, l) = (Builder::new().name("n").spawn(async {}).unwrap(), line!());
            check(j.raw, l, "Builder::spawn");
            assert_eq!(j.raw.meta().name(), Some("n"));
            let (j, l) = (Builder::new().spawn_blocking(|| ()).unwrap(), line!());
            check(j.raw, l, "Builder::spawn_blocking");
            let (a, l) = (set.spawn(async {}), line!());
            check(a.raw(), l, "JoinSet::spawn");
            let (a, l) = (set.spawn_blocking(|| ()), line!());
            check(a.raw(), l, "JoinSet::spawn_blocking");
            set.shutdown().await;
        });
        drop(rt);
    }
}

/// The handles are thread-safe where tokio's are.
#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AbortHandle>();
    send_sync::<Id>();
    send_sync::<JoinSet<u8>>();
    send_sync::<JoinHandle<u8>>();
    send_sync::<super::Builder<'static>>();
}
