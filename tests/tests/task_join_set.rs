//! `JoinSet`: every result comes back (outputs, panics, cancellations),
//! `join_next` is cancel-safe, dropping the set aborts its tasks (their
//! sockets close), `abort_all`/`shutdown`/`detach_all`, blocking jobs,
//! spawning onto a runtime from a plain thread, and the coop budget.

use std::collections::{HashMap, HashSet};
use std::future::{pending, poll_fn, Future};
use std::pin::pin;
use std::sync::Once;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use runtime::io::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::oneshot;
use runtime::task::{yield_now, AbortHandle, Id, JoinSet};
use runtime_tests::{
    block_on, flavor_tests, panic_message, yield_until, DropCounter, Flavor, PollCounter, Watchdog,
    HANG_LIMIT,
};

/// The panics these tests provoke start with this; the hook keeps them off
/// stderr (other panics still print).
const PANIC_PREFIX: &str = "join set test:";

fn quiet_test_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if panic_message(info.payload()).is_some_and(|m| m.starts_with(PANIC_PREFIX)) {
                return;
            }
            prev(info)
        }));
    });
}

/// 1,000 tasks, a tenth panicking and a tenth aborted: `join_next_with_id`
/// returns each exactly once, with the right kind of result.
fn join_next_returns_every_result_of_a_thousand_tasks(flavor: Flavor) {
    quiet_test_panics();
    block_on(flavor, async {
        let mut set = JoinSet::new();
        let mut expected_ok = HashMap::new();
        let mut expected_panic = HashSet::new();
        let mut to_abort = Vec::new();
        for i in 0..1000u32 {
            match i % 10 {
                0 => {
                    let a = set.spawn(async move {
                        yield_now().await;
                        panic!("{PANIC_PREFIX} task {i}");
                    });
                    expected_panic.insert(a.id());
                }
                1 => to_abort.push(set.spawn(async move {
                    pending::<()>().await;
                    i
                })),
                _ => {
                    let a = set.spawn(async move {
                        if i % 3 == 0 {
                            yield_now().await;
                        }
                        i
                    });
                    expected_ok.insert(a.id(), i);
                }
            }
        }
        assert_eq!(set.len(), 1000);
        let expected_cancel: HashSet<Id> = to_abort.iter().map(AbortHandle::id).collect();
        for a in &to_abort {
            a.abort();
        }
        let (mut ok, mut panicked, mut cancelled) =
            (HashMap::new(), HashSet::new(), HashSet::new());
        while let Some(res) = set.join_next_with_id().await {
            match res {
                Ok((id, i)) => assert!(ok.insert(id, i).is_none(), "{id} twice"),
                Err(e) if e.is_panic() => {
                    assert!(panicked.insert(e.id()), "{} twice", e.id());
                    let msg = panic_message(&*e.into_panic()).unwrap();
                    assert!(msg.starts_with(PANIC_PREFIX), "{msg}");
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{e:?}");
                    assert!(cancelled.insert(e.id()), "{} twice", e.id());
                }
            }
        }
        assert_eq!(ok, expected_ok);
        assert_eq!(panicked, expected_panic);
        assert_eq!(cancelled, expected_cancel);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

/// Polls `fut` once inside the current task, as one branch of a `select`
/// that another branch won, and drops it: `None` if it was pending.
async fn poll_once_and_drop<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx: &mut Context<'_>| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// A pending `join_next` that is dropped after its task finished (it was
/// woken, but never polled again) loses nothing: the next call returns
/// the result.
fn join_next_is_cancel_safe(flavor: Flavor) {
    block_on(flavor, async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for i in 0..20u32 {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(tx);
            handles.push(set.spawn(async move {
                rx.await.unwrap();
                i
            }));
        }
        let mut got = Vec::new();
        for (i, tx) in senders.into_iter().enumerate() {
            // The waiting branch registers, loses the race, and is dropped;
            // then its task finishes (waking the dropped branch's waker).
            assert!(poll_once_and_drop(set.join_next()).await.is_none());
            tx.send(()).unwrap();
            let h = &handles[i];
            yield_until(|| h.is_finished()).await;
            got.push(set.join_next().await.unwrap().unwrap());
        }
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        assert!(set.join_next().await.is_none());
    });
}

/// Dropping a `JoinSet` aborts its tasks: a task holding a TCP stream drops
/// it, and the peer reads EOF.
fn dropping_the_set_aborts_tasks_and_closes_their_sockets(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        let mut peers = Vec::new();
        for _ in 0..3 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                let stream = TcpStream::connect(addr).await.unwrap();
                pending::<()>().await;
                drop(stream);
            });
            peers.push(listener.accept().await.unwrap().0);
        }
        assert_eq!(drops.count(), 0);
        drop(set);
        for mut peer in peers {
            let mut buf = [0u8; 16];
            assert_eq!(
                peer.read(&mut buf).await.unwrap(),
                0,
                "EOF once the task is gone"
            );
        }
        yield_until(|| drops.count() == 3).await;
    });
}

