//! `timers`: timer benchmarks of `runtime` side by side with tokio and
//! smol, in one process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin timers -- \
//!     [--workers 2] [--rounds 10] [--quick] [--no-smol] \
//!     [--runtimes runtime,tokio,smol] [--case sleeps_spread,insert_cancel]
//! ```
//!
//! Every runtime is built with the same worker count (tokio with all
//! drivers enabled), warmed up with one round, then measured for `--rounds`
//! rounds, taking turns round by round. The tables give the median wall
//! time and the median process CPU time (all threads) of one round, and the
//! ratio of each other runtime's median to the first's (`runtime` by
//! default): above 1 means `runtime` is faster (or cheaper).
//!
//! Cases (the amounts of the default run; `--quick` divides the counts by
//! ten and runs 3 rounds):
//!
//! - `sleeps_spread`: from inside `block_on`, spawn 100,000 tasks, task `i`
//!   sleeping `(i * 7919) % 100,000` µs (deadlines spread over 100 ms), and
//!   wait until all have woken;
//! - `insert_cancel`: one task registers and cancels 200,000 timeouts that
//!   never fire (`timeout(10 s, f)` around a future ready on its second
//!   poll), all inside one task poll;
//! - `insert_cancel_parallel`: the same, 100,000 times in each of
//!   `--workers` tasks at once;
//! - `interval_1ms`: one task ticks a 1 ms `interval` 200 times;
//! - `intervals_1ms_x1000`: 1,000 tasks each tick their own 1 ms interval
//!   50 times.
//!
//! The cases live in the library (`runtime_benches::timers`, which says
//! more about each and about smol's timers), shared with the `compare`
//! binary, and so does this driver (`runtime_benches::micro`).

use std::process::ExitCode;

use runtime_benches::micro::{cli, Defaults};
use runtime_benches::timers::Case;

fn main() -> ExitCode {
    cli::<Case>(Defaults {
        name: "timers",
        rounds: 10,
    })
}
