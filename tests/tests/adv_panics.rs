//! Panics in user code at the three places the runtime calls it: a task's
//! `poll`, the `Drop` of a cancelled task's future, and a user-supplied
//! waker's `wake`. Each time the runtime survives (the panic is caught and,
//! for tasks, reported as a `JoinError`), and the other task waiting on the
//! same stream (the other direction: each direction has one waiter) is
//! still woken when its event comes.
//!
//! (A panicking task is also covered for the plain case by `rt_tasks`, and
//! a panicking `Drop` at runtime shutdown by `rt_scheduler`; here the panic
//! happens next to another waiter on the same resource.)

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime_tests::{
    block_on, connected_pair, flavor_tests, note_pending, panic_message, yield_until, Flavor,
};

/// A runtime client and its standard-library peer.
async fn client_and_std_peer() -> (Arc<TcpStream>, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (peer, _) = listener.accept().unwrap();
    (Arc::new(client), peer)
}

/// Writes to `stream` until the send path is full and the write parks;
/// then, on the first poll after that (the wake-up), completes with
/// `Ok(())` if `panic_on_wake` is false, or panics if it is true. `parked`
/// is set once the write has parked.
async fn write_until_parked_then(
    stream: Arc<TcpStream>,
    parked: Arc<AtomicBool>,
    panic_on_wake: bool,
) -> std::io::Result<()> {
    let chunk = vec![0x33u8; 256 * 1024];
    let mut write_forever = std::pin::pin!(async {
        let mut w = &*stream;
        loop {
            w.write_all(&chunk).await?;
        }
    });
    std::future::poll_fn(move |cx| {
        if parked.load(Ordering::SeqCst) {
            if panic_on_wake {
                panic!("poll panics after a wake-up");
            }
            return Poll::Ready(Ok(()));
        }
        let res = write_forever.as_mut().poll(cx);
        if res.is_pending() {
            parked.store(true, Ordering::SeqCst);
        }
        res
    })
    .await
}

/// From a plain thread: reads everything the peer has received so far (so
/// the runtime side becomes writable again), then sends `msg`.
fn drain_then_send(mut peer: std::net::TcpStream, msg: &'static [u8]) -> std::net::TcpStream {
    peer.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match peer.read(&mut buf) {
            Ok(0) => panic!("EOF from the runtime side"),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("draining: {e}"),
        }
    }
    peer.set_nonblocking(false).unwrap();
    peer.write_all(msg).unwrap();
    peer
}

/// The runtime still runs tasks and I/O: 100 tasks, and an echo on a fresh
/// connection.
async fn assert_runtime_alive() {
    let tasks: Vec<_> = (0..100)
        .map(|i| runtime::spawn(async move { i * 2 }))
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), i * 2);
    }
    let (mut a, mut b) = connected_pair().await.unwrap();
    a.write_all(b"alive").await.unwrap();
    let mut buf = [0u8; 5];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"alive");
}

/// A writer task parked on a full send buffer panics in the `poll` that
/// follows its wake-up; a reader task parked on the same stream gets its
/// data all the same, and the panic is the writer's `JoinError`.
fn panic_in_poll_does_not_stop_the_other_waiter_on_the_same_stream(flavor: Flavor) {
    block_on(flavor, async {
        let (client, peer) = client_and_std_peer().await;
        let writer_parked = Arc::new(AtomicBool::new(false));
        let writer = runtime::spawn(write_until_parked_then(
            client.clone(),
            writer_parked.clone(),
            true,
        ));
        let reader_parked = Arc::new(AtomicBool::new(false));
        let (c, p) = (client.clone(), reader_parked.clone());
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 16];
            let n = note_pending(p, (&*c).read(&mut buf)).await?;
            Ok::<_, std::io::Error>(buf[..n].to_vec())
        });
        yield_until(|| {
            writer_parked.load(Ordering::SeqCst) && reader_parked.load(Ordering::SeqCst)
        })
        .await;

        let peer = std::thread::spawn(move || drain_then_send(peer, b"hello"));
        let err = writer.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert_eq!(
            panic_message(&*err.into_panic()).as_deref(),
            Some("poll panics after a wake-up")
        );
        assert_eq!(reader.await.unwrap().unwrap(), b"hello");
        drop(peer.join().unwrap());
        assert_runtime_alive().await;
    });
}

/// Panics when dropped.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("drop of a cancelled future panics");
    }
}

