//! `runtime::sync::mpsc`, bounded and unbounded, on both schedulers where a
//! runtime is involved:
//!
//! - the stream ends (`recv` returns `None`) once every sender is gone and
//!   the queue is drained, and not before; weak senders do not keep it open;
//! - capacity counts permits (queued messages and reserved slots);
//! - `close` refuses new messages but the queued ones, and one sent through a
//!   permit held across the close, are still received;
//! - waiting senders are served in FIFO order, and a `reserve` or `send`
//!   future dropped mid-wait, even one just granted a permit, loses no
//!   capacity;
//! - `reserve_many` collects its permits in its turn, and a wait dropped
//!   part-way passes on what it collected;
//! - dropping the receiver fails the senders, completes `closed()`, and drops
//!   the queued messages (outside the channel's lock: a message holding a
//!   sender of the same channel does not deadlock);
//! - `blocking_send`/`blocking_recv` from plain threads, and their panic
//!   inside a runtime;
//! - the cooperative budget: a task looping on an always-ready receiver
//!   yields to another task on a current-thread runtime;
//! - `send_timeout` hands the value back on timeout or close, and its
//!   abandoned wait holds no capacity;
//! - four producers fed by TCP connections on 127.0.0.1, one consumer.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::mpsc::{self, error::TryRecvError, error::TrySendError};
use runtime_tests::{block_on, flavor_tests, panic_message, DropCounter, Flavor, Watchdog};

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn ends_after_senders_drop_and_drain(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel(4);
        let (utx, mut urx) = mpsc::unbounded_channel();
        for p in 0..3u32 {
            let tx = tx.clone();
            let utx = utx.clone();
            runtime::spawn(async move {
                for i in 0..100u32 {
                    tx.send((p, i)).await.unwrap();
                    utx.send((p, i)).unwrap();
                }
            });
        }
        drop((tx, utx));
        let mut next = [0u32; 3];
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(i, next[p as usize], "per-producer order");
            next[p as usize] += 1;
        }
        assert_eq!(next, [100; 3]);
        let mut n = 0;
        while urx.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, 300);
        assert!(rx.is_closed() && urx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(urx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

fn weak_senders_do_not_keep_it_open(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let weak = tx.downgrade();
        assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
        let again = weak.upgrade().expect("a strong sender is alive");
        drop((tx, again));
        assert_eq!(rx.recv().await, None);
        assert!(weak.upgrade().is_none(), "never resurrected");

        let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
        let uweak = utx.downgrade();
        runtime::spawn(async move { drop(utx) });
        assert_eq!(urx.recv().await, None);
        assert!(uweak.upgrade().is_none());
    });
}

#[test]
fn capacity_counts_permits() {
    let (tx, mut rx) = mpsc::channel::<u32>(3);
    assert_eq!(tx.capacity(), 3);
    tx.try_send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    let owned = tx.clone().try_reserve_owned().unwrap();
    assert_eq!((tx.capacity(), rx.capacity(), tx.max_capacity()), (0, 0, 3));
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.len(), 1, "a permit is not a message");
    drop(permit);
    assert_eq!(tx.capacity(), 1);
    let tx2 = owned.send(2);
    assert!(tx2.same_channel(&tx));
    assert_eq!(tx.capacity(), 1);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 2, "receiving frees a slot");
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 3);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

fn close_lets_queued_and_permitted_messages_through(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel(4);
        tx.send(1).await.unwrap();
        let permit = tx.clone().reserve_owned().await.unwrap();
        rx.close();
        assert!(tx.is_closed() && rx.is_closed());
        assert!(tx.send(2).await.is_err());
        assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
        assert!(tx.reserve().await.is_err());
        assert_eq!(rx.recv().await, Some(1));
        // The permit held across the close is still good; until it is used
        // (or dropped) the stream has not ended.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let sender = runtime::spawn(async move {
            runtime::task::yield_now().await;
            drop(permit.send(3));
        });
        assert_eq!(rx.recv().await, Some(3));
        sender.await.unwrap();
        assert_eq!(rx.recv().await, None);
        // Senders are alive, but the receiver closed and no permit is left.
        assert_eq!(tx.strong_count(), 1);

        let (utx, mut urx) = mpsc::unbounded_channel();
        utx.send(1).unwrap();
        urx.close();
        assert_eq!(utx.send(2).unwrap_err().0, 2);
        assert_eq!(urx.recv().await, Some(1));
        assert_eq!(urx.recv().await, None);
    });
}

