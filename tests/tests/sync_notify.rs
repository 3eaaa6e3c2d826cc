//! `runtime::sync::Notify`: a `notify_one` is never lost (stored as one
//! permit with no waiter; delivered to an enabled or created-before future;
//! passed on by a dropped one), FIFO and LIFO wake order, `notify_waiters`
//! wakes only earlier waiters, `notified_owned` in spawned tasks, and a
//! ping-pong between tasks doing TCP I/O, on both schedulers.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::sync::Notify;
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor, WakeCounter};

fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

fn notify_one_without_waiter_stores_one_permit(flavor: Flavor) {
    block_on(flavor, async {
        let n = Notify::new();
        n.notify_one();
        n.notify_one(); // still one permit
        n.notified().await;
        let mut second = pin!(n.notified());
        assert!(poll_with(second.as_mut(), Waker::noop()).is_pending());
        n.notify_one();
        assert!(poll_with(second.as_mut(), Waker::noop()).is_ready());
    });
}

fn enabled_future_receives_notify_one(flavor: Flavor) {
    block_on(flavor, async {
        let n = Notify::new();
        let mut a = pin!(n.notified());
        assert!(!a.as_mut().enable());
        n.notify_one();
        // The notification went to `a`, not into a stored permit.
        let mut b = pin!(n.notified());
        assert!(poll_with(b.as_mut(), Waker::noop()).is_pending());
        assert!(a.as_mut().enable());
        a.await;
    });
}

fn wakes_in_fifo_order_and_notify_last_in_lifo(flavor: Flavor) {
    block_on(flavor, async {
        let n = Notify::new();
        let counters: Vec<_> = (0..3).map(|_| WakeCounter::new()).collect();
        let mut futs: Vec<_> = (0..3).map(|_| Box::pin(n.notified())).collect();
        for (f, (_, w)) in futs.iter_mut().zip(&counters) {
            assert!(poll_with(f.as_mut(), w).is_pending());
        }
        n.notify_one();
        assert_eq!(
            counters.iter().map(|c| c.0.count()).collect::<Vec<_>>(),
            [1, 0, 0]
        );
        n.notify_last();
        assert_eq!(
            counters.iter().map(|c| c.0.count()).collect::<Vec<_>>(),
            [1, 0, 1]
        );
        for (i, f) in futs.iter_mut().enumerate() {
            let ready = poll_with(f.as_mut(), &counters[i].1).is_ready();
            assert_eq!(ready, i != 1, "future {i}");
        }
    });
}

fn dropped_notified_passes_the_notification_on(flavor: Flavor) {
    block_on(flavor, async {
        let n = Notify::new();
        let (second_wakes, second_waker) = WakeCounter::new();
        let mut first = Box::pin(n.notified());
        let mut second = Box::pin(n.notified());
        assert!(poll_with(first.as_mut(), Waker::noop()).is_pending());
        assert!(poll_with(second.as_mut(), &second_waker).is_pending());
        n.notify_one(); // to `first`...
        drop(first); // ...which never saw it
        assert_eq!(second_wakes.count(), 1);
        assert!(poll_with(second.as_mut(), &second_waker).is_ready());

        // With no one left to pass it to, it becomes the stored permit.
        let mut only = Box::pin(n.notified());
        assert!(poll_with(only.as_mut(), Waker::noop()).is_pending());
        n.notify_one();
        drop(only);
        n.notified().await;
    });
}

