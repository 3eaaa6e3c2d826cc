//! `runtime::join!` and `runtime::try_join!`, with tokio's semantics:
//!
//! - outputs come back in the order the futures are written, whatever order
//!   they finish in; the futures run concurrently (a write and a read of one
//!   TCP connection on 127.0.0.1 that would deadlock if run one after the
//!   other);
//! - each poll starts one future further along (`biased;`: always the first);
//! - `try_join!` returns the first `Err` at once and drops the futures still
//!   running (their drop guards fire before it returns), and `Ok` of every
//!   value otherwise;
//! - the empty forms, `IntoFuture` and `&mut fut` arguments.

use std::cell::RefCell;
use std::future::{pending, ready, Future, IntoFuture};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime_tests::{block_on, connected_pair, flavor_tests, DropCounter, Flavor};

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Yields `n` times, then returns `value`.
async fn after_yields<T>(n: usize, value: T) -> T {
    for _ in 0..n {
        runtime::task::yield_now().await;
    }
    value
}

fn join_returns_outputs_in_order(flavor: Flavor) {
    block_on(flavor, async {
        // The last finishes first, the first last.
        let (a, b, c) = runtime::join!(
            after_yields(5, "slow"),
            after_yields(2, 2u8),
            after_yields(0, vec![3]),
        );
        assert_eq!((a, b, c), ("slow", 2, vec![3]));

        let one = runtime::join!(ready(1));
        assert_eq!(one, (1,));
        let () = runtime::join!();
        let () = runtime::join!(biased;);
    });
}

fn join_runs_a_tcp_write_and_read_concurrently(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        // Far more than the socket buffers hold: the write cannot finish
        // until the read has taken most of it.
        let payload = runtime_tests::pattern(8 << 20, 7);
        let mut got = vec![0u8; payload.len()];
        let (w, r) = runtime::join!(client.write_all(&payload), server.read_exact(&mut got));
        w.unwrap();
        r.unwrap();
        runtime_tests::assert_bytes_eq(&got, &payload, "bytes read while writing");
    });
}

/// A future that records its label each time it is polled and is pending
/// until polled `polls` times.
fn recorder<'a>(
    log: &'a RefCell<Vec<u8>>,
    label: u8,
    polls: usize,
) -> impl Future<Output = u8> + 'a {
    let mut seen = 0;
    std::future::poll_fn(move |_| {
        log.borrow_mut().push(label);
        seen += 1;
        if seen >= polls {
            Poll::Ready(label)
        } else {
            Poll::Pending
        }
    })
}

#[test]
fn join_rotates_the_first_future_polled() {
    let log = RefCell::new(Vec::new());
    let mut fut = pin!(async {
        runtime::join!(
            recorder(&log, 0, 4),
            recorder(&log, 1, 4),
            recorder(&log, 2, 4),
        )
    });
    for _ in 0..3 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready((0, 1, 2)));
    assert_eq!(*log.borrow(), [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]);
}

#[test]
fn biased_join_polls_in_order() {
    let log = RefCell::new(Vec::new());
    let mut fut = pin!(async {
        runtime::join!(biased; recorder(&log, 0, 3), recorder(&log, 1, 2), recorder(&log, 2, 3))
    });
    for _ in 0..2 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready((0, 1, 2)));
    // A finished future is not polled again.
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0, 2]);
}

/// An `IntoFuture` that is not a future.
struct Later(u32);

impl IntoFuture for Later {
    type Output = u32;
    type IntoFuture = std::future::Ready<u32>;
    fn into_future(self) -> Self::IntoFuture {
        ready(self.0)
    }
}

fn join_takes_into_future_and_borrowed_futures(flavor: Flavor) {
    block_on(flavor, async {
        let mut pinned = pin!(after_yields(1, 'x'));
        let (a, b) = runtime::join!(Later(4), &mut pinned);
        assert_eq!((a, b), (4, 'x'));
        let (a, b) = runtime::try_join!(async { Ok::<_, ()>(Later(1)) }, async { Ok(5) }).unwrap();
        assert_eq!((a.0, b), (1, 5));
    });
}

fn try_join_returns_every_ok_in_order(flavor: Flavor) {
    block_on(flavor, async {
        let r: Result<(u8, &str, Vec<u8>), String> = runtime::try_join!(
            after_yields(3, Ok(1)),
            after_yields(0, Ok("two")),
            after_yields(1, Ok(vec![3])),
        );
        assert_eq!(r, Ok((1, "two", vec![3])));
        let r: Result<(), ()> = runtime::try_join!();
        assert_eq!(r, Ok(()));
    });
}

fn try_join_short_circuits_and_drops_the_rest(flavor: Flavor) {
    block_on(flavor, async {
        let drops = DropCounter::new();
        let never = drops.guard();
        let slow_ok = drops.guard();
        let r: Result<((), u32, ()), &str> = runtime::try_join!(
            // Would never finish: the test hangs (and the watchdog fires) if
            // `try_join!` waited for it.
            async move {
                let _g = never;
                pending::<Result<(), &str>>().await
            },
            async move {
                let _g = slow_ok;
                after_yields(50, Ok(1)).await
            },
            after_yields(2, Err("boom")),
        );
        assert_eq!(r, Err("boom"));
        // Both others were dropped by the time `try_join!` returned.
        assert_eq!(drops.count(), 2);

        // An error from a future that finishes after an `Ok` one: the `Ok`
        // output is dropped too.
        let out = drops.guard();
        let r: Result<(DropGuardBox, ()), u8> =
            runtime::try_join!(ready(Ok(DropGuardBox(out))), after_yields(1, Err(9)),);
        assert_eq!(r.err(), Some(9));
        assert_eq!(drops.count(), 3);
    });
}

/// Holds a drop guard, so a dropped output is counted.
#[derive(Debug)]
struct DropGuardBox(#[allow(dead_code)] runtime_tests::DropGuard);

/// `try_join!` in a function with `?`, and with an uninhabited error type.
async fn sum_parsed(a: &str, b: &str) -> Result<u32, std::num::ParseIntError> {
    let (a, b) = runtime::try_join!(async { a.parse::<u32>() }, async { b.parse::<u32>() })?;
    Ok(a + b)
}

fn try_join_with_question_mark(flavor: Flavor) {
    block_on(flavor, async {
        assert_eq!(sum_parsed("2", "3").await, Ok(5));
        assert!(sum_parsed("2", "x").await.is_err());
        let r: Result<(u8,), std::convert::Infallible> = runtime::try_join!(async { Ok(1) });
        assert_eq!(r, Ok((1,)));
    });
}

fn join_in_spawned_tasks(flavor: Flavor) {
    block_on(flavor, async {
        let tasks: Vec<_> = (0..4u32)
            .map(|i| {
                runtime::spawn(async move { runtime::join!(after_yields(3, i), ready(i * 2)) })
            })
            .collect();
        let mut outs = Vec::new();
        for task in tasks {
            // A `JoinHandle` joined with another future.
            let (out, ()) = runtime::join!(task, after_yields(1, ()));
            outs.push(out.unwrap());
        }
        assert_eq!(outs, [(0, 0), (1, 2), (2, 4), (3, 6)]);
    });
}

flavor_tests!(
    join_returns_outputs_in_order,
    join_runs_a_tcp_write_and_read_concurrently,
    join_takes_into_future_and_borrowed_futures,
    try_join_returns_every_ok_in_order,
    try_join_short_circuits_and_drops_the_rest,
    try_join_with_question_mark,
    join_in_spawned_tasks,
);
