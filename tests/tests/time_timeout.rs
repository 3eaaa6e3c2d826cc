//! `timeout` and `timeout_at` on both schedulers: a timeout around a pending
//! socket read fires (not before its deadline) and the socket stays usable;
//! a timeout around a ready future returns its value (even with a zero or a
//! past deadline); `Elapsed` converts to `io::ErrorKind::TimedOut`; a future
//! that spends the whole coop budget on every poll still times out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::time::{error::Elapsed, sleep, timeout, timeout_at, Instant};
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor};

fn timeout_around_a_pending_read_fires_and_the_socket_stays_usable(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let mut buf = [0u8; 16];
        let d = Duration::from_millis(50);
        let start = Instant::now();
        let res = timeout(d, client.read(&mut buf)).await;
        assert!(res.is_err(), "nothing was sent, the read cannot complete");
        assert!(
            start.elapsed() >= d,
            "timed out after {:?}",
            start.elapsed()
        );

        // The cancelled read left the socket intact: data sent now arrives.
        server.write_all(b"hello").await.unwrap();
        let n = timeout(Duration::from_secs(30), client.read(&mut buf))
            .await
            .expect("the read after a timeout completes")
            .unwrap();
        assert_eq!(&buf[..n], b"hello");

        // And the other direction works too.
        client.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        server.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    });
}

fn timeout_around_a_ready_future_returns_its_value(flavor: Flavor) {
    block_on(flavor, async {
        assert_eq!(timeout(Duration::from_secs(3600), async { 7 }).await, Ok(7));
        // The future is polled before the deadline is checked.
        assert_eq!(timeout(Duration::ZERO, async { 8 }).await, Ok(8));
        let past = Instant::now() - Duration::from_millis(10);
        assert_eq!(timeout_at(past, async { 9 }).await, Ok(9));
        // A future that needs a few polls but finishes in time.
        let v = timeout(Duration::from_secs(3600), async {
            for _ in 0..3 {
                runtime::task::yield_now().await;
            }
            sleep(Duration::from_millis(5)).await;
            10
        })
        .await;
        assert_eq!(v, Ok(10));
    });
}

fn timeout_at_a_deadline_is_not_before_it(flavor: Flavor) {
    block_on(flavor, async {
        let deadline = Instant::now() + Duration::from_millis(30);
        let res = timeout_at(deadline, std::future::pending::<()>()).await;
        let err: Elapsed = res.unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        assert!(Instant::now() >= deadline);
    });
}

fn elapsed_is_an_io_timed_out_error(flavor: Flavor) {
    block_on(flavor, async {
        async fn op() -> std::io::Result<()> {
            timeout(Duration::from_millis(1), std::future::pending::<()>()).await?;
            Ok(())
        }
        let err = op().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "deadline has elapsed");
    });
}

/// Spends the whole coop budget on every poll, then yields (as a socket
/// that is always ready would).
struct BudgetHog;

impl Future for BudgetHog {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        while let Poll::Ready(coop) = runtime_reactor::coop::poll_proceed(cx) {
            coop.made_progress();
        }
        // `poll_proceed` woke the task when the budget ran out.
        Poll::Pending
    }
}

fn a_future_that_spends_the_budget_still_times_out(flavor: Flavor) {
    block_on(flavor, async {
        let d = Duration::from_millis(20);
        let start = Instant::now();
        let res = runtime::spawn(timeout(d, BudgetHog)).await.unwrap();
        assert!(res.is_err());
        assert!(start.elapsed() >= d);
    });
}

fn timeout_drops_the_inner_future_when_it_fires(flavor: Flavor) {
    block_on(flavor, async {
        let drops = runtime_tests::DropCounter::new();
        let guard = drops.guard();
        let res = timeout(Duration::from_millis(5), async move {
            let _guard = guard;
            std::future::pending::<()>().await
        })
        .await;
        assert!(res.is_err());
        assert_eq!(drops.count(), 1);
    });
}

flavor_tests!(
    timeout_around_a_pending_read_fires_and_the_socket_stays_usable,
    timeout_around_a_ready_future_returns_its_value,
    timeout_at_a_deadline_is_not_before_it,
    elapsed_is_an_io_timed_out_error,
    a_future_that_spends_the_budget_still_times_out,
    timeout_drops_the_inner_future_when_it_fires,
);
