//! The stall detector (`Builder::stall_threshold`, `Builder::on_stall`): a
//! poll that blocks its worker is reported once, while it still blocks,
//! with the task's id, name and spawn location; ordinary TCP work is not
//! reported.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::metrics::StallInfo;
use runtime::net::TcpStream;
use runtime::Runtime;
use runtime_tests::{echo_server, flavor_tests, Flavor, Watchdog, HANG_LIMIT};

#[derive(Default)]
struct Reports {
    seen: AtomicBool,
    all: Mutex<Vec<StallInfo>>,
}

fn build(flavor: Flavor, threshold: Duration, reports: &Arc<Reports>) -> Runtime {
    let mut b = match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread(),
        Flavor::MultiThread => {
            let mut b = runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
    };
    let r = reports.clone();
    b.stall_threshold(threshold)
        .on_stall(move |info| {
            r.all.lock().unwrap().push(info.clone());
            r.seen.store(true, Ordering::SeqCst);
        })
        .build()
        .unwrap()
}

fn blocking_poll_is_reported_once_while_it_blocks(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let threshold = Duration::from_millis(50);
    let reports = Arc::new(Reports::default());
    let rt = build(flavor, threshold, &reports);
    let r = reports.clone();
    let sleeper = async move {
        let start = Instant::now();
        // Blocks its worker for at least 300 ms, and until the report came
        // (the watchdog bounds the wait).
        while start.elapsed() < Duration::from_millis(300) || !r.seen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Reported while still blocking.
        r.all.lock().unwrap().len()
    };
    let builder = runtime::task::Builder::new().name("sleeper");
    let (line, task) = (line!(), builder.spawn_on(sleeper, rt.handle()).unwrap());
    let id = task.id();
    let during = rt.block_on(task).unwrap();
    assert_eq!(during, 1);
    // The watcher looks a few more times: the finished poll is not
    // reported again.
    std::thread::sleep(threshold * 2);
    let all = reports.all.lock().unwrap();
    assert_eq!(all.len(), 1, "{:?}", *all);
    let info = &all[0];
    assert_eq!(info.id(), id);
    assert_eq!(info.name(), Some("sleeper"));
    assert!(
        info.location().file().ends_with("rt_stall.rs"),
        "{}",
        info.location()
    );
    assert_eq!(info.location().line(), line);
    assert!(info.elapsed() > threshold);
    let line_text = info.to_string();
    assert!(line_text.contains("\"sleeper\""), "{line_text}");
    assert!(
        line_text.contains(&format!("rt_stall.rs:{line}:")),
        "{line_text}"
    );
}

fn each_stall_is_reported(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let reports = Arc::new(Reports::default());
    let rt = build(flavor, Duration::from_millis(20), &reports);
    for round in 1..=2 {
        let r = reports.clone();
        rt.block_on(rt.spawn(async move {
            while r.all.lock().unwrap().len() < round {
                std::thread::sleep(Duration::from_millis(5));
            }
        }))
        .unwrap();
    }
    assert_eq!(reports.all.lock().unwrap().len(), 2);
}

fn echo_workload_reports_nothing(flavor: Flavor) {
    const N: usize = 8;
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let reports = Arc::new(Reports::default());
    // Far above any poll of this workload, even descheduled on a loaded
    // machine.
    let rt = build(flavor, Duration::from_secs(2), &reports);
    rt.block_on(async {
        let (addr, _stats) = echo_server().await.unwrap();
        let clients: Vec<_> = (0..N)
            .map(|i| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    for round in 0..20 {
                        let msg = format!("client {i} round {round}");
                        s.write_all(msg.as_bytes()).await.unwrap();
                        let mut back = vec![0; msg.len()];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg.as_bytes());
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    });
    drop(rt);
    assert!(reports.all.lock().unwrap().is_empty());
}

#[test]
fn on_stall_without_a_threshold_reports_nothing() {
    let rt = runtime::Builder::new_current_thread()
        .on_stall(|_| panic!("no threshold, no reports"))
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(20)) }))
        .unwrap();
}

flavor_tests!(
    blocking_poll_is_reported_once_while_it_blocks,
    each_stall_is_reported,
    echo_workload_reports_nothing,
);
