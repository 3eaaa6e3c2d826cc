//! Waking an idle multi-thread runtime never gets lost: a task spawned from
//! outside onto a runtime whose workers are going idle always runs.
//!
//! A freshly built runtime is the adversarial moment: its workers all go
//! idle at once and race to wait inside the reactor (one of them waits
//! there, the others must wait elsewhere, and the reactor thread hands the
//! reactor over), while the spawns from outside pick a parked worker to
//! wake. The test repeats that start for a few seconds (thousands of
//! runtimes), 4 workers each; every spawned task must run.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use runtime_tests::{Watchdog, HANG_LIMIT};

/// How long the test keeps starting runtimes: a search budget, not a pass
/// criterion (a healthy run uses all of it).
const SEARCH: Duration = Duration::from_secs(10);

/// How long one round waits for its tasks: a hang guard, far above the
/// microseconds a healthy round needs.
const ROUND_GUARD: Duration = Duration::from_secs(10);

const TASKS: usize = 8;

#[test]
fn tasks_spawned_onto_a_freshly_started_runtime_always_run() {
    let _w = Watchdog::start(HANG_LIMIT);
    let start = Instant::now();
    let mut round = 0u64;
    while start.elapsed() < SEARCH {
        round += 1;
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        // Vary the moment of the spawns against the workers' start.
        if round % 3 == 1 {
            std::thread::sleep(Duration::from_micros(50 * (round % 20)));
        }
        let (tx, rx) = mpsc::channel();
        for _ in 0..TASKS {
            let tx = tx.clone();
            rt.spawn(async move {
                let _ = tx.send(());
            });
        }
        for i in 0..TASKS {
            assert!(
                rx.recv_timeout(ROUND_GUARD).is_ok(),
                "runtime {round}: spawned task {i} never ran: the wake-up of an idle worker was \
                 lost (one worker waits in the reactor with no timeout while the one that was \
                 told is blocked waiting for the reactor lock)"
            );
        }
        drop(rt);
    }
}
