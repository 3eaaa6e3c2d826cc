//! `select!`, `join!` and `try_join!`: `macro_rules!` front-ends that hand
//! their input, with `$crate` first, to the procedural macros of
//! `runtime-macros` (so mistakes in the input are compile errors spanned at
//! the user's tokens), and the support items their expansions name
//! ([`__private`](crate::__private)).

pub(crate) mod support;

/// Waits on several branches at once and runs the handler of the first one
/// whose future completes with a value matching its pattern; the other
/// futures are dropped.
///
/// ```text
/// select! {
///     biased;                                              // optional, first
///     <pattern> = <future> => <handler>,
///     <pattern> = <future>, if <precondition> => <handler>,
///     else => <expression>                                 // optional, last
/// }
/// ```
///
/// The macro must be used inside an async function or block. It runs as
/// follows:
///
/// 1. Every `if` precondition is evaluated, in order; a branch whose
///    precondition is `false` is disabled for this call.
/// 2. Every `<future>` expression (anything [`IntoFuture`]) is evaluated
///    once, in order, including those of disabled branches, whose futures
///    are then never polled. The futures are pinned in place on the
///    stack, so they need neither be [`Unpin`] nor fused; to keep one
///    across calls (in a loop), pin it outside and pass `&mut fut`.
/// 3. The enabled futures are polled on the current task, concurrently but
///    not in parallel. When one completes, its branch is disabled and its
///    output is matched against `<pattern>`: on a match, `select!` drops
///    the futures and evaluates to `<handler>`, with the pattern's bindings
///    in scope. Otherwise the other branches go on being polled.
/// 4. When every branch is disabled, the `else` expression is the result.
///
/// Handlers and `else` run in the enclosing function, not inside a closure:
/// `return`, `?`, `break` and `continue` in them act on the enclosing
/// function and loop. All handlers (and `else`) must have the same type.
///
/// # Fairness
///
/// Each time `select!` polls its futures it starts at a branch picked by a
/// cheap per-thread pseudo-random generator, so in a loop an always-ready
/// branch cannot starve the ones after it. With `biased;` the futures are
/// polled top to bottom instead: no random number is drawn, and it is up
/// to the order of the branches to be fair (put a shutdown signal before a
/// busy stream).
///
/// # Cooperative budget
///
/// When the task has spent its [cooperative budget](crate::task::consume_budget),
/// `select!` polls nothing and yields (the task is woken again at once),
/// as tokio's does: the budget-aware branches would yield anyway, and the
/// others must not keep the task running.
///
/// # Panics
///
/// When every branch is disabled (by its precondition, or because its
/// output did not match its pattern) and there is no `else` branch:
/// "all branches are disabled and there is no else branch".
///
/// # Cancel safety
///
/// When one branch wins, the others' futures are dropped: whatever they had
/// done is lost unless they are cancel-safe (the `recv` of the
/// [`mpsc`](crate::sync::mpsc) channels, `accept` and `read` on sockets are;
/// `read_exact` and `write_all` are not). In a loop, create only cancel-safe
/// futures inside `select!`, or keep the others across iterations with
/// `&mut fut`.
///
/// # Limits
///
/// At most 64 branches.
///
/// # Examples
///
/// A message, or a timeout:
///
/// ```
/// use std::time::Duration;
/// use runtime::sync::mpsc;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (tx, mut rx) = mpsc::channel::<u32>(8);
/// runtime::spawn(async move { tx.send(5).await.unwrap() });
/// let got = runtime::select! {
///     Some(v) = rx.recv() => Some(v),
///     _ = runtime::time::sleep(Duration::from_secs(30)) => None,
/// };
/// assert_eq!(got, Some(5));
/// # });
/// ```
///
/// Draining two channels in a loop: a closed channel's branch is disabled by
/// its pattern, and `else` ends the loop once both are:
///
/// ```
/// use runtime::sync::mpsc;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (tx1, mut rx1) = mpsc::unbounded_channel();
/// let (tx2, mut rx2) = mpsc::unbounded_channel();
/// for i in 0..3 {
///     tx1.send(i).unwrap();
///     tx2.send(10 + i).unwrap();
/// }
/// drop((tx1, tx2));
///
/// let mut sum = 0;
/// loop {
///     runtime::select! {
///         Some(v) = rx1.recv() => sum += v,
///         Some(v) = rx2.recv() => sum += v,
///         else => break,
///     }
/// }
/// assert_eq!(sum, 36);
/// # });
/// ```
///
/// One timer across the iterations of a loop, and a precondition:
///
/// ```
/// use std::time::Duration;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let deadline = runtime::time::sleep(Duration::from_millis(20));
/// let mut deadline = std::pin::pin!(deadline);
/// let mut ticks = 0;
/// loop {
///     runtime::select! {
///         biased;
///         _ = &mut deadline => break,
///         _ = runtime::task::yield_now(), if ticks < 3 => ticks += 1,
///     }
/// }
/// assert_eq!(ticks, 3);
/// # });
/// ```
///
/// [`IntoFuture`]: std::future::IntoFuture
#[macro_export]
macro_rules! select {
    ($($input:tt)*) => {
        $crate::__private::select! { ($crate) $($input)* }
    };
}

