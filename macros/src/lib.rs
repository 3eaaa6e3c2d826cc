//! Attribute macros that turn an `async fn` into a synchronous entry point driven by
//! the `runtime` async runtime: [`#[runtime::main]`](macro@main) for a program's
//! `main` and [`#[runtime::test]`](macro@test) for tests; and the expansions behind
//! `runtime::select!`, `runtime::join!` and `runtime::try_join!`.
//!
//! Use them through the `runtime` crate, which re-exports them; this crate is an
//! implementation detail and its paths assume `runtime` is a dependency. The
//! function-like macros here are called by `runtime`'s `macro_rules!` front-ends,
//! which pass their `$crate` first, and are documented there.
//!
//! ```ignore
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let answer = runtime::spawn(async { 42 }).await.unwrap();
//!     println!("{answer}");
//!     Ok(())
//! }
//! ```
//!
//! # Arguments
//!
//! Both macros take the same `key = value` arguments:
//!
//! | argument | values | default |
//! |---|---|---|
//! | `flavor` | `"multi_thread"` or `"current_thread"` | `"multi_thread"` for `main`, `"current_thread"` for `test` |
//! | `worker_threads` | a positive integer literal; only with `"multi_thread"` | the runtime's own default |
//! | `start_paused` | `true` or `false`; only with `"current_thread"` | `false` |
//! | `crate` | a path, as a string, to use instead of `::runtime` | `"::runtime"` |
//!
//! # Implementation
//!
//! The annotated function is kept with its attributes, visibility and signature,
//! minus `async`; its body becomes an `async move` block that the generated
//! function hands to `Builder::...().build().expect(..).block_on(..)`. The block's
//! output is checked against the declared return type, so a mismatch is reported at
//! that type. The body itself is never parsed, only carried over, so errors in it
//! come from rustc at the user's own tokens.
//!
//! Misuse (a function that is not `async`, that takes arguments or is generic, or
//! an unknown, repeated or ill-typed argument) is reported as spanned compile
//! errors, and the function is still emitted in a form that compiles, so that an
//! IDE keeps working inside it and rustc adds no confusing errors of its own (the
//! approach of tokio-macros' `entry.rs`).

mod entry;
mod join;
mod select;

use proc_macro::TokenStream;

/// Runs an `async fn` on a new `runtime` runtime: the usual way to write `main`.
///
/// The function must be `async`, take no arguments and have no generic parameters.
/// It may return any type, such as `()` or `std::io::Result<()>`; the body's value
/// is what the generated synchronous function returns. It need not be called
/// `main`.
///
/// By default the runtime is the multi-thread, work-stealing one with the default
/// number of worker threads.
///
/// # Arguments
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`, which
///   runs every task on the thread that called `main`.
/// - `worker_threads = N`: the number of worker threads, a positive integer literal.
///   Only with the multi-thread flavor.
/// - `start_paused = true`: start with the runtime's time paused
///   (`Builder::start_paused`, see `runtime::time::pause`). Only with the
///   current-thread flavor.
/// - `crate = "path"`: where to find the runtime crate, if it is not `::runtime`
///   (for example when it was renamed in `Cargo.toml`).
///
/// # Examples
///
/// ```ignore
/// #[runtime::main]
/// async fn main() {
///     println!("hello from a worker-thread runtime");
/// }
/// ```
///
/// Choosing the runtime:
///
/// ```ignore
/// #[runtime::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
///
/// ```ignore
/// #[runtime::main(worker_threads = 4)]
/// async fn main() {}
/// ```
///
/// The first example expands to about:
///
/// ```ignore
/// fn main() {
///     let body = async move {
///         println!("hello from a worker-thread runtime");
///     };
///     ::runtime::Builder::new_multi_thread()
///         .build()
///         .expect("failed to build the runtime")
///         .block_on(body)
/// }
/// ```
///
/// # Panics
///
/// The generated function panics if the runtime can't be built (for example when
/// the OS refuses to create its poller or threads).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(args.into(), item.into(), entry::Kind::Main).into()
}

/// Runs an `async fn` test on a new `runtime` runtime, one runtime per test.
///
/// Like [`#[runtime::main]`](macro@main), but the generated function is marked
/// `#[test]` and the default flavor is `"current_thread"`, as in tokio. The
/// function's other attributes (`#[should_panic]`, `#[ignore]`, doc comments, ...)
/// are kept. It may return `()` or a `Result<(), E>`, like any test; do not add a
/// `#[test]` of your own.
///
/// # Arguments
///
/// The same as [`#[runtime::main]`](macro@main): `flavor`, `worker_threads` (which
/// needs `flavor = "multi_thread"` here), `start_paused` and `crate`.
///
/// # Examples
///
/// ```ignore
/// #[runtime::test]
/// async fn spawned_task_returns() {
///     assert_eq!(runtime::spawn(async { 5 }).await.unwrap(), 5);
/// }
///
/// #[runtime::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_two_workers() -> std::io::Result<()> {
///     Ok(())
/// }
///
/// #[runtime::test(start_paused = true)]
/// async fn an_hour_passes_at_once() {
///     let start = runtime::time::Instant::now();
///     runtime::time::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
/// }
///
/// #[runtime::test]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     panic!("boom");
/// }
/// ```
///
/// # Panics
///
/// The generated test panics if the runtime can't be built.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(args.into(), item.into(), entry::Kind::Test).into()
}

/// The expansion of `runtime::select!`; use that macro, which documents the syntax.
///
/// The input is the runtime crate's path in parentheses, then `select!`'s own input.
#[doc(hidden)]
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// The expansion of `runtime::join!`; use that macro.
///
/// The input is the runtime crate's path in parentheses, then `join!`'s own input.
#[doc(hidden)]
#[proc_macro]
pub fn join(input: TokenStream) -> TokenStream {
    join::expand(input.into(), join::Kind::Join).into()
}

/// The expansion of `runtime::try_join!`; use that macro.
///
/// The input is the runtime crate's path in parentheses, then `try_join!`'s own input.
#[doc(hidden)]
#[proc_macro]
pub fn try_join(input: TokenStream) -> TokenStream {
    join::expand(input.into(), join::Kind::TryJoin).into()
}
