//! `runtime::sync::Semaphore`: FIFO fairness (a large request at the head is
//! not starved by small ones), cancel-safety (a dropped wait passes on the
//! permits it was assigned), closing, permit bookkeeping, the cooperative
//! budget, and use between tasks doing real TCP I/O, on both schedulers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::sync::{AcquireError, Semaphore, TryAcquireError};
use runtime_tests::{block_on, echo_server, flavor_tests, Flavor, WakeCounter};

/// Polls `fut` once with `waker`.
fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

fn large_request_at_head_is_not_starved(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Semaphore::new(0);
        let (big_wakes, big_waker) = WakeCounter::new();
        let (small_wakes, small_waker) = WakeCounter::new();
        let mut big = Box::pin(sem.acquire_many(3));
        let mut small = Box::pin(sem.acquire());
        assert!(poll_with(big.as_mut(), &big_waker).is_pending());
        assert!(poll_with(small.as_mut(), &small_waker).is_pending());

        // Single permits go to the head's large request, not to the small
        // one behind it, nor to a newcomer.
        for _ in 0..2 {
            sem.add_permits(1);
            assert!(poll_with(small.as_mut(), &small_waker).is_pending());
            assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(big_wakes.count(), 0);
        sem.add_permits(1);
        assert_eq!(big_wakes.count(), 1, "the served waiter is woken");
        let Poll::Ready(Ok(big_permit)) = poll_with(big.as_mut(), &big_waker) else {
            panic!("the large request is served once its three permits came");
        };
        assert_eq!(big_permit.num_permits(), 3);
        assert!(poll_with(small.as_mut(), &small_waker).is_pending());
        drop(big_permit);
        assert_eq!(small_wakes.count(), 1);
        let Poll::Ready(Ok(p)) = poll_with(small.as_mut(), &small_waker) else {
            panic!("the small request is served next");
        };
        assert_eq!(sem.available_permits(), 2);
        drop(p);
        assert_eq!(sem.available_permits(), 3);
    });
}

fn waiters_are_served_in_arrival_order(flavor: Flavor) {
    block_on(flavor, async {
        const N: usize = 16;
        let sem = Semaphore::new(1);
        let held = sem.acquire().await.unwrap();
        let waker = Waker::noop();
        let mut waits: Vec<_> = (0..N).map(|_| Box::pin(sem.acquire())).collect();
        for w in &mut waits {
            assert!(poll_with(w.as_mut(), waker).is_pending());
        }
        drop(held);
        for i in 0..N {
            // Only the oldest waiter holds the permit; every later one waits.
            for later in &mut waits[i + 1..] {
                assert!(poll_with(later.as_mut(), waker).is_pending());
            }
            let Poll::Ready(Ok(p)) = poll_with(waits[i].as_mut(), waker) else {
                panic!("waiter {i} should be served in turn");
            };
            drop(p);
        }
        assert_eq!(sem.available_permits(), 1);
    });
}

fn dropped_wait_passes_on_assigned_permits(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Semaphore::new(0);
        let waker = Waker::noop();
        let mut big = Box::pin(sem.acquire_many(3));
        let mut small = Box::pin(sem.acquire());
        assert!(poll_with(big.as_mut(), waker).is_pending());
        assert!(poll_with(small.as_mut(), waker).is_pending());
        sem.add_permits(2); // assigned to `big`, which still needs one
        assert_eq!(sem.available_permits(), 0);
        drop(big);
        let Poll::Ready(Ok(p)) = poll_with(small.as_mut(), waker) else {
            panic!("the permits of the dropped wait go to the next one");
        };
        assert_eq!(sem.available_permits(), 1);
        drop(p);
        assert_eq!(sem.available_permits(), 2);

        // A wait served but dropped before it was polled again gives all back.
        let mut served = Box::pin(sem.acquire_many(3));
        assert!(poll_with(served.as_mut(), waker).is_pending());
        sem.add_permits(1);
        drop(served);
        assert_eq!(sem.available_permits(), 3);

        // Across tasks: a waiting task aborted mid-wait loses nothing.
        let sem = Arc::new(Semaphore::new(0));
        let s2 = sem.clone();
        let waiting = runtime::spawn(async move { s2.acquire_many(5).await.map(|p| p.forget()) });
        runtime::task::yield_now().await;
        sem.add_permits(4);
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        assert_eq!(sem.available_permits(), 4);
    });
}

