//! `runtime::select!`, with tokio's syntax and semantics:
//!
//! - a TCP read on 127.0.0.1 against a timer: the side that is ready wins;
//! - the start branch is random (each of two always-ready branches wins
//!   sometimes), and `biased;` always polls top to bottom;
//! - a branch whose output does not match its pattern is disabled and the
//!   others keep being polled; `else` runs once all are disabled, and
//!   without `else` that panics with tokio's message;
//! - `if` preconditions disable branches without polling their futures
//!   (which are still evaluated, once);
//! - a loop over `&mut sleep` pinned outside, and `mut`/by-value bindings;
//! - `return`, `?`, `break` and `continue` in handlers act on the enclosing
//!   function and loop;
//! - the cooperative budget: a task that has spent it yields at `select!`;
//! - 64 branches.

use std::future::{pending, ready, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::sync::mpsc;
use runtime::time::sleep;
use runtime_tests::{
    block_on, connected_pair, flavor_tests, panic_message, DropCounter, Flavor, WakeCounter,
};

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// A future that is pending on its first poll (waking itself) and ready
/// with `value` on the next.
async fn after_one_yield<T>(value: T) -> T {
    runtime::task::yield_now().await;
    value
}

#[derive(Debug, PartialEq)]
enum Won {
    Read(Vec<u8>),
    Timer,
}

fn tcp_read_against_timer(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let mut buf = [0u8; 16];

        // Nothing was written: only the timer can finish.
        let won = runtime::select! {
            n = server.read(&mut buf) => Won::Read(buf[..n.unwrap()].to_vec()),
            _ = sleep(Duration::from_millis(20)) => Won::Timer,
        };
        assert_eq!(won, Won::Timer);

        // Bytes are waiting: the read finishes long before a 60 s timer.
        client.write_all(b"ping").await.unwrap();
        let won = runtime::select! {
            n = server.read(&mut buf) => Won::Read(buf[..n.unwrap()].to_vec()),
            _ = sleep(Duration::from_secs(60)) => Won::Timer,
        };
        assert_eq!(won, Won::Read(b"ping".to_vec()));

        // The losing read was cancelled without losing data (it is
        // cancel-safe): the next write is read whole.
        client.write_all(b"pong").await.unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
    });
}

fn random_start_lets_each_branch_win(flavor: Flavor) {
    block_on(flavor, async {
        let mut wins = [0u32; 2];
        for _ in 0..1000 {
            let i = runtime::select! {
                _ = ready(()) => 0,
                _ = ready(()) => 1,
            };
            wins[i] += 1;
        }
        // Each loses with probability 2^-1000 if the start is uniform.
        assert!(wins[0] > 0 && wins[1] > 0, "{wins:?}");
    });
}

fn biased_polls_in_order(flavor: Flavor) {
    block_on(flavor, async {
        for _ in 0..1000 {
            let i = runtime::select! {
                biased;
                _ = ready(()) => 0,
                _ = ready(()) => 1,
                _ = ready(()) => 2,
            };
            assert_eq!(i, 0);
        }
        // `biased;` with a false precondition on the first: the second.
        let i = runtime::select! {
            biased;
            _ = ready(()), if false => 0,
            _ = ready(()) => 1,
        };
        assert_eq!(i, 1);
    });
}

fn failed_pattern_disables_only_its_branch(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        drop(tx);
        // `rx.recv()` is ready with `None` at once; its branch is disabled
        // (and never polled again) and the other one still wins.
        for _ in 0..50 {
            let got = runtime::select! {
                Some(v) = rx.recv() => v,
                v = after_one_yield(7u32) => v,
            };
            assert_eq!(got, 7);
        }

        // An `Option` pattern that matches wins.
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        tx.send(3).unwrap();
        let got = runtime::select! {
            Some(v) = rx.recv() => v,
            _ = pending::<()>() => unreachable!(),
        };
        assert_eq!(got, 3);
    });
}

fn else_runs_when_all_are_disabled(flavor: Flavor) {
    block_on(flavor, async {
        // By patterns.
        let got = runtime::select! {
            Some(v) = ready(None::<u32>) => v,
            Ok(v) = ready(Err::<u32, ()>(())) => v,
            else => 99,
        };
        assert_eq!(got, 99);

        // By preconditions: the futures are evaluated, once each, but
        // never polled.
        let evaluated = AtomicUsize::new(0);
        let polled = AtomicBool::new(false);
        let make = || {
            evaluated.fetch_add(1, Ordering::SeqCst);
            std::future::poll_fn(|_| {
                polled.store(true, Ordering::SeqCst);
                Poll::Ready(1)
            })
        };
        let got = runtime::select! {
            v = make(), if false => v,
            v = make(), if 1 > 2 => v,
            else => 0,
        };
        assert_eq!(got, 0);
        assert_eq!(evaluated.load(Ordering::SeqCst), 2);
        assert!(!polled.load(Ordering::SeqCst));

        // Only `else`.
        let got = runtime::select! { else => 5 };
        assert_eq!(got, 5);
    });
}

