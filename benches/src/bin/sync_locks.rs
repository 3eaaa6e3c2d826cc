//! `sync_locks`: `runtime::sync`'s locks and signals against `tokio::sync`
//! and `async-lock`, every runtime with 2 workers, in one process.
//!
//! ```text
//! cargo run --release -p runtime-benches --bin sync_locks -- [--rounds 3] [--ms 150]
//! ```
//!
//! Prints, per case, operations per second of each contender (median of the
//! rounds, contenders alternating) and the ratio of ours to tokio's (above 1:
//! `runtime` is faster). The cases are in `runtime_benches::sync_locks`.

use std::time::Duration;

use runtime_benches::sync_locks::{measure_case, Case, Contender};

fn main() {
    let mut rounds = 3usize;
    let mut ms = 150u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next();
        match (a.as_str(), v.and_then(|v| v.parse::<u64>().ok())) {
            ("--rounds", Some(v)) => rounds = v.max(1) as usize,
            ("--ms", Some(v)) => ms = v.max(1),
            _ => {
                eprintln!("usage: sync_locks [--rounds N] [--ms MS]");
                std::process::exit(2);
            }
        }
    }
    let dur = Duration::from_millis(ms);
    println!(
        "| case | {} | runtime/tokio |",
        Contender::ALL
            .map(|c| format!("{} ops/s", c.name()))
            .join(" | ")
    );
    println!("|---|{}---|", "---:|".repeat(Contender::ALL.len()));
    for case in Case::ALL {
        let rates = measure_case(case, rounds, dur);
        let cell = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.0}", r));
        let ours = rates[0].1.unwrap_or(0.0);
        let tokio = rates[1].1.unwrap_or(f64::NAN);
        println!(
            "| {} | {} | {:.2} |",
            case.name(),
            rates
                .iter()
                .map(|(_, r)| cell(*r))
                .collect::<Vec<_>>()
                .join(" | "),
            ours / tokio
        );
    }
}
