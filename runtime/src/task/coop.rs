//! The cooperative budget, tokio's `task::coop`: [`consume_budget`],
//! [`unconstrained`], [`cooperative`], and for hand-written futures
//! [`poll_proceed`] with its [`RestoreOnPending`] guard and
//! [`has_budget_remaining`].
//!
//! Each task poll (and each poll of a `block_on` future) gets a budget of 128
//! units; every operation that completes (a socket read, an elapsed sleep, a
//! read from [`io::empty`](crate::io::empty)) spends one, and once it is spent
//! such operations return `Pending` after waking the task, so it yields to the
//! others. Operations that are not ready spend nothing. The counter itself
//! lives in `runtime_reactor::coop`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use runtime_reactor::coop;

pub use runtime_reactor::coop::{has_budget_remaining, poll_proceed, RestoreOnPending};

/// Spends one unit of the task's cooperative budget, yielding first if the
/// budget is already spent.
///
/// A loop of work that never touches the runtime (computing, or reading
/// something always ready that is not budget-aware) never yields by itself;
/// calling this in each round makes it take part in the budget, so it yields
/// once every 128 rounds instead of holding its worker. Unlike
/// [`yield_now`](crate::task::yield_now), it does not yield on every call.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut sum = 0u64;
/// for i in 0..10_000u64 {
///     sum += i;
///     runtime::task::consume_budget().await;
/// }
/// assert_eq!(sum, 49_995_000);
/// # });
/// ```
pub async fn consume_budget() {
    let mut done = false;
    poll_fn(move |cx| {
        if done {
            return Poll::Ready(());
        }
        // Pending (budget spent, task woken): the next poll has a fresh one.
        let res = coop::poll_proceed_and_make_progress(cx);
        done = res.is_ready();
        res
    })
    .await
}

/// Runs `future` outside the cooperative budget: operations inside it never
/// yield for budget, however many complete in one poll.
///
/// The future still yields when an operation is genuinely not ready. Use it
/// for a future that must not be interrupted by the budget (it is then up to
/// it not to starve the other tasks on its worker).
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut buf = [0u8; 4];
/// let n = runtime::task::unconstrained(async {
///     let mut reader = runtime::io::repeat(7);
///     // Hundreds of reads that are all ready: none of them yields.
///     for _ in 0..1000 {
///         reader.read_exact(&mut buf).await.unwrap();
///     }
///     buf[0]
/// })
/// .await;
/// assert_eq!(n, 7);
/// # });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { inner: future }
}

/// The future returned by [`unconstrained`].
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    /// Structurally pinned: never moved out of a pinned `Unconstrained`.
    inner: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of `inner` (see the field): no method
        // hands out `&mut F` or moves it, and there is no `Drop` impl.
        let inner = unsafe { self.map_unchecked_mut(|u| &mut u.inner) };
        coop::unconstrained(|| inner.poll(cx))
    }
}

impl<F: fmt::Debug> fmt::Debug for Unconstrained<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unconstrained")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Makes `future` take part in the budget, as this runtime's own
/// operations do: each poll first takes a unit ([`poll_proceed`]; with the
/// budget spent, the task yields without polling `future`), and the unit
/// is kept only when `future` completes. For futures of other crates
/// (`futures`' channels, for example) that know nothing of the budget and
/// could otherwise keep a task busy as long as they are ready.
///
/// # Examples
///
/// ```
/// use runtime::task::coop::cooperative;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// // `std::future::ready` is always ready; wrapped, a loop over it
/// // yields every 128 rounds like a loop over a socket would.
/// for i in 0..1_000 {
///     assert_eq!(cooperative(std::future::ready(i)).await, i);
/// }
/// # });
/// ```
pub fn cooperative<F: Future>(future: F) -> Coop<F> {
    Coop { inner: future }
}

/// The future returned by [`cooperative`].
#[must_use = "futures do nothing unless polled"]
pub struct Coop<F> {
    /// Structurally pinned: never moved out of a pinned `Coop`.
    inner: F,
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let unit = std::task::ready!(poll_proceed(cx));
        // SAFETY: structural pinning of `inner` (see the field): no method
        // hands out `&mut F` or moves it, and there is no `Drop` impl.
        let inner = unsafe { self.map_unchecked_mut(|c| &mut c.inner) };
        let res = inner.poll(cx);
        if res.is_ready() {
            unit.made_progress();
        }
        res
    }
}

impl<F: fmt::Debug> fmt::Debug for Coop<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coop").field("inner", &self.inner).finish()
    }
}