fn close_wakes_waiting_senders(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let waiter = {
            let tx = tx.clone();
            runtime::spawn(async move { tx.send(1).await })
        };
        // Closed while the sender waits, or before it starts: it fails.
        runtime::task::yield_now().await;
        rx.close();
        assert_eq!(waiter.await.unwrap().unwrap_err().0, 1);
        assert_eq!(rx.recv().await, Some(0));
        drop(tx);
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn waiting_senders_are_served_in_fifo_order() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let mut waits: Vec<_> = (1..=5).map(|i| Box::pin(tx.send(i))).collect();
    for w in &mut waits {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    for i in 0..5u32 {
        assert_eq!(rx.try_recv(), Ok(i));
        // Only the oldest waiter may complete; a newcomer cannot barge in.
        assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
        for (j, w) in waits.iter_mut().enumerate().skip(i as usize) {
            let ready = poll_once(w.as_mut()).is_ready();
            assert_eq!(ready, j == i as usize, "waiter {j} after receive {i}");
        }
    }
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn a_dropped_reserve_loses_no_capacity() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let held = tx.try_reserve().unwrap();
    // Dropped while waiting.
    {
        let mut r = Box::pin(tx.reserve());
        assert!(poll_once(r.as_mut()).is_pending());
    }
    // Granted the permit, then dropped before it was polled again: the
    // permit goes on to the next waiter.
    let mut a = Box::pin(tx.reserve());
    let mut b = Box::pin(tx.send(7));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(held);
    drop(a);
    assert!(poll_once(b.as_mut()).is_ready(), "the permit passed on");
    drop(b);
    assert_eq!(rx.try_recv(), Ok(7));
    // A granted `send` dropped before its next poll, with nobody waiting:
    // the permit returns to the pool.
    let held = tx.try_reserve().unwrap();
    let mut c = Box::pin(tx.send(8));
    assert!(poll_once(c.as_mut()).is_pending());
    drop(held);
    drop(c);
    assert_eq!(tx.capacity(), 1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "8 was not sent");
}

#[test]
fn reserve_many_waits_in_turn_and_passes_on_what_it_collected() {
    let (tx, mut rx) = mpsc::channel::<u32>(3);
    assert!(tx.try_reserve_many(4).is_err(), "more than the bound");
    let mut all = tx.try_reserve_many(3).unwrap();
    assert_eq!((all.len(), tx.capacity()), (3, 0));
    let mut a = Box::pin(tx.reserve_many(2));
    let mut b = Box::pin(tx.reserve());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(all.next());
    // `a` holds the one released; `b` waits behind it.
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    all.next().unwrap().send(7);
    assert_eq!(rx.try_recv(), Ok(7), "frees the second");
    let Poll::Ready(Ok(got)) = poll_once(a.as_mut()) else {
        panic!("reserve_many(2) should hold two permits now");
    };
    assert_eq!(got.len(), 2);
    assert!(poll_once(b.as_mut()).is_pending());
    drop(got);
    assert!(poll_once(b.as_mut()).is_ready());
    drop((a, b, all));
    assert_eq!(tx.capacity(), 3, "every permit came back");

    // A partly served wait, dropped, passes its permits on.
    let held = tx.try_reserve_many(3).unwrap();
    let mut a = Box::pin(tx.reserve_many(3));
    let mut b = Box::pin(tx.reserve());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(held);
    drop(a);
    assert!(poll_once(b.as_mut()).is_ready());
    drop(b);
    assert_eq!(tx.capacity(), 3);
}

fn dropping_the_receiver(flavor: Flavor) {
    block_on(flavor, async {
        let drops = DropCounter::new();
        let (tx, rx) = mpsc::channel(4);
        let (utx, urx) = mpsc::unbounded_channel();
        for _ in 0..3 {
            tx.send(drops.guard()).await.unwrap();
            utx.send(drops.guard()).unwrap();
        }
        let closed = {
            let tx = tx.clone();
            let utx = utx.clone();
            runtime::spawn(async move {
                tx.closed().await;
                utx.closed().await;
            })
        };
        runtime::spawn(async move { drop((rx, urx)) })
            .await
            .unwrap();
        closed.await.unwrap();
        assert_eq!(drops.count(), 6, "queued messages are dropped");
        assert!(tx.send(drops.guard()).await.is_err());
        assert!(utx.send(drops.guard()).is_err());
        assert_eq!(tx.capacity(), 4);
    });
}

/// A queued message that owns a sender of its own channel: dropping the
/// receiver drops it, which drops that sender; this must not happen under
/// the channel's lock.
#[test]
fn a_message_holding_a_sender_is_dropped_outside_the_lock() {
    let _watchdog = Watchdog::start(runtime_tests::HANG_LIMIT);
    struct Carrier(#[allow(dead_code)] mpsc::Sender<Carrier>);
    let (tx, rx) = mpsc::channel(2);
    tx.try_send(Carrier(tx.clone())).unwrap();
    drop(rx);
    assert!(tx.is_closed());

    struct UCarrier(#[allow(dead_code)] mpsc::UnboundedSender<UCarrier>);
    let (utx, urx) = mpsc::unbounded_channel();
    utx.send(UCarrier(utx.clone())).unwrap();
    drop(urx);
    assert!(utx.is_closed());
}

fn recv_many_takes_up_to_the_limit(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel(8);
        let (utx, mut urx) = mpsc::unbounded_channel();
        for i in 0..5 {
            tx.send(i).await.unwrap();
            utx.send(i).unwrap();
        }
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
        assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
        assert_eq!(tx.capacity(), 6);
        assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
        assert_eq!(buf, [0, 1, 2, 3, 4]);
        let mut ubuf = vec![];
        assert_eq!(urx.recv_many(&mut ubuf, 2).await, 2);
        assert_eq!(urx.len(), 3);
        assert_eq!(urx.recv_many(&mut ubuf, 10).await, 3);
        assert_eq!(ubuf, [0, 1, 2, 3, 4]);
        drop((tx, utx));
        assert_eq!(rx.recv_many(&mut buf, 10).await, 0);
        assert_eq!(urx.recv_many(&mut ubuf, 10).await, 0);
    });
}

#[test]
fn blocking_send_and_recv_from_plain_threads() {
    let _watchdog = Watchdog::start(runtime_tests::HANG_LIMIT);
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    tx.blocking_send(p * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = std::thread::spawn(move || {
        let mut sum = 0u64;
        let mut buf = Vec::new();
        while let Some(v) = rx.blocking_recv() {
            sum += u64::from(v);
            if rx.blocking_recv_many(&mut buf, 8) == 0 {
                break;
            }
            sum += buf.drain(..).map(u64::from).sum::<u64>();
        }
        sum
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), (0..4000u64).sum());

    let (utx, mut urx) = mpsc::unbounded_channel();
    let t = std::thread::spawn(move || urx.blocking_recv());
    utx.send(5).unwrap();
    assert_eq!(t.join().unwrap(), Some(5));
}

fn blocking_recv_inside_a_runtime_panics(flavor: Flavor) {
    let (_tx, mut rx) = mpsc::channel::<u8>(1);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(flavor, async { rx.blocking_recv() })
    }));
    let message = panic_message(&*result.unwrap_err()).unwrap_or_default();
    assert!(message.contains("blocking_recv"), "{message}");
}

