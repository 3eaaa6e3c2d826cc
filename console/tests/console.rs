//! End to end: the example program (`examples/console.rs`, on `runtime`,
//! with console-subscriber's layer) is started, and the test reads its
//! task list the way `tokio-console` does, through console-subscriber's
//! gRPC `Instrument` service.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use console_api::field::{Name, Value};
use console_api::instrument::instrument_client::InstrumentClient;
use console_api::instrument::InstrumentRequest;

/// How long the test may take before it is a hang (it needs a few
/// publishing rounds of 50 ms once the program is up).
const HANG_LIMIT: Duration = Duration::from_secs(30);

/// The child process, killed when the test ends however it ends.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/<profile>/examples/console`, built by `cargo test` beside this
/// test's binary (`target/<profile>/deps/console-<hash>`).
fn example_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join("console")
}

/// What the test learns about one task.
#[derive(Debug, Default)]
struct Seen {
    name: Option<String>,
    kind: Option<String>,
    task_id: Option<u64>,
    file: String,
    line: u32,
    polls: u64,
    wakes: u64,
    waker_clones: u64,
    dropped: bool,
}

fn str_field(field: &console_api::Field) -> Option<(&str, String)> {
    let Some(Name::StrName(name)) = &field.name else {
        return None;
    };
    let value = match field.value.as_ref()? {
        Value::StrVal(s) | Value::DebugVal(s) => s.clone(),
        Value::U64Val(n) => n.to_string(),
        Value::I64Val(n) => n.to_string(),
        Value::BoolVal(b) => b.to_string(),
    };
    Some((name.as_str(), value))
}

#[test]
fn tokio_console_sees_the_tasks_of_a_runtime_program() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let _program = Program(
        Command::new(example_path())
            .arg("60")
            .env("TOKIO_CONSOLE_BIND", &addr)
            .env("TOKIO_CONSOLE_PUBLISH_INTERVAL", "50ms")
            .stdout(Stdio::null())
            .spawn()
            .expect("the example is built by `cargo test` (examples/console.rs)"),
    );
    let source = include_str!("../examples/console.rs");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tasks = rt.block_on(async {
        tokio::time::timeout(HANG_LIMIT, watch(format!("http://{addr}")))
            .await
            .expect("the console never showed every expected task")
    });

    let named = |name: &str| {
        tasks
            .values()
            .find(|t| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no task named {name}: {tasks:#?}"))
    };
    for name in [
        "ticker-fast",
        "ticker-slow",
        "producer",
        "consumer",
        "blocking-job",
    ] {
        let t = named(name);
        assert!(t.file.ends_with("console.rs"), "{name}: {t:?}");
        // The reported line is the spawn call in the example.
        let line = source.lines().nth(t.line as usize - 1).unwrap();
        assert!(
            line.contains("spawn"),
            "{name} at line {}: {line:?}",
            t.line
        );
        assert!(t.task_id.is_some(), "{name}: {t:?}");
        let kind = if name == "blocking-job" {
            "blocking"
        } else {
            "task"
        };
        assert_eq!(t.kind.as_deref(), Some(kind), "{name}: {t:?}");
    }
    let fast = named("ticker-fast");
    assert!(fast.polls >= 3 && fast.wakes >= 2, "{fast:?}");
    assert!(fast.waker_clones >= 1, "{fast:?}");
    assert!(named("consumer").wakes >= 1, "{:?}", named("consumer"));
    assert!(
        tasks.values().any(|t| t.name.is_none() && t.dropped),
        "no short-lived task was seen ending: {tasks:#?}"
    );
}

/// Watches the console's updates until every task of interest has been
/// seen with enough activity; returns what was seen, by span id.
async fn watch(endpoint: String) -> HashMap<u64, Seen> {
    // The program may not be listening yet.
    let mut client = loop {
        match InstrumentClient::connect(endpoint.clone()).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let mut updates = client
        .watch_updates(InstrumentRequest {})
        .await
        .expect("watch_updates")
        .into_inner();
    let mut tasks: HashMap<u64, Seen> = HashMap::new();
    loop {
        let update = updates
            .message()
            .await
            .expect("the update stream failed")
            .expect("the update stream ended");
        let Some(task_update) = update.task_update else {
            continue;
        };
        for task in task_update.new_tasks {
            let Some(id) = task.id else { continue };
            let seen = tasks.entry(id.id).or_default();
            for field in &task.fields {
                match str_field(field) {
                    Some(("task.name", v)) if !v.is_empty() => seen.name = Some(v),
                    Some(("kind", v)) => seen.kind = Some(v),
                    Some(("task.id", v)) => seen.task_id = v.parse().ok(),
                    _ => {}
                }
            }
            if let Some(loc) = task.location {
                seen.file = loc.file.unwrap_or_default();
                seen.line = loc.line.unwrap_or_default();
            }
        }
        for (id, stats) in task_update.stats_update {
            let seen = tasks.entry(id).or_default();
            seen.polls = stats.poll_stats.map_or(0, |p| p.polls);
            seen.wakes = stats.wakes;
            seen.waker_clones = stats.waker_clones;
            seen.dropped = stats.dropped_at.is_some();
        }
        if done(&tasks) {
            return tasks;
        }
    }
}

/// Every named task seen, the fast ticker and the consumer woken, and one
/// short-lived task ended.
fn done(tasks: &HashMap<u64, Seen>) -> bool {
    let named = |name: &str| tasks.values().find(|t| t.name.as_deref() == Some(name));
    let all_named = [
        "ticker-fast",
        "ticker-slow",
        "producer",
        "consumer",
        "blocking-job",
    ]
    .iter()
    .all(|n| named(n).is_some());
    all_named
        && named("ticker-fast").is_some_and(|t| t.polls >= 3 && t.wakes >= 2 && t.waker_clones >= 1)
        && named("consumer").is_some_and(|t| t.wakes >= 1)
        && tasks.values().any(|t| t.name.is_none() && t.dropped)
}
