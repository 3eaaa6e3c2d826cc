//! `runtime::sync::RwLock`: readers share, a writer excludes, a waiting
//! writer is not starved by later readers (FIFO), `max_readers`, downgrade,
//! cancel-safety, `blocking_*` from a plain thread, owned and mapped guards,
//! and use by tasks doing TCP I/O, on both schedulers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::sync::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
use runtime_tests::{block_on, echo_server, flavor_tests, Flavor};

fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

fn waiting_writer_is_not_starved_by_later_readers(flavor: Flavor) {
    block_on(flavor, async {
        let lock = RwLock::new(0);
        let w = Waker::noop();
        let r1 = lock.read().await;
        let mut writer = Box::pin(lock.write());
        assert!(poll_with(writer.as_mut(), w).is_pending());
        // A reader arriving after the writer queues behind it.
        assert!(lock.try_read().is_err());
        let mut late_reader = Box::pin(lock.read());
        assert!(poll_with(late_reader.as_mut(), w).is_pending());
        drop(r1);
        let Poll::Ready(mut g) = poll_with(writer.as_mut(), w) else {
            panic!("the writer goes first once the earlier reader left");
        };
        *g = 1;
        assert!(poll_with(late_reader.as_mut(), w).is_pending());
        drop(g);
        let Poll::Ready(r) = poll_with(late_reader.as_mut(), w) else {
            panic!("then the reader");
        };
        assert_eq!(*r, 1);
    });
}

fn max_readers_and_downgrade(flavor: Flavor) {
    block_on(flavor, async {
        let lock = RwLock::with_max_readers(0, 2);
        let a = lock.read().await;
        let b = lock.try_read().unwrap();
        assert!(
            lock.try_read().is_err(),
            "a third reader exceeds max_readers"
        );
        drop((a, b));
        let mut w = lock.write().await;
        *w = 7;
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(*lock.try_read().unwrap(), 7);
        assert!(lock.try_write().is_err());
        let r = RwLockReadGuard::map(r, |v| v);
        drop(r);
        let mapped = RwLockWriteGuard::map(lock.write().await, |v| v);
        assert!(lock.try_read().is_err());
        drop(mapped);
        assert_eq!(format!("{lock:?}"), "RwLock { data: 7 }");
    });
}

fn dropped_write_wait_passes_permits_on(flavor: Flavor) {
    block_on(flavor, async {
        let lock = RwLock::new(());
        let w = Waker::noop();
        let r = lock.read().await;
        let mut writer = Box::pin(lock.write());
        assert!(poll_with(writer.as_mut(), w).is_pending());
        let mut reader = Box::pin(lock.read());
        assert!(poll_with(reader.as_mut(), w).is_pending());
        drop(writer); // had gathered every permit but the held reader's
        assert!(poll_with(reader.as_mut(), w).is_ready());
        drop(r);
        drop(reader);
        assert!(lock.try_write().is_ok());
    });
}

fn owned_guards_across_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let lock = Arc::new(RwLock::new(vec![1]));
        let mut w = lock.clone().write_owned().await;
        assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
        let reader = {
            let lock = lock.clone();
            runtime::spawn(async move { lock.read_owned().await.len() })
        };
        w.push(2);
        let r = OwnedRwLockWriteGuard::downgrade(w);
        assert_eq!(reader.await.unwrap(), 2);
        let first = OwnedRwLockReadGuard::map(r, |v| &v[0]);
        assert_eq!(*first, 1);
        assert!(lock.clone().try_write_owned().is_err());
        drop(first);
        let mut m =
            OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v[1]);
        *m = 3;
        drop(m);
        assert_eq!(*lock.clone().try_read_owned().unwrap(), [1, 3]);
    });
}