/// `abort_all` turns pending tasks into cancelled results (a finished one
/// keeps its output); `shutdown` aborts and waits for every task.
fn abort_all_and_shutdown(flavor: Flavor) {
    block_on(flavor, async {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        let done = set.spawn(async { 1u8 });
        yield_until(|| done.is_finished()).await;
        for _ in 0..10 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<u8>().await
            });
        }
        set.abort_all();
        let (mut ok, mut cancelled) = (0, 0);
        while let Some(res) = set.join_next().await {
            match res {
                Ok(1) => ok += 1,
                Err(e) if e.is_cancelled() => cancelled += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((ok, cancelled), (1, 10));
        assert_eq!(drops.count(), 10);

        for _ in 0..10 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<u8>().await
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(
            drops.count(),
            20,
            "every future dropped when shutdown returns"
        );
    });
}

/// Blocking jobs in a set run on the blocking pool and come back like tasks.
fn spawn_blocking_into_a_join_set(flavor: Flavor) {
    block_on(flavor, async {
        let caller = std::thread::current().id();
        let mut set = JoinSet::new();
        for i in 0..8u32 {
            set.spawn_blocking(move || {
                let name = std::thread::current().name().map(str::to_owned);
                (i, std::thread::current().id(), name)
            });
        }
        let handle = runtime::Handle::current();
        set.spawn_blocking_on(|| (99, std::thread::current().id(), None), &handle);
        let mut seen = Vec::new();
        while let Some(res) = set.join_next().await {
            let (i, thread, name) = res.unwrap();
            assert_ne!(thread, caller, "ran off the calling thread");
            if i != 99 {
                let name = name.unwrap_or_default();
                assert!(name.contains("blocking"), "ran on {name:?}");
            }
            seen.push(i);
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6, 7, 99]);
    });
}

/// `detach_all` empties the set and leaves the tasks running.
fn detach_all_keeps_tasks_running(flavor: Flavor) {
    block_on(flavor, async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        set.spawn(async move {
            go_rx.await.unwrap();
            tx.send(7).unwrap();
        });
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        go_tx.send(()).unwrap();
        assert_eq!(rx.await.unwrap(), 7);
    });
}

/// `join_all` returns every output; a panicking task's panic comes out of
/// it, and the other tasks are aborted.
fn join_all_returns_outputs_and_resumes_panics(flavor: Flavor) {
    quiet_test_panics();
    block_on(flavor, async {
        let set: JoinSet<u32> = (0..50u32).map(|i| async move { i * 2 }).collect();
        let mut out = set.join_all().await;
        out.sort();
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());

        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        let guard = drops.guard();
        set.spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        set.spawn(async { panic!("{PANIC_PREFIX} in join_all") });
        let payload = std::panic::AssertUnwindSafe(set.join_all())
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(
            panic_message(&*payload).as_deref(),
            Some("join set test: in join_all")
        );
        yield_until(|| drops.count() == 1).await;
    });
}

