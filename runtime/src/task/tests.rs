//! Unit tests of the task machinery with a minimal scheduler. They run
//! under `miri` (`cargo +nightly miri test -p runtime --lib task::`) and,
//! with `--cfg runtime_loom`, the `loom_*` models explore the races of the state
//! word.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{new_task, JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::shim::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

/// A scheduler that only queues: tests decide when tasks run.
struct TestSched {
    queue: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
    /// Run a task inside `schedule`, as another thread may do the moment
    /// it is queued, then read `self` again (the handle lives in the task).
    inline: AtomicBool,
}

impl Schedule for Arc<TestSched> {
    fn schedule(&self, task: Notified) {
        if self.owned.is_closed() {
            return drop(task);
        }
        if self.inline.load(Ordering::SeqCst) {
            task.run();
            // Under miri, a use after free if the task was freed by `run`.
            assert!(self.inline.load(Ordering::SeqCst));
            return;
        }
        self.queue.lock().push_back(task);
    }
    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }
}

impl TestSched {
    fn new() -> Arc<TestSched> {
        Arc::new(TestSched {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(),
            inline: AtomicBool::new(false),
        })
    }

    fn spawn<F>(this: &Arc<Self>, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (n, join) = new_task(&this.owned, f, this.clone(), super::Meta::here());
        if let Some(n) = n {
            this.schedule(n);
        }
        join
    }

    fn run_all(&self) -> usize {
        let mut n = 0;
        loop {
            let next = self.queue.lock().pop_front();
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
        let drained: Vec<_> = self.queue.lock().drain(..).collect();
        drop(drained);
    }
}

/// Counts drops of whatever holds it.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending on the first poll (storing the waker where the test can take
/// it), ready on the second.
struct TwoPolls {
    polls: usize,
    waker_slot: Arc<Mutex<Option<Waker>>>,
    _guard: DropCount,
}

impl Future for TwoPolls {
    type Output = DropCount;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.polls += 1;
        if self.polls == 1 {
            *self.waker_slot.lock() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(DropCount(self._guard.0.clone()))
        }
    }
}

fn two_polls(drops: &Arc<AtomicUsize>) -> (TwoPolls, Arc<Mutex<Option<Waker>>>) {
    let slot = Arc::new(Mutex::new(None));
    (
        TwoPolls {
            polls: 0,
            waker_slot: slot.clone(),
            _guard: DropCount(drops.clone()),
        },
        slot,
    )
}

/// Polls a join handle once with a no-op waker.
fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, super::JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
}

#[cfg(not(runtime_loom))]
mod plain {
    use super::*;

