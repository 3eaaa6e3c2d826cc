//! `sync`: `runtime::sync` on `runtime` against `tokio::sync` on tokio,
//! the cases of [`runtime_benches::sync_chan`] and
//! [`runtime_benches::sync_locks`], run in this process (each case builds
//! its own runtimes, 2 workers each, rounds alternating).

use std::collections::BTreeMap;
use std::time::Duration;

use runtime_benches::contender::Contender;
use runtime_benches::report::Table;
use runtime_benches::{sync_chan, sync_locks};

use crate::figures::fmt_rate;
use crate::results::{Better, Report, TIMER_TARGET};
use crate::settings::Settings;
use crate::Res;

pub(crate) fn sync_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("sync primitives");
    let mut t = Table::new(["case", "runtime ops/s", "tokio ops/s", "vs tokio"]);
    let mut add = |name: &str, ours: f64, tokio: f64| {
        t.row([
            name.to_owned(),
            fmt_rate(ours),
            fmt_rate(tokio),
            format!("{:.2}", ours / tokio),
        ]);
        let values = BTreeMap::from([(Contender::Runtime, ours), (Contender::Tokio, tokio)]);
        report.metric(name, "ops/s", Better::Higher, values, TIMER_TARGET);
    };
    for (name, r) in sync_chan::all() {
        add(name, r.runtime, r.tokio);
    }
    let (rounds, dur) = if s.quick {
        (3, Duration::from_millis(100))
    } else {
        (s.micro_rounds.max(5), Duration::from_millis(300))
    };
    for case in sync_locks::Case::ALL {
        let (ours, tokio) = sync_locks::runtime_vs_tokio(case, rounds, dur);
        add(case.name(), ours, tokio);
    }
    report.sections.push((
        "Sync primitives".into(),
        format!(
            "`runtime::sync` on `runtime` against `tokio::sync` on tokio, both \
             multi-thread with 2 workers, in this process, rounds alternating; median \
             operations per second. Channels (`runtime_benches::sync_chan`, {chan_rounds} \
             rounds): mpsc throughput with 1 and 4 producers, bounded ({cap}) and \
             unbounded, {msgs} messages; oneshot round trips to a spawned task; broadcast \
             fan-out to 100 receivers. Locks (`runtime_benches::sync_locks`, {rounds} \
             rounds of {dur} ms): 8 tasks incrementing a counter under one `Mutex`, one \
             task locking an uncontended one, 8 tasks sharing a `Semaphore` of 2, \
             `Notify` ping-pong between two tasks. The standalone binaries `sync_chan` and \
             `sync_locks` also measure async-channel and async-lock. Target: \
             ≥ 1.00 × tokio.\n\n{t}",
            chan_rounds = sync_chan::ROUNDS,
            cap = sync_chan::CAPACITY,
            msgs = sync_chan::MESSAGES,
            dur = dur.as_millis(),
        ),
    ));
    Ok(())
}
