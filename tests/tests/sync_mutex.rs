//! `runtime::sync::Mutex`: mutual exclusion under contention, FIFO hand-off,
//! cancel-safety (a dropped `lock()` passes the lock on), `blocking_lock`
//! from a plain thread, mapped and owned guards, the cooperative budget, and
//! a lock shared by tasks doing real TCP I/O, on both schedulers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::sync::{MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard};
use runtime_tests::{block_on, echo_server, flavor_tests, Flavor, WakeCounter};

fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

fn contended_counter_is_exact(flavor: Flavor) {
    block_on(flavor, async {
        let m = Arc::new(Mutex::new(0u64));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let m = m.clone();
            tasks.push(runtime::spawn(async move {
                for i in 0..2000u32 {
                    let mut g = m.lock().await;
                    let v = *g;
                    if i % 16 == 0 {
                        runtime::task::yield_now().await; // held across an await
                    }
                    *g = v + 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*m.lock().await, 8 * 2000);
    });
}

fn lock_is_handed_over_in_arrival_order(flavor: Flavor) {
    block_on(flavor, async {
        const N: usize = 12;
        let m = Mutex::new(Vec::new());
        let held = m.lock().await;
        let wakes: Vec<_> = (0..N).map(|_| WakeCounter::new()).collect();
        let mut waits: Vec<_> = (0..N).map(|_| Box::pin(m.lock())).collect();
        for (w, (_, waker)) in waits.iter_mut().zip(&wakes) {
            assert!(poll_with(w.as_mut(), waker).is_pending());
        }
        // A newcomer cannot barge in while others wait.
        drop(held);
        assert!(m.try_lock().is_err());
        for i in 0..N {
            assert_eq!(
                wakes[i].0.count(),
                1,
                "waiter {i} is woken when its turn comes"
            );
            for (j, later) in waits.iter_mut().enumerate().skip(i + 1) {
                assert!(poll_with(later.as_mut(), &wakes[j].1).is_pending());
            }
            let Poll::Ready(mut g) = poll_with(waits[i].as_mut(), &wakes[i].1) else {
                panic!("waiter {i} should hold the lock");
            };
            g.push(i);
        }
        drop(waits);
        assert_eq!(*m.lock().await, (0..N).collect::<Vec<_>>());
    });
}

fn dropped_lock_future_passes_the_lock_on(flavor: Flavor) {
    block_on(flavor, async {
        let m = Mutex::new(1);
        let waker = Waker::noop();
        let held = m.lock().await;
        let mut first = Box::pin(m.lock());
        let mut second = Box::pin(m.lock());
        assert!(poll_with(first.as_mut(), waker).is_pending());
        assert!(poll_with(second.as_mut(), waker).is_pending());
        drop(held); // hands the lock to `first`...
        drop(first); // ...which is dropped before it saw it
        let Poll::Ready(g) = poll_with(second.as_mut(), waker) else {
            panic!("the lock went on to the next waiter");
        };
        drop(g);
        drop(second);
        assert!(m.try_lock().is_ok());

        // A task aborted while waiting for the lock does not keep it.
        let m = Arc::new(Mutex::new(0));
        let held = m.clone().lock_owned().await;
        let m2 = m.clone();
        let waiting = runtime::spawn(async move {
            *m2.lock().await += 1;
        });
        runtime::task::yield_now().await;
        waiting.abort();
        drop(held);
        let _ = waiting.await;
        let g = m.lock().await;
        assert!(*g <= 1);
    });
}

fn guards_map_and_own(flavor: Flavor) {
    block_on(flavor, async {
        let m = Arc::new(Mutex::new((1, String::from("a"))));
        {
            let mut s: MappedMutexGuard<'_, String> = MutexGuard::map(m.lock().await, |v| &mut v.1);
            s.push('b');
            assert!(m.try_lock().is_err(), "a mapped guard keeps the lock");
        }
        let g = m.lock().await;
        let g = match MutexGuard::try_map(g, |_| None::<&mut u8>) {
            Ok(_) => panic!("try_map with None gives the guard back"),
            Err(g) => g,
        };
        assert!(std::ptr::eq(MutexGuard::mutex(&g), &*m));
        drop(g);
        let owned = m.clone().lock_owned().await;
        assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&owned), &m));
        let mut first = OwnedMutexGuard::map(owned, |v| &mut v.0);
        // The owned guard moves into another task and unlocks there.
        runtime::spawn(async move { *first += 10 }).await.unwrap();
        assert_eq!(*m.lock().await, (11, String::from("ab")));
        assert!(m.clone().try_lock_owned().is_ok());
        assert_eq!(format!("{:?}", m), "Mutex { data: (11, \"ab\") }");
        let g = m.lock().await;
        assert_eq!(format!("{:?}", m), "Mutex { data: <locked> }");
        drop(g);
        let inner = Arc::try_unwrap(m).unwrap();
        let mut inner = inner;
        inner.get_mut().0 = 0;
        assert_eq!(inner.into_inner(), (0, String::from("ab")));
    });
}

