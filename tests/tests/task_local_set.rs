//! `LocalSet` and `spawn_local`: `!Send` tasks (holding `Rc`s) run on the
//! set's thread on both runtime flavors, whoever wakes them (the reactor, a
//! task on a worker); dropping the set drops their futures there and
//! cancels their handles; `run_until` leaves pending tasks for later; the
//! set as a future ends with its last task; panics and the coop budget
//! behave as for other tasks.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::task::{self, yield_now, LocalSet};
use runtime::Runtime;
use runtime_tests::{
    assert_bytes_eq, flavor_tests, note_pending, panic_message, pattern, yield_until, Flavor,
    Watchdog, HANG_LIMIT,
};

/// Runs `f(&local)`'s future with a fresh `LocalSet` on a fresh runtime of
/// `flavor`, under a hang guard; returns the output, the set and the
/// runtime (so a test can go on using them).
fn with_local<Fut: Future>(
    flavor: Flavor,
    f: impl FnOnce(&LocalSet) -> Fut,
) -> (Fut::Output, LocalSet, Runtime) {
    let rt = flavor.build();
    let local = LocalSet::new();
    let fut = f(&local);
    let out = local.block_on(&rt, fut);
    (out, local, rt)
}

fn rc_refcell_tasks_run_and_share_state(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let state = Rc::new(RefCell::new(Vec::new()));
    let (sum, _local, _rt) = with_local(flavor, |_| {
        let state = state.clone();
        async move {
            let handles: Vec<_> = (0..20u32)
                .map(|i| {
                    let state = state.clone();
                    task::spawn_local(async move {
                        yield_now().await;
                        state.borrow_mut().push(i);
                        yield_now().await;
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        }
    });
    assert_eq!(sum, (0..20).sum::<u32>());
    let mut seen = state.borrow().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
}

/// An echo server and its client, all local tasks holding their streams in
/// `Rc`s: every wake-up is a readiness event (delivered by the reactor,
/// from another thread on the multi-thread flavor), 1 MiB goes through
/// byte-exact, and each resumption of the server ran on the owner thread.
fn local_tasks_echo_over_tcp_byte_exact(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let owner = thread::current().id();
    let data = Rc::new(pattern(1024 * 1024, 7));
    let resumed_on = Rc::new(RefCell::new(Vec::<ThreadId>::new()));
    let (echoed, _local, _rt) = with_local(flavor, |_| {
        let (data, resumed_on) = (data.clone(), resumed_on.clone());
        async move {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let server = task::spawn_local(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let stream = Rc::new(stream);
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0;
                loop {
                    let n = (&*stream).read(&mut buf).await.unwrap();
                    resumed_on.borrow_mut().push(thread::current().id());
                    if n == 0 {
                        break;
                    }
                    (&*stream).write_all(&buf[..n]).await.unwrap();
                    total += n;
                }
                stream.shutdown_std(Shutdown::Write).unwrap();
                total
            });
            let client = Rc::new(TcpStream::connect(addr).await.unwrap());
            let writer = task::spawn_local({
                let (client, data) = (client.clone(), data.clone());
                async move {
                    (&*client).write_all(&data).await.unwrap();
                    client.shutdown_std(Shutdown::Write).unwrap();
                }
            });
            let mut echoed = Vec::with_capacity(data.len());
            (&*client).read_to_end(&mut echoed).await.unwrap();
            writer.await.unwrap();
            assert_eq!(server.await.unwrap(), data.len());
            echoed
        }
    });
    assert_bytes_eq(&echoed, &data, "echo through local tasks");
    let resumed_on = resumed_on.borrow();
    assert!(!resumed_on.is_empty());
    assert!(resumed_on.iter().all(|&t| t == owner), "{resumed_on:?}");
}

/// A local task parked on a channel is woken by a task that runs on a
/// worker (on the multi-thread flavor: another thread); it resumes on the
/// owner thread each time, over many round trips.
fn local_task_woken_from_a_worker_runs_on_the_owner(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let owner = thread::current().id();
    let (senders_threads, _local, _rt) = with_local(flavor, |_| async move {
        let rounds = 20;
        let not_send = Rc::new(Cell::new(0));
        let mut sender_threads = Vec::new();
        for _ in 0..rounds {
            let (tx, rx) = runtime::sync::oneshot::channel::<u32>();
            let parked = Arc::new(AtomicBool::new(false));
            let local = task::spawn_local({
                let (parked, not_send) = (parked.clone(), not_send.clone());
                async move {
                    let v = note_pending(parked, rx).await.unwrap();
                    not_send.set(not_send.get() + v);
                    thread::current().id()
                }
            });
            // Sends only once the local task is parked: the wake-up is a
            // real one, from the sender's thread.
            let sender = runtime::spawn(async move {
                yield_until(|| parked.load(Ordering::SeqCst)).await;
                tx.send(1).unwrap();
                thread::current().id()
            });
            sender_threads.push(sender.await.unwrap());
            assert_eq!(local.await.unwrap(), owner);
        }
        assert_eq!(not_send.get(), rounds);
        sender_threads
    });
    if flavor == Flavor::MultiThread {
        // The `block_on` thread is not a worker: every sender ran elsewhere.
        assert!(senders_threads.iter().all(|&t| t != owner));
    }
}

/// A local task's `JoinHandle` (with a `Send` output) is awaited by a task
/// on a worker.
fn local_join_handle_is_awaited_from_a_spawned_task(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let (out, _local, _rt) = with_local(flavor, |_| async move {
        let rc = Rc::new(20);
        let handle = task::spawn_local(async move {
            yield_now().await;
            *rc + 1
        });
        runtime::spawn(async move { handle.await.unwrap() * 2 })
            .await
            .unwrap()
    });
    assert_eq!(out, 42);
}

/// Records the thread it is dropped on.
struct DropOn(Arc<Mutex<Vec<ThreadId>>>);

impl Drop for DropOn {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(thread::current().id());
    }
}

fn dropping_the_set_drops_pending_futures_on_the_owner_and_cancels(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let owner = thread::current().id();
    let drops = Arc::new(Mutex::new(Vec::new()));
    let (handles, local, rt) = with_local(flavor, |_| {
        let drops = drops.clone();
        async move {
            let mut handles = Vec::new();
            // Parked on a socket that never gets data (the reactor holds its
            // waker), on a channel whose sender a worker task keeps, and
            // never polled at all.
            let (client, _server) = runtime_tests::connected_pair().await.unwrap();
            let guard = DropOn(drops.clone());
            handles.push(task::spawn_local(async move {
                let _guard = guard;
                let client = Rc::new(client);
                let mut buf = [0u8; 1];
                let _ = (&*client).read(&mut buf).await;
                unreachable!("no data is ever sent");
            }));
            let (tx, rx) = runtime::sync::oneshot::channel::<()>();
            let guard = DropOn(drops.clone());
            handles.push(task::spawn_local(async move {
                let _guard = (guard, Rc::new(()));
                let _ = rx.await;
                unreachable!("the sender is never used");
            }));
            runtime::spawn(async move {
                let _tx = tx;
                std::future::pending::<()>().await;
            });
            for _ in 0..3 {
                yield_now().await;
            }
            let guard = DropOn(drops.clone());
            handles.push(task::spawn_local(async move { drop(guard) }));
            (handles, _server)
        }
    });
    let (handles, _server) = handles;
    assert!(handles.iter().all(|h| !h.is_finished()));
    assert!(drops.lock().unwrap().is_empty());
    drop(local);
    assert_eq!(*drops.lock().unwrap(), vec![owner; 3]);
    for h in handles {
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    }
}

/// `run_until` returns when its future does, with other local tasks still
/// pending; a later `run_until` drives them on.
fn run_until_returns_with_tasks_pending_and_a_later_one_continues_them(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let progress = Rc::new(Cell::new(0));
    let (tx, rx) = runtime::sync::oneshot::channel::<u32>();
    let (handle, local, rt) = with_local(flavor, |_| {
        let progress = progress.clone();
        async move {
            let handle = task::spawn_local({
                let progress = progress.clone();
                async move {
                    progress.set(1);
                    let v = rx.await.unwrap();
                    progress.set(2);
                    v
                }
            });
            yield_until(|| progress.get() == 1).await;
            // In a tuple: the block's output is the handle, not awaited here.
            (handle,)
        }
    });
    let (handle,) = handle;
    assert_eq!(progress.get(), 1, "the task ran up to its await");
    assert!(!handle.is_finished());
    let out = local.block_on(&rt, async move {
        tx.send(9).unwrap();
        handle.await.unwrap()
    });
    assert_eq!(out, 9);
    assert_eq!(progress.get(), 2);

    // The same with the async `run_until`, inside `block_on`.
    let progress = Rc::new(Cell::new(0));
    let p = progress.clone();
    let handle = local.spawn_local(async move {
        p.set(1);
        yield_now().await;
        p.set(2);
    });
    rt.block_on(local.run_until(async {}));
    rt.block_on(local.run_until(handle)).unwrap();
    assert_eq!(progress.get(), 2);
}

/// Awaiting the set itself completes when its last task ends, tasks spawned
/// by tasks included.
fn the_set_awaited_completes_when_all_tasks_end(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let local = LocalSet::new();
    let done = Rc::new(Cell::new(0));
    for i in 0..10u64 {
        let done = done.clone();
        local.spawn_local(async move {
            runtime::time::sleep(std::time::Duration::from_millis(i)).await;
            let inner = done.clone();
            task::spawn_local(async move {
                yield_now().await;
                inner.set(inner.get() + 1);
            });
            done.set(done.get() + 1);
        });
    }
    rt.block_on(local);
    assert_eq!(done.get(), 20);
}

fn spawn_local_outside_a_local_set_panics(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { drop(task::spawn_local(async {})) })
    }))
    .unwrap_err();
    let msg = panic_message(&*err).unwrap_or_default();
    assert!(msg.contains("outside a `LocalSet`"), "{msg}");
    // And on a plain thread.
    let err = catch_unwind(|| drop(task::spawn_local(async {}))).unwrap_err();
    let msg = panic_message(&*err).unwrap_or_default();
    assert!(msg.contains("outside a `LocalSet`"), "{msg}");
}