fn notify_waiters_wakes_only_earlier_waiters(flavor: Flavor) {
    block_on(flavor, async {
        let n = Notify::new();
        // Created before the call, never polled: still receives it.
        let unpolled = n.notified();
        let mut polled = pin!(n.notified());
        assert!(poll_with(polled.as_mut(), Waker::noop()).is_pending());
        n.notify_waiters();
        let mut later = pin!(n.notified());
        assert!(poll_with(later.as_mut(), Waker::noop()).is_pending());
        assert!(poll_with(polled.as_mut(), Waker::noop()).is_ready());
        unpolled.await;
        // `notify_waiters` stored no permit: `later` still waits.
        assert!(poll_with(later.as_mut(), Waker::noop()).is_pending());
        n.notify_one();
        assert!(poll_with(later.as_mut(), Waker::noop()).is_ready());

        // Many waiting tasks (more than one wake batch) are all woken.
        let n = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let mut futs = Vec::new();
        for _ in 0..100 {
            futs.push(Box::pin(wait_owned(n.clone())));
        }
        for f in &mut futs {
            assert!(poll_with(f.as_mut(), Waker::noop()).is_pending());
        }
        for f in futs {
            tasks.push(runtime::spawn(f));
        }
        n.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// An `Arc<Notify>`-owning wait, for spawning.
async fn wait_owned(n: Arc<Notify>) {
    n.notified().await
}

/// Two tasks take turns through a pair of `Notify`s; between turns each
/// moves a byte over a real TCP connection.
fn ping_pong_with_tcp(flavor: Flavor) {
    block_on(flavor, async {
        let (mut a, mut b) = connected_pair().await.unwrap();
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let other = runtime::spawn(async move {
            let mut buf = [0u8; 1];
            for i in 0..200u32 {
                ping2.notified().await;
                b.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf[0], i as u8);
                pong2.notify_one();
            }
        });
        for i in 0..200u32 {
            a.write_all(&[i as u8]).await.unwrap();
            ping.notify_one();
            pong.notified().await;
        }
        other.await.unwrap();
    });
}

flavor_tests!(
    notify_one_without_waiter_stores_one_permit,
    enabled_future_receives_notify_one,
    wakes_in_fifo_order_and_notify_last_in_lifo,
    dropped_notified_passes_the_notification_on,
    notify_waiters_wakes_only_earlier_waiters,
    ping_pong_with_tcp,
);

/// A plain thread notifies while a task waits, many rounds: the
/// notification is never lost whichever side comes first.
fn notify_one_from_threads_is_never_lost(flavor: Flavor) {
    block_on(flavor, async {
        let n = Arc::new(Notify::new());
        for _ in 0..300 {
            let n2 = n.clone();
            let t = std::thread::spawn(move || n2.notify_one());
            n.notified().await;
            t.join().unwrap();
        }
    });
}

/// `notified_owned`: a `'static` future, moved into spawned tasks. Created
/// before `notify_waiters`, each is woken by it; a dropped owned future
/// that was handed a `notify_one` passes it on, as the borrowed one does.
fn owned_notified_in_spawned_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let n = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        for i in 0..10u32 {
            let fut = n.clone().notified_owned();
            tasks.push(runtime::spawn(async move {
                fut.await;
                i
            }));
        }
        n.notify_waiters();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), i as u32);
        }

        let (wakes, waker) = WakeCounter::new();
        let mut first = Box::pin(n.clone().notified_owned());
        let mut second = Box::pin(n.clone().notified_owned());
        assert!(poll_with(first.as_mut(), &waker).is_pending());
        assert!(poll_with(second.as_mut(), &waker).is_pending());
        n.notify_one(); // to `first`, the older waiter
        assert_eq!(wakes.count(), 1);
        drop(first); // never saw it: passes it on to `second`
        assert_eq!(wakes.count(), 2);
        assert!(poll_with(second.as_mut(), &waker).is_ready());
        // Nothing was stored on the way.
        let mut third = pin!(n.clone().notified_owned());
        assert!(!third.as_mut().enable());
    });
}

flavor_tests!(
    notify_one_from_threads_is_never_lost,
    owned_notified_in_spawned_tasks
);

#[test]
fn send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Notify>();
    check::<runtime::sync::futures::Notified<'static>>();
    check::<runtime::sync::futures::OwnedNotified>();
}