fn no_else_panics_when_all_are_disabled(flavor: Flavor) {
    let res = catch_unwind(AssertUnwindSafe(|| {
        block_on(flavor, async {
            runtime::select! {
                Some(v) = ready(None::<u32>) => v,
                _ = ready(()), if false => 0,
            }
        })
    }));
    let payload = res.expect_err("`select!` with every branch disabled must panic");
    assert_eq!(
        panic_message(&*payload).as_deref(),
        Some("all branches are disabled and there is no else branch")
    );
}

fn preconditions_guard_branches(flavor: Flavor) {
    block_on(flavor, async {
        let (tx1, mut rx1) = mpsc::unbounded_channel::<u32>();
        let (tx2, mut rx2) = mpsc::unbounded_channel::<u32>();
        tx1.send(1).unwrap();
        tx2.send(2).unwrap();
        let mut a = None;
        let mut b = None;
        // Each branch runs once, then its precondition takes it out.
        while a.is_none() || b.is_none() {
            runtime::select! {
                v = rx1.recv(), if a.is_none() => a = v,
                v = rx2.recv(), if b.is_none() => b = v,
            }
        }
        assert_eq!((a, b), (Some(1), Some(2)));
        // The channels were not polled again: their second messages wait.
        tx1.send(10).unwrap();
        tx2.send(20).unwrap();
        assert_eq!(rx1.try_recv(), Ok(10));
        assert_eq!(rx2.try_recv(), Ok(20));
    });
}

fn loop_over_pinned_sleep(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel::<u32>(8);
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
        // One timer for the whole loop; `&mut` of a pinned `Sleep` is a
        // future too, and neither needs `Unpin` nor fusing.
        let deadline = sleep(Duration::from_millis(20));
        let mut deadline = pin!(deadline);
        let mut got = Vec::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            runtime::select! {
                biased;
                Some(v) = rx.recv() => got.push(v),
                () = &mut deadline => break,
            }
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(rounds, 6);
        assert!(deadline.is_elapsed());
        drop(tx);
    });
}

fn bindings_move_and_mutate(flavor: Flavor) {
    block_on(flavor, async {
        let v = runtime::select! {
            mut v = ready(vec![1]) => {
                v.push(2);
                v
            }
        };
        assert_eq!(v, [1, 2]);
        // A handler may await.
        let v = runtime::select! {
            v = ready(1) => after_one_yield(v).await + 1,
        };
        assert_eq!(v, 2);
        // Or-patterns and bindings of a non-`Copy` value by move.
        let s = runtime::select! {
            Ok(s) | Err(s) = ready(Err::<String, String>("e".to_owned())) => s,
        };
        assert_eq!(s, "e");
        // Futures are evaluated once, in order.
        let order = std::cell::RefCell::new(Vec::new());
        let f = |i: u32| {
            order.borrow_mut().push(i);
            ready(i)
        };
        let _ = runtime::select! {
            biased;
            a = f(0) => a,
            b = f(1) => b,
            c = f(2) => c,
        };
        assert_eq!(*order.borrow(), [0, 1, 2]);
    });
}

async fn returns_from_handler() -> u32 {
    runtime::select! {
        _ = ready(()) => return 5,
    }
    #[allow(unreachable_code)]
    0
}

async fn question_mark_in_handler(fail: bool) -> Result<u32, String> {
    let v = runtime::select! {
        r = ready(if fail { Err("bad".to_owned()) } else { Ok(1u32) }) => r?,
    };
    Ok(v + 1)
}

async fn question_mark_in_future(fail: bool) -> Result<u32, String> {
    let v = runtime::select! {
        v = ready(if fail { Err("early".to_owned()) } else { Ok(2u32) }?) => v,
    };
    Ok(v)
}