fn a_panicking_local_task_is_a_join_error_and_others_keep_running(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let (out, _local, _rt) = with_local(flavor, |_| async {
        let counter = Rc::new(Cell::new(0));
        let others: Vec<_> = (0..5)
            .map(|_| {
                let counter = counter.clone();
                task::spawn_local(async move {
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    counter.set(counter.get() + 1);
                })
            })
            .collect();
        let bad = task::spawn_local(async {
            yield_now().await;
            panic!("local task failed: {}", 3);
        });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert_eq!(
            panic_message(&*err.into_panic()).as_deref(),
            Some("local task failed: 3")
        );
        for h in others {
            h.await.unwrap();
        }
        counter.get()
    });
    assert_eq!(out, 5);
}

fn a_thousand_local_tasks(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let (total, local, _rt) = with_local(flavor, |_| async {
        let total = Rc::new(Cell::new(0u64));
        let handles: Vec<_> = (0..1000u64)
            .map(|i| {
                let total = total.clone();
                task::spawn_local(async move {
                    yield_now().await;
                    total.set(total.get() + i);
                    yield_now().await;
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        total.get()
    });
    assert_eq!(total, (0..1000).sum::<u64>());
    assert!(format!("{local:?}").contains("tasks: 0"), "{local:?}");
}

/// A local task that never yields by itself (reads from an always-ready
/// source) is cut by the coop budget, and the set returns to its poller
/// after a bounded batch: a task of the runtime (on the current-thread
/// flavor, the same thread) gets to run and stop it.
fn a_busy_local_task_yields_to_the_rest_of_the_runtime(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, _local, _rt) = with_local(flavor, |_| {
        let stop = stop.clone();
        async move {
            let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let busy = task::spawn_local({
                let (reads, stop) = (reads.clone(), stop.clone());
                async move {
                    let mut src = runtime::io::repeat(1);
                    let mut buf = [0u8; 16];
                    while !stop.load(Ordering::SeqCst) {
                        src.read_exact(&mut buf).await.unwrap();
                        reads.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            // On multi-thread it may run before the busy task started: it
            // stops it only once it has read.
            let r = reads.clone();
            let other = runtime::spawn(async move {
                while r.load(Ordering::SeqCst) == 0 {
                    yield_now().await;
                }
                stop.store(true, Ordering::SeqCst)
            });
            other.await.unwrap();
            busy.await.unwrap();
            reads.load(Ordering::SeqCst)
        }
    });
    assert!(reads > 0);
    assert!(stop.load(Ordering::SeqCst));
}

/// The other ways in: `JoinSet::spawn_local{,_on}`, `task::Builder::
/// spawn_local{,_on}` and `TaskTracker::spawn_local{,_on}` run `!Send`
/// futures on the set's thread, and the set/tracker see them finish.
fn join_set_builder_and_tracker_spawn_local_tasks(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let owner = thread::current().id();
    let shared = Rc::new(Cell::new(0u32));
    let ((), _local, _rt) = with_local(flavor, |local| {
        let shared = shared.clone();
        let mut set = task::JoinSet::new();
        let s = shared.clone();
        set.spawn_local_on(
            async move {
                s.set(s.get() + 1);
                thread::current().id()
            },
            local,
        );
        let tracker = task::TaskTracker::new();
        let s = shared.clone();
        tracker.spawn_local_on(async move { s.set(s.get() + 10) }, local);
        async move {
            let s = shared.clone();
            set.spawn_local(async move {
                yield_now().await;
                s.set(s.get() + 100);
                thread::current().id()
            });
            let s = shared.clone();
            let named = task::Builder::new()
                .name("local-named")
                .spawn_local(async move {
                    s.set(s.get() + 1000);
                    thread::current().id()
                })
                .unwrap();
            let s = shared.clone();
            tracker.spawn_local(async move { s.set(s.get() + 10_000) });
            let s = shared.clone();
            let on = task::Builder::new()
                .spawn_local_on(async move { s.set(s.get() + 100_000) }, &LocalSet::new());
            // That one belongs to another (never driven) set: dropped unrun.
            drop(on);
            while let Some(res) = set.join_next().await {
                assert_eq!(res.unwrap(), owner);
            }
            assert_eq!(named.await.unwrap(), owner);
            tracker.close();
            tracker.wait().await;
            assert_eq!(shared.get(), 11_111);
        }
    });
}

flavor_tests!(
    join_set_builder_and_tracker_spawn_local_tasks,
    rc_refcell_tasks_run_and_share_state,
    local_tasks_echo_over_tcp_byte_exact,
    local_task_woken_from_a_worker_runs_on_the_owner,
    local_join_handle_is_awaited_from_a_spawned_task,
    dropping_the_set_drops_pending_futures_on_the_owner_and_cancels,
    run_until_returns_with_tasks_pending_and_a_later_one_continues_them,
    the_set_awaited_completes_when_all_tasks_end,
    spawn_local_outside_a_local_set_panics,
    a_panicking_local_task_is_a_join_error_and_others_keep_running,
    a_thousand_local_tasks,
    a_busy_local_task_yields_to_the_rest_of_the_runtime,
);

/// On a multi-thread runtime's worker (in `block_in_place`, through
/// `Handle::block_on`), a `LocalSet` runs its tasks on that thread.
#[test]
fn a_local_set_runs_on_a_worker_inside_block_in_place() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    let out = rt.block_on(async {
        runtime::spawn(async {
            let worker = thread::current().id();
            task::block_in_place(move || {
                let local = LocalSet::new();
                runtime::Handle::current().block_on(local.run_until(async move {
                    let rc = Rc::new(thread::current().id());
                    let (tx, rx) = runtime::sync::oneshot::channel::<()>();
                    runtime::spawn(async move { tx.send(()).unwrap() });
                    let h = task::spawn_local(async move {
                        rx.await.unwrap();
                        (*rc, thread::current().id())
                    });
                    let (spawned_on, resumed_on) = h.await.unwrap();
                    spawned_on == worker && resumed_on == worker
                }))
            })
        })
        .await
        .unwrap()
    });
    assert!(out);
}

/// The panic message of `block_in_place` inside a `LocalSet` off the
/// worker threads.
const IN_LOCAL_SET: &str = "`block_in_place` cannot be used inside a `LocalSet`";

/// Pending forever; calls `block_in_place` when dropped.
struct BlockInPlaceOnDrop;

impl Future for BlockInPlaceOnDrop {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

impl Drop for BlockInPlaceOnDrop {
    fn drop(&mut self) {
        task::block_in_place(|| ());
    }
}

/// The message of a local task's panic.
fn local_panic(h: Result<(), runtime::JoinError>) -> String {
    let err = h.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    panic_message(&*err.into_panic()).unwrap_or_default()
}

/// As in tokio, `block_in_place` panics inside a `LocalSet` driven on a
/// multi-thread runtime's `block_on` thread: in the future of `run_until`
/// (`LocalSet::block_on`), in a local task of the set awaited or run
/// with `run_until`, and in a future the set drops. The set's other tasks
/// still run to the end, and `block_on` itself allows `block_in_place`
/// again once the set is no longer polled.
#[test]
fn block_in_place_in_a_local_set_on_the_block_on_thread_panics() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    let mut local = LocalSet::new();

    let err = catch_unwind(AssertUnwindSafe(|| {
        local.block_on(&rt, async { task::block_in_place(|| ()) })
    }))
    .unwrap_err();
    let msg = panic_message(&*err).unwrap_or_default();
    assert!(msg.contains(IN_LOCAL_SET), "{msg}");

    // A local task that blocks in place fails; a sibling that waits across
    // the failure completes.
    let ran = Rc::new(Cell::new(false));
    let sibling = local.spawn_local({
        let ran = ran.clone();
        async move {
            yield_now().await;
            yield_now().await;
            ran.set(true);
        }
    });
    let bad = local.spawn_local(async { task::block_in_place(|| ()) });
    rt.block_on(&mut local);
    assert!(local_panic(rt.block_on(bad)).contains(IN_LOCAL_SET));
    rt.block_on(sibling).unwrap();
    assert!(ran.get());

    // The same through `run_until` inside `Runtime::block_on`, and with
    // the set awaited there.
    let out = rt.block_on(async {
        let bad = local.spawn_local(async { task::block_in_place(|| ()) });
        let msg = local.run_until(async { local_panic(bad.await) }).await;
        let bad = local.spawn_local(async { task::block_in_place(|| ()) });
        (&mut local).await;
        (msg, local_panic(bad.await))
    });
    assert!(out.0.contains(IN_LOCAL_SET), "{}", out.0);
    assert!(out.1.contains(IN_LOCAL_SET), "{}", out.1);

    // Outside the set's polls, the `block_on` thread may block in place.
    assert_eq!(rt.block_on(async { task::block_in_place(|| 7) }), 7);

    // A future dropped with the set, inside `block_on`.
    let msg = rt.block_on(async {
        let local = LocalSet::new();
        let h = local.spawn_local(BlockInPlaceOnDrop);
        local.run_until(yield_now()).await;
        drop(local);
        local_panic(h.await)
    });
    assert!(msg.contains(IN_LOCAL_SET), "{msg}");
}

/// On a current-thread runtime, `block_in_place` in a `LocalSet` panics as
/// it does anywhere on that runtime.
#[test]
fn block_in_place_in_a_local_set_on_a_current_thread_runtime_panics() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::CurrentThread.build();
    let mut local = LocalSet::new();
    let bad = local.spawn_local(async { task::block_in_place(|| ()) });
    rt.block_on(&mut local);
    let msg = local_panic(rt.block_on(bad));
    assert!(msg.contains("current-thread runtime"), "{msg}");
}

/// Off the workers there is no queue to hand on, and so no exception: a
/// `LocalSet` in `Handle::block_on` on a blocking-pool thread refuses too.
#[test]
fn block_in_place_in_a_local_set_on_the_blocking_pool_panics() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = Flavor::MultiThread.build();
    let handle = rt.handle().clone();
    let msg = rt
        .block_on(rt.spawn_blocking(move || {
            let local = LocalSet::new();
            let bad = local.spawn_local(async { task::block_in_place(|| ()) });
            handle.block_on(local.run_until(async { local_panic(bad.await) }))
        }))
        .unwrap();
    assert!(msg.contains(IN_LOCAL_SET), "{msg}");
}

/// Runs `future` on this thread with no runtime's help: polls it, parks
/// until woken. (An executor nested in a task, the way a `LocalSet` gets
/// polled on a worker thread.)
fn park_block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A local task's body for the worker cases: spawns a task on the runtime,
/// then blocks in place until that task has run (which, on a one-worker
/// runtime, needs the worker's queue handed on), then blocks in place a
/// second time (the worker is already handed on); then it and its
/// siblings, one spawned before it and one after, finish on this thread.
async fn blocks_in_place_twice_with_siblings() -> bool {
    let owner = thread::current().id();
    let (tx, rx) = runtime::sync::oneshot::channel::<ThreadId>();
    let before = task::spawn_local(async move { (rx.await.unwrap(), thread::current().id()) });
    let rc = Rc::new(());
    let (ran_tx, ran_rx) = std::sync::mpsc::channel();
    let in_place = task::spawn_local(async move {
        runtime::spawn(async move { ran_tx.send(()).unwrap() });
        let handed_on = task::block_in_place(|| ran_rx.recv_timeout(HANG_LIMIT).is_ok());
        let again = task::block_in_place(|| 2);
        tx.send(thread::current().id()).unwrap();
        yield_now().await;
        (
            handed_on,
            again,
            Rc::strong_count(&rc),
            thread::current().id(),
        )
    });
    let after = task::spawn_local(async { thread::current().id() });
    let (handed_on, again, rc_count, in_place_on) = in_place.await.unwrap();
    let (sent_from, before_on) = before.await.unwrap();
    let after_on = after.await.unwrap();
    assert!(handed_on, "the worker's queue was not handed on");
    assert_eq!((again, rc_count), (2, 1));
    assert_eq!([in_place_on, sent_from, before_on, after_on], [owner; 4]);
    true
}

/// As in tokio, on a worker thread `block_in_place` works inside a
/// `LocalSet`: polled by an executor nested in a task (the worker still has
/// its queue, which is handed on), and in `Handle::block_on` inside a
/// `block_in_place` (handed on already). The set's other tasks stay on the
/// thread and finish; the runtime goes on running tasks meanwhile.
#[test]
fn block_in_place_in_a_local_set_on_a_worker_runs_and_keeps_the_sets_tasks() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let nested = rt.block_on(rt.spawn(async {
        park_block_on(LocalSet::new().run_until(blocks_in_place_twice_with_siblings()))
    }));
    assert!(nested.unwrap());
    let in_block_on = rt.block_on(rt.spawn(async {
        task::block_in_place(|| {
            runtime::Handle::current()
                .block_on(LocalSet::new().run_until(blocks_in_place_twice_with_siblings()))
        })
    }));
    assert!(in_block_on.unwrap());
    // The runtime still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}