/// A task that keeps locking an uncontended mutex yields once its budget is
/// spent, so another task on the same thread runs.
fn lock_loop_yields_to_other_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let m = Arc::new(Mutex::new(0u32));
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let looping = runtime::spawn(async move {
            let _other = runtime::spawn(async move { flag.store(true, Ordering::SeqCst) });
            for i in 0..100_000u32 {
                if other_ran.load(Ordering::SeqCst) {
                    return Some(i);
                }
                *m.lock().await += 1;
            }
            None
        });
        assert!(
            looping.await.unwrap().is_some(),
            "a loop of uncontended locks never let the other task run"
        );
    });
}

/// Tasks append to one shared log under the lock while each echoes over its
/// own TCP connection; every record arrives whole.
fn shared_log_between_io_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let (addr, _stats) = echo_server().await.unwrap();
        let log = Arc::new(Mutex::new(Vec::<u8>::new()));
        let mut tasks = Vec::new();
        for i in 0..6u8 {
            let log = log.clone();
            tasks.push(runtime::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                for round in 0..10u8 {
                    let msg = [i, round, i, round];
                    s.write_all(&msg).await.unwrap();
                    let mut back = [0u8; 4];
                    s.read_exact(&mut back).await.unwrap();
                    let mut g = log.lock().await;
                    // Two writes with an await between them: the lock keeps
                    // the record whole.
                    g.extend_from_slice(&back[..2]);
                    runtime::task::yield_now().await;
                    g.extend_from_slice(&back[2..]);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let log = log.lock().await;
        assert_eq!(log.len(), 6 * 10 * 4);
        for rec in log.chunks(4) {
            assert_eq!((rec[0], rec[1]), (rec[2], rec[3]), "a torn record: {rec:?}");
        }
    });
}

/// `blocking_lock` from plain threads interleaves with tasks locking it.
fn blocking_lock_from_plain_threads(flavor: Flavor) {
    let m = Arc::new(Mutex::new(0u32));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    *m.blocking_lock() += 1;
                }
                let mut g = m.clone().blocking_lock_owned();
                *g += 1;
            })
        })
        .collect();
    block_on(flavor, async {
        for _ in 0..500 {
            *m.lock().await += 1;
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.blocking_lock(), 1502);
}

/// An owned mapped guard narrows further (`map`, `try_map`) and keeps
/// the lock held until the last narrowed guard is dropped.
fn owned_mapped_guards_narrow_further(flavor: Flavor) {
    block_on(flavor, async {
        let m = Arc::new(Mutex::new((0u8, [1u32, 2, 3])));
        let g = OwnedMutexGuard::map(m.clone().lock_owned().await, |v| &mut v.1);
        let g = OwnedMappedMutexGuard::try_map(g, |a| a.get_mut(8)).unwrap_err();
        let mut g = OwnedMappedMutexGuard::map(g, |a| &mut a[2]);
        *g = 30;
        assert!(m.try_lock().is_err());
        assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&g), &m));
        let mut g = OwnedMappedMutexGuard::try_map(g, |v| Some(v)).unwrap();
        *g += 1;
        drop(g);
        assert_eq!(m.lock().await.1, [1, 2, 31]);
    });
}

flavor_tests!(
    owned_mapped_guards_narrow_further,
    contended_counter_is_exact,
    lock_is_handed_over_in_arrival_order,
    dropped_lock_future_passes_the_lock_on,
    guards_map_and_own,
    lock_loop_yields_to_other_tasks,
    shared_log_between_io_tasks,
    blocking_lock_from_plain_threads,
);

#[test]
fn blocking_lock_inside_a_runtime_panics() {
    let rt = Flavor::CurrentThread.build();
    let m = Mutex::new(());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { drop(m.blocking_lock()) })
    }));
    assert!(r.is_err());
}

#[test]
fn const_new_and_try_lock_error() {
    static M: Mutex<u32> = Mutex::const_new(5);
    let g = M.try_lock().unwrap();
    let err = M.try_lock().err().unwrap();
    assert_eq!(err.to_string(), "operation would block");
    assert_eq!(*g, 5);
}

#[test]
fn guards_are_send_and_sync_as_tokio_says() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<MutexGuard<'static, Vec<u8>>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send_sync::<MappedMutexGuard<'static, Vec<u8>>>();
    fn send<T: Send>() {}
    send::<Mutex<std::cell::Cell<u8>>>();
}