/// A task that receives from an always-ready channel in a loop, never
/// awaiting anything else, still lets another task on the same thread run.
fn an_always_ready_receiver_yields(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let (btx, mut brx) = mpsc::channel::<()>(1);
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let spinner = runtime::spawn(async move {
            // Refill before each receive: the receivers are never empty.
            let mut spins = 0u64;
            while !flag.load(Ordering::SeqCst) {
                tx.send(()).unwrap();
                rx.recv().await.unwrap();
                btx.try_send(()).unwrap();
                brx.recv().await.unwrap();
                spins += 1;
                assert!(spins < 10_000_000, "the other task never ran");
            }
            spins
        });
        let other = runtime::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
        other.await.unwrap();
        // On a current-thread runtime only the budget lets `other` run.
        spinner.await.unwrap();
    });
}

/// Four connections on 127.0.0.1 each send numbered lines; one task per
/// connection forwards them into one bounded channel; a consumer checks
/// everything arrived, per connection in order.
fn forwards_socket_input(flavor: Flavor) {
    const CONNS: u32 = 4;
    const LINES: u32 = 500;
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel::<(u32, u32)>(8);
        let acceptor = runtime::spawn(async move {
            for _ in 0..CONNS {
                let (mut stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                runtime::spawn(async move {
                    let mut all = Vec::new();
                    stream.read_to_end(&mut all).await.unwrap();
                    for line in String::from_utf8(all).unwrap().lines() {
                        let (c, i) = line.split_once(' ').unwrap();
                        tx.send((c.parse().unwrap(), i.parse().unwrap()))
                            .await
                            .unwrap();
                    }
                });
            }
        });
        for c in 0..CONNS {
            runtime::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                let mut text = String::new();
                for i in 0..LINES {
                    text.push_str(&format!("{c} {i}\n"));
                }
                s.write_all(text.as_bytes()).await.unwrap();
                drop(s);
            });
        }
        acceptor.await.unwrap();
        let mut next = [0u32; CONNS as usize];
        while let Some((c, i)) = rx.recv().await {
            assert_eq!(i, next[c as usize]);
            next[c as usize] += 1;
        }
        assert_eq!(next, [LINES; CONNS as usize]);
    });
}

