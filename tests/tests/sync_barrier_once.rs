//! `runtime::sync::Barrier` (one leader per round, rounds repeat) and
//! `runtime::sync::OnceCell` (one initialiser at a time; a cancelled or
//! failed one lets the next run; `set`'s errors) and `runtime::sync::SetOnce`
//! (one `set` wins; waiters, including one on a TCP-driven task, wake to its
//! value), on both schedulers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::sync::{Barrier, Notify, OnceCell, SetError, SetOnce, SetOnceError};
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor};

fn barrier_rounds_have_one_leader(flavor: Flavor) {
    block_on(flavor, async {
        let barrier = Arc::new(Barrier::new(3));
        let leaders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (b, l) = (barrier.clone(), leaders.clone());
            tasks.push(runtime::spawn(async move {
                for _ in 0..10 {
                    if b.wait().await.is_leader() {
                        l.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(leaders.load(Ordering::SeqCst), 10);
        assert!(Barrier::new(0).wait().await.is_leader());
    });
}

fn barrier_between_tcp_tasks(flavor: Flavor) {
    block_on(flavor, async {
        use runtime::io::{AsyncReadExt, AsyncWriteExt};
        let (mut a, mut b) = connected_pair().await.unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let b2 = barrier.clone();
        let reader = runtime::spawn(async move {
            b2.wait().await; // the writer has written
            let mut buf = [0u8; 5];
            b.read_exact(&mut buf).await.unwrap();
            buf
        });
        a.write_all(b"hello").await.unwrap();
        barrier.wait().await;
        assert_eq!(&reader.await.unwrap(), b"hello");
    });
}

fn once_cell_runs_one_initialiser(flavor: Flavor) {
    block_on(flavor, async {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        for i in 0..6u32 {
            let (cell, runs, gate) = (cell.clone(), runs.clone(), gate.clone());
            tasks.push(runtime::spawn(async move {
                *cell
                    .get_or_init(|| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        i
                    })
                    .await
            }));
        }
        while runs.load(Ordering::SeqCst) == 0 {
            runtime::task::yield_now().await;
        }
        gate.notify_one();
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await.unwrap());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
        assert!(cell.initialized());
        assert_eq!(cell.set(99), Err(SetError::AlreadyInitializedError(99)));
    });
}

fn once_cell_cancelled_or_failed_init_lets_the_next_run(flavor: Flavor) {
    block_on(flavor, async {
        let cell = Arc::new(OnceCell::<u32>::new());
        // A failed initialiser leaves the cell empty.
        let r: Result<&u32, &str> = cell.get_or_try_init(|| async { Err("no") }).await;
        assert_eq!(r, Err("no"));
        assert!(cell.get().is_none());
        // A cancelled one (its task aborted mid-init) does too.
        let c2 = cell.clone();
        let stuck =
            runtime::spawn(async move { *c2.get_or_init(std::future::pending::<u32>).await });
        runtime::task::yield_now().await;
        assert!(matches!(
            cell.set(1),
            Err(SetError::InitializingError(1)) | Ok(())
        ));
        stuck.abort();
        let _ = stuck.await;
        let v = *cell.get_or_init(|| async { 5 }).await;
        assert!(v == 5 || v == 1);
        let mut owned = Arc::try_unwrap(cell).unwrap();
        assert_eq!(owned.take(), Some(v));
        assert!(owned.set(8).is_ok());
        assert_eq!(owned.into_inner(), Some(8));
        assert_eq!(
            SetError::InitializingError(()).to_string(),
            "InitializingError"
        );
        assert!(SetError::AlreadyInitializedError(()).is_already_init_err());
    });
}

/// Many tasks wait; a task that read a value from a TCP peer sets it; every
/// waiter (and a late one) gets that value, and a second `set` gives its
/// value back.
fn set_once_wakes_every_waiter_to_the_value(flavor: Flavor) {
    block_on(flavor, async {
        use runtime::io::{AsyncReadExt, AsyncWriteExt};
        let cell = Arc::new(SetOnce::<u32>::new());
        let mut waiters = Vec::new();
        for _ in 0..20 {
            let c = cell.clone();
            waiters.push(runtime::spawn(async move { *c.wait().await }));
        }
        // Let them all reach their wait.
        for _ in 0..5 {
            runtime::task::yield_now().await;
        }
        assert!(!cell.initialized());
        assert_eq!(cell.get(), None);
        let (mut a, mut b) = connected_pair().await.unwrap();
        let c = cell.clone();
        let setter = runtime::spawn(async move {
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            c.set(u32::from_be_bytes(buf))
        });
        a.write_all(&0xC0FFEEu32.to_be_bytes()).await.unwrap();
        assert_eq!(setter.await.unwrap(), Ok(()));
        for w in waiters {
            assert_eq!(w.await.unwrap(), 0xC0FFEE);
        }
        assert_eq!(*cell.wait().await, 0xC0FFEE);
        assert_eq!(cell.set(1), Err(SetOnceError(1)));
        assert_eq!(SetOnceError(1).to_string(), "SetOnceError");
        let owned = Arc::try_unwrap(cell).unwrap();
        assert_eq!(owned.into_inner(), Some(0xC0FFEE));
    });
}

/// Two racing setters on threads: exactly one wins, and a dropped wait
/// loses nothing for a later one.
fn set_once_one_of_racing_sets_wins(flavor: Flavor) {
    block_on(flavor, async {
        for round in 0..200u32 {
            let cell = Arc::new(SetOnce::new());
            // A wait polled once and dropped.
            {
                let c = cell.clone();
                let mut w = Box::pin(async move { *c.wait().await });
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                assert!(std::future::Future::poll(w.as_mut(), &mut cx).is_pending());
            }
            let threads: Vec<_> = (0..2)
                .map(|i| {
                    let c = cell.clone();
                    std::thread::spawn(move || c.set(round * 2 + i).is_ok())
                })
                .collect();
            let v = *cell.wait().await;
            let wins: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            assert_eq!(wins.iter().filter(|w| **w).count(), 1, "round {round}");
            let winner = wins.iter().position(|w| *w).unwrap() as u32;
            assert_eq!(v, round * 2 + winner);
        }
    });
}

flavor_tests!(
    set_once_wakes_every_waiter_to_the_value,
    set_once_one_of_racing_sets_wins,
    barrier_rounds_have_one_leader,
    barrier_between_tcp_tasks,
    once_cell_runs_one_initialiser,
    once_cell_cancelled_or_failed_init_lets_the_next_run,
);

#[test]
fn once_cell_static_and_traits() {
    static CELL: OnceCell<u8> = OnceCell::const_new();
    assert!(CELL.set(1).is_ok());
    assert_eq!(CELL.get(), Some(&1));
    let a = OnceCell::from(3);
    assert_eq!(a.clone(), a);
    assert_eq!(format!("{a:?}"), "OnceCell { value: Some(3) }");
}

#[test]
fn set_once_static_and_traits() {
    static EMPTY: SetOnce<u8> = SetOnce::const_new();
    static FULL: SetOnce<u8> = SetOnce::const_new_with(9);
    assert_eq!(EMPTY.get(), None);
    assert!(EMPTY.set(1).is_ok());
    assert_eq!(EMPTY.get(), Some(&1));
    assert_eq!(FULL.get(), Some(&9));
    assert_eq!(FULL.set(2), Err(SetOnceError(2)));
    let a = SetOnce::from(3);
    assert_eq!(a.clone(), a);
    assert_eq!(SetOnce::new_with(None::<u8>), SetOnce::default());
    assert_eq!(format!("{a:?}"), "SetOnce { value: Some(3) }");
    fn check<T: Send + Sync>() {}
    check::<SetOnce<String>>();
    // Dropping a set cell drops its value once.
    let rc = Arc::new(());
    drop(SetOnce::new_with(Some(rc.clone())));
    assert_eq!(Arc::strong_count(&rc), 1);
}