/// A task parked in `read` whose future panics when dropped is aborted. The
/// abort completes (the handle reports the panic, or a cancellation), the
/// future is dropped once, and a writer parked on the same stream is still
/// woken; a new reader on the stream then gets the data the reactor had
/// for the aborted task's (now dead) waker.
fn panic_in_drop_of_a_cancelled_future_is_isolated(flavor: Flavor) {
    block_on(flavor, async {
        let (client, peer) = client_and_std_peer().await;
        let drops = Arc::new(AtomicUsize::new(0));

        let doomed_parked = Arc::new(AtomicBool::new(false));
        let (c, p, guard) = (
            client.clone(),
            doomed_parked.clone(),
            PanicOnDrop(drops.clone()),
        );
        let doomed = runtime::spawn(async move {
            let _guard = guard;
            let mut buf = [0u8; 16];
            let res = note_pending(p, (&*c).read(&mut buf)).await;
            panic!("the doomed task's read returned before its abort: {res:?}");
        });
        let writer_parked = Arc::new(AtomicBool::new(false));
        let writer = runtime::spawn(write_until_parked_then(
            client.clone(),
            writer_parked.clone(),
            false,
        ));
        yield_until(|| {
            doomed_parked.load(Ordering::SeqCst) && writer_parked.load(Ordering::SeqCst)
        })
        .await;

        doomed.abort();
        let err = doomed.await.unwrap_err();
        assert!(
            err.is_panic() || err.is_cancelled(),
            "an aborted task gave {err:?}"
        );
        if err.is_panic() {
            assert_eq!(
                panic_message(&*err.into_panic()).as_deref(),
                Some("drop of a cancelled future panics")
            );
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // The read waker left on the stream belongs to the dead task: the
        // data event wakes it harmlessly, and the writer is woken.
        let peer = std::thread::spawn(move || drain_then_send(peer, b"hello"));
        writer.await.unwrap().unwrap();
        let mut buf = [0u8; 5];
        let mut r = &*client;
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        drop(peer.join().unwrap());
        assert_runtime_alive().await;
    });
}

/// A user waker that counts its wake-ups and panics in each.
#[derive(Default)]
struct PanickingWaker {
    wakes: AtomicUsize,
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        panic!("user waker panics");
    }
}

/// A user future polled with a waker that panics in `wake` waits for read
/// readiness on a stream, and a runtime task waits for write readiness on
/// the same stream. The event that readies both calls the panicking waker
/// (on the reactor thread or a worker driving the reactor): the panic is
/// contained, the task is still woken, and the reactor keeps dispatching.
fn panic_in_a_user_wakers_wake_does_not_stop_the_other_waiter(flavor: Flavor) {
    block_on(flavor, async {
        let (client, peer) = client_and_std_peer().await;
        let writer_parked = Arc::new(AtomicBool::new(false));
        let writer = runtime::spawn(write_until_parked_then(
            client.clone(),
            writer_parked.clone(),
            false,
        ));
        yield_until(|| writer_parked.load(Ordering::SeqCst)).await;

        let bad = Arc::new(PanickingWaker::default());
        let bad_waker = Waker::from(bad.clone());
        let mut readable: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = Box::pin({
            let c = client.clone();
            async move { c.readable().await }
        });
        assert!(
            readable
                .as_mut()
                .poll(&mut Context::from_waker(&bad_waker))
                .is_pending(),
            "readable before anything was sent"
        );

        let peer = std::thread::spawn(move || drain_then_send(peer, b"hello"));
        writer.await.unwrap().unwrap();
        // The data event called the bad waker (and survived it).
        runtime_tests::settle_async(true, std::time::Duration::from_secs(20), || {
            bad.wakes.load(Ordering::SeqCst) > 0
        })
        .await;
        assert_eq!(
            bad.wakes.load(Ordering::SeqCst),
            1,
            "the panicking waker was not called exactly once"
        );
        drop(readable);
        let mut buf = [0u8; 5];
        let mut r = &*client;
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        drop(peer.join().unwrap());
        assert_runtime_alive().await;
    });
}

/// A `JoinHandle` polled with a panicking waker (from outside the runtime):
/// the task completes, the worker that calls the join waker survives the
/// panic, and the output is still there.
fn panic_in_a_join_wakers_wake_does_not_kill_the_worker(flavor: Flavor) {
    let _w = runtime_tests::Watchdog::start(runtime_tests::HANG_LIMIT);
    let rt = flavor.build();
    let go = Arc::new(AtomicBool::new(false));
    let g = go.clone();
    let mut handle = rt.spawn(async move {
        runtime_tests::yield_until(|| g.load(Ordering::SeqCst)).await;
        42
    });
    let bad = Arc::new(PanickingWaker::default());
    let bad_waker = Waker::from(bad.clone());
    assert!(Pin::new(&mut handle)
        .poll(&mut Context::from_waker(&bad_waker))
        .is_pending());
    go.store(true, Ordering::SeqCst);
    let out = rt.block_on(async {
        runtime_tests::settle_async(true, std::time::Duration::from_secs(20), || {
            bad.wakes.load(Ordering::SeqCst) > 0
        })
        .await;
        assert_runtime_alive().await;
        handle.await
    });
    assert_eq!(out.unwrap(), 42);
    assert_eq!(bad.wakes.load(Ordering::SeqCst), 1);
}

flavor_tests!(
    panic_in_poll_does_not_stop_the_other_waiter_on_the_same_stream,
    panic_in_drop_of_a_cancelled_future_is_isolated,
    panic_in_a_user_wakers_wake_does_not_stop_the_other_waiter,
    panic_in_a_join_wakers_wake_does_not_kill_the_worker,
);