#[test]
fn error_shapes_match_tokio() {
    use mpsc::error::SendError;
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", SendError(1)), "SendError { .. }");
    assert_eq!(TrySendError::Full(1).to_string(), "no available capacity");
    assert_eq!(TrySendError::Closed(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", TrySendError::Full(1)), "Full(..)");
    assert_eq!(TrySendError::Closed(4).into_inner(), 4);
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Disconnected.to_string(),
        "receiving on a closed channel"
    );
}

#[test]
fn poll_recv_registers_and_is_woken() {
    let (counter, waker) = runtime_tests::WakeCounter::new();
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let mut cx = Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
    let mut closed = pin!(tx.closed());
    assert!(poll_once(closed.as_mut()).is_pending());
    drop(rx);
    assert!(poll_once(closed.as_mut()).is_ready());
}

fn send_timeout_gives_the_value_back(flavor: Flavor) {
    use mpsc::error::SendTimeoutError;
    use std::time::Duration;
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let err = tx.send_timeout(1, Duration::from_millis(20)).await;
        assert_eq!(err, Err(SendTimeoutError::Timeout(1)));
        assert_eq!(
            err.unwrap_err().to_string(),
            "timed out waiting on send operation"
        );
        // The timed-out wait held nothing: one receive frees the one slot.
        assert_eq!(rx.recv().await, Some(0));
        assert_eq!(tx.capacity(), 1);
        // The slot is taken first, so the late sender has to wait for it (the
        // other order could leave this task waiting to send while nobody
        // receives).
        tx.send(1).await.unwrap();
        let late = {
            let tx = tx.clone();
            runtime::spawn(async move { tx.send_timeout(2, Duration::from_secs(30)).await })
        };
        let mut got = [rx.recv().await.unwrap(), rx.recv().await.unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        late.await.unwrap().unwrap();
        rx.close();
        let err = tx.send_timeout(3, Duration::from_secs(30)).await;
        assert_eq!(err, Err(SendTimeoutError::Closed(3)));
    });
}

flavor_tests!(
    send_timeout_gives_the_value_back,
    ends_after_senders_drop_and_drain,
    weak_senders_do_not_keep_it_open,
    close_lets_queued_and_permitted_messages_through,
    close_wakes_waiting_senders,
    dropping_the_receiver,
    recv_many_takes_up_to_the_limit,
    blocking_recv_inside_a_runtime_panics,
    an_always_ready_receiver_yields,
    forwards_socket_input,
);

/// The handles and the futures of every channel move between threads, as
/// tokio's do (for `Send` messages).
#[test]
fn handles_and_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Sync>(_: &T) {}
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    send(&tx.send(1));
    send(&tx.reserve());
    send(&tx.closed());
    send(&tx.clone().reserve_owned());
    send(&utx.closed());
    sync(&tx);
    sync(&utx);
    send(&tx.downgrade());
    send(&utx.downgrade());
    {
        let mut buf = Vec::new();
        send(&rx.recv_many(&mut buf, 1));
    }
    send(&rx.recv());
    send(&urx.recv());
    let (mut otx, orx) = runtime::sync::oneshot::channel::<u8>();
    send(&otx.closed());
    send(&orx);
    let (btx, mut brx) = runtime::sync::broadcast::channel::<u8>(1);
    send(&brx.recv());
    send(&btx.closed());
    let (wtx, mut wrx) = runtime::sync::watch::channel(0u8);
    send(&wtx.closed());
    send(&wrx.changed());
    send(&wrx.wait_for(|_| true));
}
