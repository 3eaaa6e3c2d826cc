//! `Handle::dump`: every live task is listed with its name, spawn location,
//! state and polls, while the runtime runs; and the `task_dump` example
//! serves that listing over HTTP.

use std::sync::mpsc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::metrics::TaskState;
use runtime::net::{TcpListener, TcpStream};
use runtime::task::Builder;
use runtime_tests::{block_on, flavor_tests, Flavor, Watchdog, HANG_LIMIT};

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/task_dump.rs"]
mod example;

fn dump_lists_idle_tasks_with_names_and_locations(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    let (tx, rx) = runtime::sync::watch::channel(false);
    let mut handles = Vec::new();
    let mut lines = Vec::new();
    for name in ["alpha", "beta"] {
        let mut rx = rx.clone();
        let waiter = async move {
            rx.wait_for(|go| *go).await.unwrap();
        };
        let builder = Builder::new().name(name);
        let (line, h) = (line!(), builder.spawn_on(waiter, rt.handle()).unwrap());
        handles.push(h);
        lines.push(line);
    }
    // Let both run to their first `Pending`.
    rt.block_on(async {
        runtime_tests::yield_until(|| {
            let d = runtime::Handle::current().dump();
            d.tasks()
                .iter()
                .all(|t| t.polls() >= 1 && t.state() == TaskState::Idle)
        })
        .await;
    });
    let dump = rt.handle().dump();
    assert_eq!(dump.tasks().len(), 2, "{dump}");
    for ((t, h), (name, line)) in dump
        .tasks()
        .iter()
        .zip(&handles)
        .zip(["alpha", "beta"].into_iter().zip(&lines))
    {
        assert_eq!(t.id(), h.id());
        assert_eq!(t.name(), Some(name));
        assert!(t.location().file().ends_with("rt_dump.rs"));
        assert_eq!(t.location().line(), *line);
        assert_eq!(t.state(), TaskState::Idle);
        assert!(t.polls() >= 1);
        assert!(t.since_last_poll().is_some());
    }
    let text = dump.to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    for (name, line) in ["alpha", "beta"].into_iter().zip(&lines) {
        assert!(text.contains(&format!("\"{name}\"")), "{text}");
        assert!(text.contains(&format!("rt_dump.rs:{line}:")), "{text}");
    }
    assert!(text.contains(" idle "), "{text}");
    tx.send(true).unwrap();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn dump_shows_running_and_scheduled_tasks() {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    // Blocks the only worker, so the next task stays queued.
    let blocker = Builder::new()
        .name("blocker")
        .spawn_on(
            async move {
                started_tx.send(()).unwrap();
                released.recv().unwrap();
            },
            rt.handle(),
        )
        .unwrap();
    started.recv().unwrap();
    let queued = Builder::new()
        .name("queued")
        .spawn_on(async {}, rt.handle())
        .unwrap();
    let dump = rt.handle().dump();
    let by_name = |n: &str| {
        dump.tasks()
            .iter()
            .find(|t| t.name() == Some(n))
            .unwrap_or_else(|| panic!("{n} missing from\n{dump}"))
    };
    assert_eq!(by_name("blocker").state(), TaskState::Running);
    assert_eq!(by_name("blocker").polls(), 1);
    assert_eq!(by_name("queued").state(), TaskState::Scheduled);
    assert_eq!(by_name("queued").polls(), 0);
    assert_eq!(by_name("queued").since_last_poll(), None);
    let text = dump.to_string();
    assert!(text.contains(" running "), "{text}");
    assert!(text.contains(" scheduled "), "{text}");
    release.send(()).unwrap();
    rt.block_on(async {
        blocker.await.unwrap();
        queued.await.unwrap();
    });
}

fn example_serves_the_dump_over_http(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Builder::new()
            .name("dump-server")
            .spawn(example::serve_dump(listener, runtime::Handle::current()))
            .unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        // The server's own tasks are listed, by name and location.
        assert!(body.contains("\"dump-server\""), "{body}");
        assert!(body.contains("\"dump-connection\""), "{body}");
        assert!(body.contains(" running "), "{body}");
        assert!(body.contains("rt_dump.rs:"), "{body}");
        assert!(body.contains("task_dump.rs:"), "{body}");
        server.abort();
        let _ = runtime::time::timeout(Duration::from_secs(30), server).await;
    });
}

flavor_tests!(
    dump_lists_idle_tasks_with_names_and_locations,
    example_serves_the_dump_over_http,
);