/// `join_next` on an empty set is ready at once, before and after use.
#[test]
fn join_next_on_an_empty_set_is_none_at_once() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let mut set = JoinSet::<()>::new();
    assert!(matches!(set.join_next().now_or_never(), Some(None)));
    assert!(set.try_join_next().is_none());
    let rt = Flavor::CurrentThread.build();
    set.spawn_on(async {}, rt.handle());
    rt.block_on(async {
        assert!(set.join_next().await.unwrap().is_ok());
    });
    assert!(matches!(set.join_next().now_or_never(), Some(None)));
    assert_eq!(format!("{set:?}"), "JoinSet { len: 0 }");
}

/// Tasks spawned into a set from a thread outside the runtime run on it.
#[test]
fn spawn_on_from_a_plain_thread() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    let handle = rt.handle().clone();
    let mut set = std::thread::spawn(move || {
        let mut set = JoinSet::new();
        for i in 0..10u32 {
            set.spawn_on(async move { i }, &handle);
        }
        set
    })
    .join()
    .unwrap();
    let mut out = rt.block_on(async {
        let mut out = Vec::new();
        while let Some(res) = set.join_next().await {
            out.push(res.unwrap());
        }
        out
    });
    out.sort();
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}

/// Draining many finished tasks in one loop yields for the coop budget:
/// the loop's task is polled more than once (128 results per poll).
fn join_next_spends_the_coop_budget(flavor: Flavor) {
    block_on(flavor, async {
        runtime::spawn(async {
            let mut set = JoinSet::new();
            let handles: Vec<_> = (0..300u32).map(|i| set.spawn(async move { i })).collect();
            yield_until(|| handles.iter().all(AbortHandle::is_finished)).await;
            let (drain, polls) = PollCounter::new(async {
                let mut n = 0;
                while let Some(res) = set.join_next().await {
                    res.unwrap();
                    n += 1;
                }
                n
            });
            assert_eq!(drain.await, 300);
            let polls = polls.load(std::sync::atomic::Ordering::SeqCst);
            assert!(
                polls >= 3,
                "300 results in {polls} polls: the budget was not spent"
            );
        })
        .await
        .unwrap();
    });
}

/// The spawn location a task records (read back from `Handle::dump`) is
/// the documented one: the caller's line for `JoinSet::extend` and
/// `JoinSet::spawn`, and the `FromIterator` impl's own line in
/// `src/task/join_set.rs` for `collect` and `JoinSet::from_iter`.
fn collect_and_extend_record_their_documented_spawn_locations(flavor: Flavor) {
    block_on(flavor, async {
        let futures = || (0..3).map(|_| pending::<()>());
        let mut extended = JoinSet::new();
        let extend_line = line!() + 1;
        extended.extend(futures());
        let spawn_line = line!() + 1;
        extended.spawn(pending());
        let collected: JoinSet<()> = futures().collect();
        let from_iter = JoinSet::from_iter(futures());
        assert_eq!(
            (extended.len(), collected.len(), from_iter.len()),
            (4, 3, 3)
        );

        let dump = runtime::Handle::current().dump();
        let mut at: HashMap<(String, u32), usize> = HashMap::new();
        for t in dump.tasks() {
            let loc = t.location();
            *at.entry((loc.file().to_owned(), loc.line())).or_default() += 1;
        }
        let here = file!();
        assert_eq!(at.get(&(here.to_owned(), extend_line)), Some(&3), "{dump}");
        assert_eq!(at.get(&(here.to_owned(), spawn_line)), Some(&1), "{dump}");
        let elsewhere: Vec<_> = at.iter().filter(|((file, _), _)| file != here).collect();
        assert_eq!(
            elsewhere.len(),
            1,
            "collect and from_iter at one location: {dump}"
        );
        let ((file, _), count) = elsewhere[0];
        assert!(file.ends_with("src/task/join_set.rs"), "{file}");
        assert_eq!(*count, 6, "{dump}");
    });
}

flavor_tests!(
    join_next_returns_every_result_of_a_thousand_tasks,
    join_next_is_cancel_safe,
    dropping_the_set_aborts_tasks_and_closes_their_sockets,
    abort_all_and_shutdown,
    spawn_blocking_into_a_join_set,
    detach_all_keeps_tasks_running,
    join_all_returns_outputs_and_resumes_panics,
    join_next_spends_the_coop_budget,
    collect_and_extend_record_their_documented_spawn_locations,
);