fn readers_and_writers_with_tcp(flavor: Flavor) {
    block_on(flavor, async {
        let (addr, _stats) = echo_server().await.unwrap();
        let table = Arc::new(RwLock::new([0u32; 4]));
        let mut tasks = Vec::new();
        for i in 0..4usize {
            let table = table.clone();
            tasks.push(runtime::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                for round in 0..20u32 {
                    s.write_all(&round.to_le_bytes()).await.unwrap();
                    let mut back = [0u8; 4];
                    s.read_exact(&mut back).await.unwrap();
                    let v = u32::from_le_bytes(back);
                    {
                        let mut w = table.write().await;
                        w[i] = v + 1;
                    }
                    let r = table.read().await;
                    assert_eq!(r[i], round + 1);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*table.read().await, [20; 4]);
    });
}

fn blocking_from_a_plain_thread(flavor: Flavor) {
    let lock = Arc::new(RwLock::new(0));
    let l2 = lock.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..200 {
            *l2.blocking_write() += 1;
            let _ = *l2.blocking_read();
        }
    });
    block_on(flavor, async {
        for _ in 0..200 {
            *lock.write().await += 1;
        }
    });
    t.join().unwrap();
    assert_eq!(*lock.blocking_read(), 400);
}

/// The narrowing family on the owned and mapped guards: each keeps the
/// lock held (a writer waits) until the narrowed guard is dropped; a
/// failed `try_map` gives the guard back; `downgrade_map` lets readers in
/// at once but no writer.
fn owned_and_mapped_guards_narrow_and_keep_the_lock(flavor: Flavor) {
    block_on(flavor, async {
        let lock = Arc::new(RwLock::new((1u32, vec![10u32, 20])));
        let w = lock.clone().write_owned().await;
        let w = OwnedRwLockWriteGuard::try_map(w, |v| v.1.get_mut(5)).unwrap_err();
        let mut m = OwnedRwLockWriteGuard::try_map(w, |v| Some(&mut v.1)).unwrap();
        m.push(30);
        let m = OwnedRwLockMappedWriteGuard::try_map(m, |v| v.get_mut(9)).unwrap_err();
        let mut last = OwnedRwLockMappedWriteGuard::map(m, |v| v.last_mut().unwrap());
        *last += 1;
        assert!(
            lock.try_read().is_err(),
            "the narrowed guard holds the lock"
        );
        assert!(Arc::ptr_eq(
            OwnedRwLockMappedWriteGuard::rwlock(&last),
            &lock
        ));
        drop(last);
        assert_eq!(lock.read().await.1, [10, 20, 31]);

        let w = lock.clone().write_owned().await;
        let r = OwnedRwLockWriteGuard::downgrade_map(w, |v| &v.0);
        assert_eq!(*r, 1);
        assert!(
            lock.try_read().is_ok(),
            "readers come in beside a downgraded guard"
        );
        assert!(lock.try_write().is_err(), "writers do not");
        let r = OwnedRwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
        drop(r);
        let r = lock.clone().read_owned().await;
        let second = OwnedRwLockReadGuard::try_map(r, |v| v.1.get(1)).unwrap();
        assert_eq!(*second, 20);
        drop(second);

        let mut g = lock.write().await;
        g.0 = 7;
        let m = RwLockWriteGuard::map(g, |v| &mut v.1);
        let m = RwLockMappedWriteGuard::try_map(m, |v| v.get_mut(7)).unwrap_err();
        let mut first = RwLockMappedWriteGuard::try_map(m, |v| v.first_mut()).unwrap();
        *first = 0;
        drop(first);
        assert_eq!(*lock.read().await, (7, vec![0, 20, 31]));
    });
}

flavor_tests!(
    owned_and_mapped_guards_narrow_and_keep_the_lock,
    waiting_writer_is_not_starved_by_later_readers,
    max_readers_and_downgrade,
    dropped_write_wait_passes_permits_on,
    owned_guards_across_tasks,
    readers_and_writers_with_tcp,
    blocking_from_a_plain_thread,
);

#[test]
fn send_sync_and_static() {
    fn check<T: Send + Sync>() {}
    check::<RwLock<u8>>();
    check::<RwLockReadGuard<'static, u8>>();
    check::<RwLockWriteGuard<'static, u8>>();
    check::<OwnedRwLockReadGuard<u8>>();
    static L: RwLock<u8> = RwLock::const_new(3);
    assert_eq!(*L.try_read().unwrap(), 3);
    let mut l = RwLock::new(1);
    *l.get_mut() = 2;
    assert_eq!(l.into_inner(), 2);
}
