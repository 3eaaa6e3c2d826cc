//! `sched`: scheduler micro-benchmarks of `runtime` side by side with tokio
//! and smol, in one process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin sched -- \
//!     [--workers 2] [--rounds 15] [--quick] [--no-smol] \
//!     [--runtimes runtime,tokio,smol] [--case spawn_many,ping_pong]
//! ```
//!
//! For each case every runtime is built once (with the same worker count),
//! warmed up with one round, then measured for `--rounds` rounds. The
//! runtimes take turns round by round (the starting one rotates, so none
//! always runs right after another), and each round times a fixed amount of
//! work: some repetitions of the case (20 of `spawn_many`, 8 of
//! `yield_many`, 60 of `ping_pong`, 600 of `chained_spawn`, 30 of
//! `remote_spawn`: tens of milliseconds each), each one a `block_on`. The table
//! gives the median time of one repetition and the ratio of tokio's (and
//! smol's) median to ours: above 1 means `runtime` is faster. A second table
//! gives the process CPU time (all threads) per repetition.
//!
//! Cases (the counts of the default run; `--quick` divides them by ten and
//! runs 3 rounds of one repetition):
//!
//! - `spawn_many`: from inside `block_on`, spawn 10,000 trivial tasks and
//!   wait until all have run;
//! - `yield_many`: 200 tasks each call the runtime's `yield_now` 1,000 times;
//! - `ping_pong`: 1,000 pairs of tasks pass a counter back and forth 10
//!   times through one-slot mailboxes;
//! - `chained_spawn`: a chain of 1,000 tasks, each spawning the next;
//! - `remote_spawn`: a plain thread (not a runtime thread) spawns 10,000
//!   tasks through a handle while `block_on` waits for them all.
//!
//! The cases live in the library (`runtime_benches::sched`), shared with
//! the `compare` binary, and so does this driver (`runtime_benches::micro`).
//! Completion is signalled through a latch, and messages travel through
//! one-slot mailboxes: the same `std`-only code for every runtime.

use std::process::ExitCode;

use runtime_benches::micro::{cli, Defaults};
use runtime_benches::sched::Case;

fn main() -> ExitCode {
    cli::<Case>(Defaults {
        name: "sched",
        rounds: 15,
    })
}