    #[test]
    fn output_is_returned_once_and_dropped_once() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        let mut join = TestSched::spawn(&s, fut);
        assert_eq!(s.run_all(), 1);
        assert!(poll_join(&mut join).is_pending());
        slot.lock().take().unwrap().wake();
        assert_eq!(s.run_all(), 1);
        assert!(join.is_finished());
        // The future's guard dropped when the future completed.
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let out = match poll_join(&mut join) {
            Poll::Ready(Ok(out)) => out,
            other => panic!(
                "expected the output, got {:?}",
                other.map(|r| r.map(|_| ()))
            ),
        };
        drop(out);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(join);
        s.shutdown();
    }

    /// A wake by value whose task runs to completion (and loses every
    /// other reference) inside `schedule` keeps the task alive until
    /// `schedule` returns: the scheduler handle it reads lives in the task.
    /// (A use after free that only miri or a sanitizer would see.)
    #[test]
    fn wake_by_val_keeps_the_task_alive_while_it_is_scheduled() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        let join = TestSched::spawn(&s, fut);
        assert_eq!(s.run_all(), 1);
        drop(join);
        s.inline.store(true, Ordering::SeqCst);
        slot.lock().take().unwrap().wake();
        // The future and its unread output were both dropped, the task
        // freed after `schedule` returned.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        s.inline.store(false, Ordering::SeqCst);
        s.shutdown();
    }

    #[test]
    fn waking_many_times_queues_once() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        let join = TestSched::spawn(&s, fut);
        s.run_all();
        let w = slot.lock().take().unwrap();
        for _ in 0..5 {
            w.wake_by_ref();
        }
        assert_eq!(s.queue.lock().len(), 1);
        drop(w);
        assert_eq!(s.run_all(), 1);
        drop(join);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "future guard and unread output both dropped"
        );
        s.shutdown();
    }

    #[test]
    fn abort_pending_task_cancels_and_drops_future() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, _slot) = two_polls(&drops);
        let mut join = TestSched::spawn(&s, fut);
        s.run_all();
        join.abort();
        s.run_all();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("an aborted task resolves to a cancelled JoinError"),
        }
        s.shutdown();
    }

    #[test]
    fn panic_in_poll_becomes_join_error() {
        let s = TestSched::new();
        let mut join = TestSched::spawn(&s, async { panic!("boom") });
        s.run_all();
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => {
                assert!(e.is_panic());
                assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "boom");
            }
            _ => panic!("expected a panic JoinError"),
        }
        s.shutdown();
    }

    /// Records `thread::panicking()` when dropped, then panics if asked to.
    struct SeesPanicking {
        seen: Arc<Mutex<Option<bool>>>,
        panic_in_drop: bool,
    }
    impl Drop for SeesPanicking {
        fn drop(&mut self) {
            *self.seen.lock() = Some(std::thread::panicking());
            if self.panic_in_drop {
                panic!("drop panics too");
            }
        }
    }

    /// Panics in `poll`, holding a `SeesPanicking` that only its own drop
    /// (not the unwinding of `poll`) can reach.
    struct PanicsInPoll(#[allow(dead_code)] SeesPanicking);
    impl Future for PanicsInPoll {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            panic!("boom")
        }
    }

    #[test]
    fn panicking_future_is_dropped_while_the_panic_unwinds() {
        for panic_in_drop in [false, true] {
            let s = TestSched::new();
            let seen = Arc::new(Mutex::new(None));
            let fut = PanicsInPoll(SeesPanicking {
                seen: seen.clone(),
                panic_in_drop,
            });
            let mut join = TestSched::spawn(&s, fut);
            s.run_all();
            assert_eq!(*seen.lock(), Some(true), "panic_in_drop: {panic_in_drop}");
            match poll_join(&mut join) {
                Poll::Ready(Err(e)) => {
                    assert!(e.is_panic());
                    assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "boom");
                }
                _ => panic!("expected a panic JoinError"),
            }
            s.shutdown();
        }
    }

    #[test]
    fn shutdown_drops_pending_futures_and_later_wakes_are_noops() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        let mut join = TestSched::spawn(&s, fut);
        s.run_all();
        let w = slot.lock().take().unwrap();
        s.shutdown();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        w.wake();
        assert_eq!(s.queue.lock().len(), 0);
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("shutdown cancels"),
        }
    }

    #[test]
    fn spawn_after_shutdown_is_cancelled() {
        let s = TestSched::new();
        s.shutdown();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, _slot) = two_polls(&drops);
        let mut join = TestSched::spawn(&s, fut);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the future is dropped at once"
        );
        assert!(matches!(poll_join(&mut join), Poll::Ready(Err(e)) if e.is_cancelled()));
    }

    #[test]
    fn waker_from_another_thread_after_shutdown() {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        drop(TestSched::spawn(&s, fut));
        s.run_all();
        let w = slot.lock().take().unwrap();
        s.shutdown();
        std::thread::spawn(move || w.wake()).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[cfg(runtime_loom)]
mod loom_models {
    use super::*;

    /// A wake racing the task's own poll: the task runs to completion
    /// exactly once, whatever the interleaving.
    #[test]
    fn loom_wake_while_running() {
        loom::model(|| {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let (fut, slot) = two_polls(&drops);
            let mut join = TestSched::spawn(&s, fut);
            let slot2 = slot.clone();
            let waker_thread = loom::thread::spawn(move || {
                if let Some(w) = slot2.lock().take() {
                    w.wake();
                }
            });
            s.run_all();
            waker_thread.join().unwrap();
            if let Some(w) = slot.lock().take() {
                w.wake();
            }
            s.run_all();
            assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(_))));
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            s.shutdown();
        });
    }

    /// `abort` racing completion: the handle sees the output or a
    /// cancellation, and the future is dropped exactly once.
    #[test]
    fn loom_abort_vs_complete() {
        loom::model(|| {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let guard = DropCount(drops.clone());
            let mut join = TestSched::spawn(&s, async move {
                drop(guard);
                7
            });
            let abort = {
                let raw = join.raw;
                raw.header().state.ref_inc();
                let t = Task::from_raw(raw);
                loom::thread::spawn(move || {
                    t.raw().remote_abort();
                    drop(t);
                })
            };
            s.run_all();
            abort.join().unwrap();
            s.run_all();
            match poll_join(&mut join) {
                Poll::Ready(Ok(7)) => {}
                Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                _ => panic!("task neither completed nor cancelled"),
            }
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            s.shutdown();
        });
    }

    /// Dropping the `JoinHandle` while the task completes: the output is
    /// dropped exactly once, by one side or the other.
    #[test]
    fn loom_join_drop_vs_complete() {
        loom::model(|| {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let d = drops.clone();
            let join = TestSched::spawn(&s, async move { DropCount(d) });
            let th = loom::thread::spawn(move || drop(join));
            s.run_all();
            th.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            s.shutdown();
        });
    }

    /// A wake from another thread racing shutdown: no use after free, and
    /// the future is dropped exactly once.
    #[test]
    fn loom_wake_vs_shutdown() {
        loom::model(|| {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let (fut, slot) = two_polls(&drops);
            drop(TestSched::spawn(&s, fut));
            s.run_all();
            let w = slot.lock().take().unwrap();
            let th = loom::thread::spawn(move || w.wake());
            s.shutdown();
            th.join().unwrap();
            s.run_all();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }
}

/// Feature `tracing`, single-threaded and under miri: the span's life and
/// the waker events around the raw task code, seen by a minimal
/// `Subscriber` that logs each call.
#[cfg(all(feature = "tracing", not(runtime_loom)))]
mod trace {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Logs span creation, enter, exit, close and waker events, in order.
    #[derive(Default)]
    struct Log {
        next_id: AtomicU64,
        lines: std::sync::Mutex<Vec<String>>,
    }

    struct Op(Option<String>, Option<u64>);

    impl Visit for Op {
        fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "op" {
                self.0 = Some(value.to_owned());
            }
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            if field.name() == "task.id" {
                self.1 = Some(value);
            }
        }
    }

    /// The subscriber: a handle on the shared log.
    struct Sub(Arc<Log>);

    impl Subscriber for Sub {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, attrs: &Attributes<'_>) -> Id {
            let id = self.0.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            self.0.push(format!("new {} {id}", attrs.metadata().name()));
            Id::from_u64(id)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut op = Op(None, None);
            event.record(&mut op);
            let target = event.metadata().target();
            self.0
                .push(format!("{target} {} {}", op.0.unwrap(), op.1.unwrap()));
        }
        fn enter(&self, id: &Id) {
            self.0.push(format!("enter {}", id.into_u64()));
        }
        fn exit(&self, id: &Id) {
            self.0.push(format!("exit {}", id.into_u64()));
        }
        fn try_close(&self, id: Id) -> bool {
            self.0.push(format!("close {}", id.into_u64()));
            true
        }
    }

    impl Log {
        fn push(&self, line: String) {
            self.lines.lock().unwrap().push(line);
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.lines.lock().unwrap())
        }
    }

    #[test]
    fn span_per_poll_waker_events_and_close_at_completion() {
        let log = Arc::new(Log::default());
        tracing::subscriber::with_default(Sub(log.clone()), || {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let (fut, slot) = two_polls(&drops);
            let mut join = TestSched::spawn(&s, fut);
            assert_eq!(log.take(), ["new runtime.spawn 1"]);
            s.run_all();
            // The poll stored a clone of its waker.
            assert_eq!(
                log.take(),
                ["enter 1", "runtime::waker waker.clone 1", "exit 1"]
            );
            let w = slot.lock().take().unwrap();
            w.wake_by_ref();
            drop(w.clone());
            let late = w.clone();
            w.wake();
            assert_eq!(
                log.take(),
                [
                    "runtime::waker waker.wake_by_ref 1",
                    "runtime::waker waker.clone 1",
                    "runtime::waker waker.drop 1",
                    "runtime::waker waker.clone 1",
                    "runtime::waker waker.wake 1",
                ]
            );
            s.run_all();
            // Completed: the span is closed, though the handle and a waker
            // still hold the task.
            assert_eq!(log.take(), ["enter 1", "exit 1", "close 1"]);
            late.wake_by_ref();
            drop(late);
            assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(_))));
            drop(join);
            assert_eq!(log.take(), Vec::<String>::new());
            s.shutdown();
        });
    }

    #[test]
    fn a_task_cancelled_at_shutdown_closes_its_span_once() {
        let log = Arc::new(Log::default());
        tracing::subscriber::with_default(Sub(log.clone()), || {
            let s = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let (fut, slot) = two_polls(&drops);
            let join = TestSched::spawn(&s, fut);
            s.run_all();
            log.take();
            s.shutdown();
            assert_eq!(log.take(), ["close 1"]);
            // The stored waker outlived the task: it names nothing now.
            drop(slot.lock().take());
            drop(join);
            assert_eq!(log.take(), Vec::<String>::new());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn without_a_subscriber_there_is_no_span_and_no_event() {
        // No default subscriber on this thread: `Span::none()`, no id, so
        // the wakers have nothing to name (and must not fail).
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let (fut, slot) = two_polls(&drops);
        let join = TestSched::spawn(&s, fut);
        s.run_all();
        slot.lock().take().unwrap().wake();
        s.run_all();
        drop(join);
        // The future and its output, each once.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        s.shutdown();
    }
}