/// Awaits several futures concurrently on the current task and evaluates to
/// a tuple of their outputs, in the order the futures are written.
///
/// ```text
/// join!(<future>, <future>, ...)
/// join!(biased; <future>, <future>, ...)
/// ```
///
/// Each expression (anything [`IntoFuture`](std::future::IntoFuture)) is
/// evaluated once, in order; the futures are pinned in place, so they need
/// not be [`Unpin`]. They run concurrently but not in parallel: to use more
/// than one thread, [`spawn`](crate::spawn) them and join the handles.
///
/// Each time the join is polled it polls every unfinished future, starting
/// one further along than the time before, so a future that spends the
/// task's whole [budget](crate::task::consume_budget) cannot keep the others
/// from running; with `biased;` they are polled in the written order every
/// time. `join!()` evaluates to `()`.
///
/// # Cancel safety
///
/// Dropping the join (when it is itself inside a `select!` branch that
/// loses, say) drops every future, finished or not, and the outputs of the
/// finished ones.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// async fn double(x: u32) -> u32 {
///     runtime::task::yield_now().await;
///     x * 2
/// }
/// let (a, b, c) = runtime::join!(double(1), double(2), async { "three" });
/// assert_eq!((a, b, c), (2, 4, "three"));
/// # });
/// ```
#[macro_export]
macro_rules! join {
    ($($input:tt)*) => {
        $crate::__private::join! { ($crate) $($input)* }
    };
}

/// Awaits several fallible futures concurrently on the current task:
/// `Ok` of a tuple of their `Ok` values once all succeed, or the first
/// `Err` as soon as one fails.
///
/// ```text
/// try_join!(<future>, <future>, ...)
/// try_join!(biased; <future>, <future>, ...)
/// ```
///
/// Each future's output must be a `Result<_, E>`, with one error type `E`
/// for all of them. The futures are evaluated, pinned and polled as by
/// [`join!`]; when one finishes with `Err`, the others are dropped at once,
/// unfinished, and the error is returned. `try_join!()` evaluates to
/// `Ok(())`.
///
/// # Cancel safety
///
/// On an error, and when the `try_join!` is dropped, the futures still
/// running are dropped with whatever they had done.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     s.parse()
/// }
/// assert_eq!(runtime::try_join!(parse("1"), parse("2")), Ok((1, 2)));
/// assert!(runtime::try_join!(parse("1"), parse("x")).is_err());
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    ($($input:tt)*) => {
        $crate::__private::try_join! { ($crate) $($input)* }
    };
}
