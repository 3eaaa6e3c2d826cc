//! `sync_chan`: channel throughput of `runtime::sync` on `runtime` against
//! `tokio::sync` on tokio (both 2 workers), in one process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin sync_chan
//! ```
//!
//! The cases are in `runtime_benches::sync_chan`; the ratio above 1 means
//! `runtime` is faster.

fn main() {
    println!("| case | runtime ops/s | tokio ops/s | ratio |");
    println!("|---|---:|---:|---:|");
    for (name, r) in runtime_benches::sync_chan::all() {
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} |",
            r.runtime,
            r.tokio,
            r.ratio()
        );
    }
}
