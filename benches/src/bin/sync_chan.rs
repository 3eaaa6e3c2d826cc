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
    println!("| case | runtime ops/s | tokio ops/s | ratio | async-channel on runtime ops/s |");
    println!("|---|---:|---:|---:|---:|");
    for (name, r) in runtime_benches::sync_chan::all() {
        let other = r
            .async_channel
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {other} |",
            r.runtime,
            r.tokio,
            r.ratio()
        );
    }
}