fn control_flow_in_handlers(flavor: Flavor) {
    block_on(flavor, async {
        assert_eq!(returns_from_handler().await, 5);
        assert_eq!(question_mark_in_handler(false).await, Ok(2));
        assert_eq!(question_mark_in_handler(true).await, Err("bad".to_owned()));
        assert_eq!(question_mark_in_future(false).await, Ok(2));
        assert_eq!(question_mark_in_future(true).await, Err("early".to_owned()));

        // `break` with a value, `continue`, and labels.
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        for i in 1..=6 {
            tx.send(i).unwrap();
        }
        let mut odd_sum = 0;
        let last = 'outer: loop {
            runtime::select! {
                Some(v) = rx.recv() => {
                    if v % 2 == 0 {
                        continue;
                    }
                    if v == 5 {
                        break 'outer v * 10;
                    }
                    odd_sum += v;
                }
                else => break 0,
            }
        };
        assert_eq!((odd_sum, last), (1 + 3, 50));
        assert_eq!(rx.try_recv(), Ok(6));

        // `else => break` ends a loop.
        let mut n = 0;
        loop {
            runtime::select! {
                _ = ready(()), if n < 3 => n += 1,
                else => break,
            }
        }
        assert_eq!(n, 3);
    });
}

fn losers_are_dropped_when_select_returns(flavor: Flavor) {
    block_on(flavor, async {
        let drops = DropCounter::new();
        let guard = drops.guard();
        let won = runtime::select! {
            _ = async move {
                let _g = guard;
                pending::<()>().await
            } => false,
            _ = after_one_yield(()) => {
                // The loser is gone before the handler runs.
                drops.count() == 1
            }
        };
        assert!(won);
    });
}

#[test]
fn spent_budget_makes_select_yield() {
    use runtime::task::consume_budget;
    use runtime_reactor::coop;

    let (wakes, waker) = WakeCounter::new();
    let mut cx = Context::from_waker(&waker);

    // With one unit left, `select!` polls (and spends nothing itself).
    let mut fut = pin!(async {
        for _ in 0..coop::BUDGET - 1 {
            consume_budget().await;
        }
        runtime::select! { v = ready(1) => v }
    });
    assert_eq!(coop::budget(|| fut.as_mut().poll(&mut cx)), Poll::Ready(1));
    assert_eq!(wakes.count(), 0);

    // With none left, it yields after waking the task, and completes in the
    // next poll's fresh budget.
    let mut fut = pin!(async {
        for _ in 0..coop::BUDGET {
            consume_budget().await;
        }
        runtime::select! { v = ready(2) => v }
    });
    assert_eq!(coop::budget(|| fut.as_mut().poll(&mut cx)), Poll::Pending);
    assert_eq!(wakes.count(), 1);
    assert_eq!(coop::budget(|| fut.as_mut().poll(&mut cx)), Poll::Ready(2));

    // Outside any budget, it never yields for budget.
    let mut fut = pin!(async {
        runtime::select! { v = ready(3) => v }
    });
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(3));
}

/// `select!` over one always-ready future per listed literal, each branch
/// evaluating to its literal.
macro_rules! select_each {
    ([$($pre:tt)*] $($n:literal)*) => {
        runtime::select! {
            $($pre)*
            $( v = ready($n), if $n >= FIRST_ENABLED => v, )*
        }
    };
}

fn sixty_four_branches(flavor: Flavor) {
    block_on(flavor, async {
        const FIRST_ENABLED: u32 = 0;
        let v = select_each!([biased;]
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
            60 61 62 63);
        assert_eq!(v, 0u32);
    });
    block_on(flavor, async {
        const FIRST_ENABLED: u32 = 63;
        let v = select_each!([]
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
            60 61 62 63);
        assert_eq!(v, 63u32);
    });
}

/// A `select!` future is `Send` when its futures are, so it can run in a
/// spawned task on the multi-thread runtime.
fn select_in_spawned_task(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let stop = Arc::new(runtime::sync::Notify::new());
        let task = runtime::spawn({
            let stop = stop.clone();
            async move {
                let mut sum = 0;
                loop {
                    runtime::select! {
                        Some(v) = rx.recv() => sum += v,
                        () = stop.notified() => return sum,
                    }
                }
            }
        });
        for i in 1..=4 {
            tx.send(i).await.unwrap();
        }
        // Wait until every message is taken, then stop.
        runtime_tests::yield_until(|| rx_drained(&tx)).await;
        stop.notify_one();
        assert_eq!(task.await.unwrap(), 10);
    });
}

/// Whether the bounded channel behind `tx` holds no message.
fn rx_drained(tx: &mpsc::Sender<u32>) -> bool {
    tx.capacity() == tx.max_capacity()
}

flavor_tests!(
    tcp_read_against_timer,
    random_start_lets_each_branch_win,
    biased_polls_in_order,
    failed_pattern_disables_only_its_branch,
    else_runs_when_all_are_disabled,
    no_else_panics_when_all_are_disabled,
    preconditions_guard_branches,
    loop_over_pinned_sleep,
    bindings_move_and_mutate,
    control_flow_in_handlers,
    losers_are_dropped_when_select_returns,
    sixty_four_branches,
    select_in_spawned_task,
);