fn close_fails_waiters_and_later_acquires(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().acquire_owned().await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let s = sem.clone();
            tasks.push(runtime::spawn(async move { s.acquire_many(2).await.err() }));
        }
        for _ in 0..4 {
            runtime::task::yield_now().await;
        }
        sem.close();
        assert!(sem.is_closed());
        for t in tasks {
            assert!(t.await.unwrap().is_some(), "a waiter is failed by close");
        }
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
        assert!(sem.acquire().await.is_err());
        // Permits held across the close still go back.
        drop(held);
        assert_eq!(sem.available_permits(), 1);
    });
}

fn permit_bookkeeping(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Arc::new(Semaphore::new(10));
        let mut a = sem.acquire_many(2).await.unwrap();
        let b = sem.try_acquire_many(3).unwrap();
        a.merge(b);
        assert_eq!(a.num_permits(), 5);
        let c = a.split(4).unwrap();
        assert!(a.split(2).is_none());
        assert_eq!((a.num_permits(), c.num_permits()), (1, 4));
        c.forget();
        drop(a);
        assert_eq!(sem.available_permits(), 6);
        assert_eq!(sem.forget_permits(2), 2);
        assert_eq!(sem.forget_permits(100), 4);
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(3);
        let mut o = sem.clone().try_acquire_many_owned(2).unwrap();
        let o2 = sem.clone().try_acquire_owned().unwrap();
        assert!(Arc::ptr_eq(o.semaphore(), &sem));
        o.merge(o2);
        assert_eq!(o.num_permits(), 3);
        assert_eq!(
            sem.clone().try_acquire_owned().err(),
            Some(TryAcquireError::NoPermits)
        );
        drop(o);
        assert_eq!(sem.available_permits(), 3);
        assert_eq!(
            AcquireError::to_string(&closed_now().await),
            "semaphore closed"
        );
        assert_eq!(TryAcquireError::Closed.to_string(), "semaphore closed");
        assert_eq!(
            TryAcquireError::NoPermits.to_string(),
            "no permits available"
        );
        assert!(TryAcquireError::Closed.is_closed());
        assert!(TryAcquireError::NoPermits.is_no_permits());
    });
}

async fn closed_now() -> AcquireError {
    let sem = Semaphore::new(1);
    sem.close();
    sem.acquire().await.unwrap_err()
}

/// A task that keeps acquiring an always-available permit yields once its
/// budget is spent, so another task on the same thread runs.
fn acquire_loop_yields_to_other_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Arc::new(Semaphore::new(1));
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let looping = runtime::spawn(async move {
            let _other = runtime::spawn(async move { flag.store(true, Ordering::SeqCst) });
            for i in 0..100_000u32 {
                if other_ran.load(Ordering::SeqCst) {
                    return Some(i);
                }
                drop(sem.acquire().await.unwrap());
            }
            None
        });
        let yielded_after = looping.await.unwrap();
        assert!(
            yielded_after.is_some(),
            "a loop of ready acquires never let the other task run"
        );
    });
}

/// Eight tasks, two at a time under a semaphore, each echo a message over its
/// own TCP connection.
fn limits_concurrent_connections(flavor: Flavor) {
    block_on(flavor, async {
        let (addr, _stats) = echo_server().await.unwrap();
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            tasks.push(runtime::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let mut s = TcpStream::connect(addr).await.unwrap();
                let msg = [i; 64];
                s.write_all(&msg).await.unwrap();
                let mut back = [0u8; 64];
                s.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg);
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(sem.available_permits(), 2);
    });
}

/// Many tasks hammering a semaphore from both workers end with every permit
/// back.
fn contended_permits_balance(flavor: Flavor) {
    block_on(flavor, async {
        let sem = Arc::new(Semaphore::new(3));
        let mut tasks = Vec::new();
        for t in 0..8u32 {
            let sem = sem.clone();
            tasks.push(runtime::spawn(async move {
                for i in 0..500u32 {
                    let p = sem.acquire_many(1 + (t + i) % 3).await.unwrap();
                    if i % 7 == 0 {
                        runtime::task::yield_now().await;
                    }
                    drop(p);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sem.available_permits(), 3);
    });
}

flavor_tests!(
    large_request_at_head_is_not_starved,
    waiters_are_served_in_arrival_order,
    dropped_wait_passes_on_assigned_permits,
    close_fails_waiters_and_later_acquires,
    permit_bookkeeping,
    acquire_loop_yields_to_other_tasks,
    limits_concurrent_connections,
    contended_permits_balance,
);

#[test]
fn const_new_in_a_static() {
    static SEM: Semaphore = Semaphore::const_new(2);
    let p = SEM.try_acquire_many(2).unwrap();
    assert_eq!(SEM.available_permits(), 0);
    drop(p);
    assert_eq!(SEM.available_permits(), 2);
}

#[test]
#[should_panic(expected = "MAX_PERMITS")]
fn add_permits_past_max_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.add_permits(1);
}
