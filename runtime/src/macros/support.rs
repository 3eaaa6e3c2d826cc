//! What the expansions of [`select!`](crate::select), [`join!`](crate::join)
//! and [`try_join!`](crate::try_join) name, reached as `$crate::__private`.
//! Not part of the public API: anything here may change without notice.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher as _};
use std::pin::Pin as StdPin;
use std::task::{Context, Poll as StdPoll};

pub use runtime_macros::{join, select, try_join};
pub use std::future::{poll_fn, Future, IntoFuture};
pub use std::pin::Pin;
pub use std::task::Poll;

/// `Ready` while the current task has cooperative budget left; otherwise
/// wakes the task and returns `Pending`, as tokio's `select!` does: the
/// budget-aware branches would yield anyway, and the others must not keep
/// the task running past its budget.
///
/// Spends nothing: the unit [`poll_proceed`](runtime_reactor::coop::poll_proceed)
/// takes is given back when its guard drops unused.
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> StdPoll<()> {
    runtime_reactor::coop::poll_proceed(cx).map(drop)
}

thread_local! {
    /// The state of this thread's xorshift generator; 0 until first used.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A pseudo-random number in `0..n` from a per-thread generator (`n > 0`).
///
/// Marsaglia's xorshift64 ("Xorshift RNGs", Journal of Statistical Software
/// 8(14), 2003, triple 13/7/17), seeded once per thread from std's
/// per-process random hasher keys; the result is scaled into range by a
/// multiply and shift rather than `%`. `select!` only needs an unpredictable
/// start branch, not statistical quality.
pub fn thread_rng_n(n: u32) -> u32 {
    debug_assert!(n > 0);
    let next = RNG
        .try_with(|state| {
            let mut x = state.get();
            if x == 0 {
                x = seed();
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            state.set(x);
            x
        })
        // A thread being torn down: any start is as good as another.
        .unwrap_or(0);
    (((next >> 32) * u64::from(n)) >> 32) as u32
}

/// A nonzero seed that differs between threads and processes: std draws
/// random hasher keys once per thread and steps them on each `RandomState`.
fn seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1
}

/// A future, then its output once it has finished, then nothing once the
/// output was taken: one `join!` branch.
#[derive(Debug)]
pub enum MaybeDone<F: std::future::Future> {
    /// Still running.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

/// Wraps `future` (anything `IntoFuture`) for a `join!` branch.
pub fn maybe_done<F: IntoFuture>(future: F) -> MaybeDone<F::IntoFuture> {
    MaybeDone::Future(future.into_future())
}

/// Wraps `future` for a `try_join!` branch, checking that its output is a
/// `Result`.
pub fn try_maybe_done<F>(future: F) -> MaybeDone<F::IntoFuture>
where
    F: IntoFuture,
    F::Output: TryJoinOutput,
{
    MaybeDone::Future(future.into_future())
}

/// The output of a `try_join!` branch: a `Result`.
#[diagnostic::on_unimplemented(
    message = "`try_join!` needs futures whose output is a `Result`, not `{Self}`",
    label = "the output of this future is not a `Result`"
)]
pub trait TryJoinOutput {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// Whether it is an `Err`.
    fn is_err(&self) -> bool;
    /// The `Result` itself.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> TryJoinOutput for Result<T, E> {
    type Ok = T;
    type Err = E;

    fn is_err(&self) -> bool {
        Result::is_err(self)
    }

    fn into_result(self) -> Result<T, E> {
        self
    }
}

impl<F: std::future::Future> MaybeDone<F> {
    /// The output, if the future has finished and it was not taken yet.
    pub fn output_mut(self: StdPin<&mut Self>) -> Option<&mut F::Output> {
        // SAFETY: only the `Done` output is reached, and it is not pinned
        // (pinning is structural for `Future` alone); nothing is moved.
        match unsafe { self.get_unchecked_mut() } {
            MaybeDone::Done(out) => Some(out),
            _ => None,
        }
    }

    /// Takes the output out, if the future has finished and it was not
    /// taken yet.
    pub fn take_output(self: StdPin<&mut Self>) -> Option<F::Output> {
        // SAFETY: the value is replaced only when it is `Done`, which holds
        // no pinned future; a `Future` variant is left where it is.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match std::mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(out) => Some(out),
                _ => unreachable!(),
            },
            _ => None,
        }
    }
}

impl<F: std::future::Future> std::future::Future for MaybeDone<F> {
    type Output = ();

    fn poll(self: StdPin<&mut Self>, cx: &mut Context<'_>) -> StdPoll<()> {
        // SAFETY: pinning is structural for the `Future` variant: its future
        // is polled in place through a new pin and is only dropped in place
        // (by the assignment below, which drops the old value where it is).
        let this = unsafe { self.get_unchecked_mut() };
        if let MaybeDone::Future(fut) = this {
            // SAFETY: see above; `fut` is never moved out of `this`.
            let out = match unsafe { StdPin::new_unchecked(fut) }.poll(cx) {
                StdPoll::Ready(out) => out,
                StdPoll::Pending => return StdPoll::Pending,
            };
            *this = MaybeDone::Done(out);
        }
        StdPoll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_covers_the_range() {
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[thread_rng_n(5) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
        assert_eq!(thread_rng_n(1), 0);
    }

    /// The expansions' pinning of the futures, checked by miri too.
    #[test]
    fn expansions_poll_pinned_futures() {
        let mut fut = std::pin::pin!(async {
            let a = crate::select! {
                v = async { crate::task::yield_now().await; 1 } => v,
                _ = std::future::pending::<()>() => 0,
            };
            let (b, c) = crate::join!(async { 2 }, async {
                crate::task::yield_now().await;
                String::from("3")
            });
            let d: Result<(u8, u8), ()> = crate::try_join!(async { Ok(4) }, async { Ok(5) });
            let e: Result<(u8, ()), u8> =
                crate::try_join!(async { Ok(6) }, std::future::ready(Err(7)));
            (a, b, c, d, e)
        });
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let out = loop {
            if let StdPoll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
        };
        assert_eq!(out, (1, 2, "3".to_owned(), Ok((4, 5)), Err(7)));
    }

    #[test]
    fn maybe_done_keeps_then_gives_the_output() {
        let mut md = std::pin::pin!(maybe_done(async { 7 }));
        assert!(md.as_mut().output_mut().is_none());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(md.as_mut().poll(&mut cx).is_ready());
        assert_eq!(md.as_mut().output_mut().copied(), Some(7));
        assert_eq!(md.as_mut().take_output(), Some(7));
        assert_eq!(md.as_mut().take_output(), None);
        assert!(md.as_mut().poll(&mut cx).is_ready());
    }
}
