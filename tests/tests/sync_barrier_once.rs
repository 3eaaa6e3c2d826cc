//! `runtime::sync::Barrier` (one leader per round, rounds repeat) and
//! `runtime::sync::OnceCell` (one initialiser at a time; a cancelled or
//! failed one lets the next run; `set`'s errors), on both schedulers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::sync::{Barrier, Notify, OnceCell, SetError};
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

flavor_tests!(
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
