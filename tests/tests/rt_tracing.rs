//! Feature `tracing`: the spans and events a task produces, recorded by a
//! `tracing_subscriber::Layer` and held against what console-subscriber
//! (tokio-console's data source) matches on: a span named `runtime.spawn`
//! with `kind`, `task.name`, `task.id`, `loc.file`/`loc.line`/`loc.col`;
//! one enter/exit pair per poll; events with target `runtime::waker`,
//! `op` and `task.id` (the span's id) for each waker operation; the span
//! closed when the task ends.
//!
//! The recorder is the process-wide default subscriber (waker events are
//! emitted on whichever thread wakes, and a thread-local default would
//! miss those on worker threads), so the tests of this file share it: each
//! names its tasks uniquely and looks only at its own spans.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::sync::{Arc, OnceLock};
use std::task::{Poll, Waker};

use parking_lot::Mutex;
use runtime::task::{Builder, LocalSet};
use runtime_tests::{block_on, Flavor};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as the layer saw it.
#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: &'static str,
    target: &'static str,
    /// Created with no parent (`parent: None`), whatever span was current.
    root: bool,
    fields: BTreeMap<String, String>,
    enters: usize,
    exits: usize,
    closed: bool,
}

/// One `runtime::waker` event: its `op` and the span id in `task.id`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WakerEvent {
    op: String,
    span: u64,
}

#[derive(Default)]
struct Recorded {
    spans: BTreeMap<u64, SpanRecord>,
    waker_events: Vec<WakerEvent>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Recorded>>);

/// Collects every field as text.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut rec = SpanRecord {
            name: attrs.metadata().name(),
            target: attrs.metadata().target(),
            root: attrs.is_root(),
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut rec.fields));
        self.0.lock().spans.insert(id.into_u64(), rec);
    }
    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        if let Some(s) = self.0.lock().spans.get_mut(&id.into_u64()) {
            s.enters += 1;
        }
    }
    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        if let Some(s) = self.0.lock().spans.get_mut(&id.into_u64()) {
            s.exits += 1;
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(s) = self.0.lock().spans.get_mut(&id.into_u64()) {
            s.closed = true;
        }
    }
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "runtime::waker" {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let op = fields.get("op").cloned().unwrap_or_default();
        let span = fields
            .get("task.id")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.0.lock().waker_events.push(WakerEvent { op, span });
    }
}

/// The process-wide recorder, installed on first use.
fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let rec = Recorder::default();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(rec.clone()))
            .expect("no other global subscriber in this test binary");
        rec
    })
}

impl Recorder {
    /// The span (id and record) of the task named `name`.
    fn task(&self, name: &str) -> (u64, SpanRecord) {
        let rec = self.0.lock();
        let mut found = rec
            .spans
            .iter()
            .filter(|(_, s)| s.fields.get("task.name").map(String::as_str) == Some(name));
        let (id, span) = found
            .next()
            .unwrap_or_else(|| panic!("no span for task {name}"));
        assert!(found.next().is_none(), "two spans for task {name}");
        (*id, span.clone())
    }

    /// The ops of the waker events naming span `span`, in order.
    fn ops(&self, span: u64) -> Vec<String> {
        let rec = self.0.lock();
        rec.waker_events
            .iter()
            .filter(|e| e.span == span)
            .map(|e| e.op.clone())
            .collect()
    }
}

#[test]
fn the_spawn_span_has_the_name_target_and_fields_console_matches() {
    let rec = recorder();
    for flavor in Flavor::ALL {
        let name = format!("fields-{flavor:?}");
        let (id, line) = block_on(flavor, async {
            // A user span is current at the spawn: the task's span must not
            // become its child.
            let outer = tracing::info_span!("outer");
            let _in_outer = outer.enter();
            let (handle, line) = (Builder::new().name(&name).spawn(async {}).unwrap(), line!());
            let id = handle.id();
            handle.await.unwrap();
            (id, line)
        });
        let (_, span) = rec.task(&name);
        assert_eq!(span.name, "runtime.spawn");
        assert_eq!(span.target, "runtime::task");
        assert!(span.root, "{span:?}");
        let f = &span.fields;
        assert_eq!(f["kind"], "task");
        assert_eq!(f["task.id"], id.to_string());
        assert_eq!(f["loc.file"], file!());
        assert_eq!(f["loc.line"], line.to_string());
        assert!(f["loc.col"].parse::<u32>().unwrap() > 0, "{f:?}");
        assert!(f.contains_key("size.bytes"), "{f:?}");
    }
}

#[test]
fn an_unnamed_task_has_an_empty_name_and_blocking_and_local_tasks_their_kinds() {
    let rec = recorder();
    // Unnamed: found through its id instead of its name.
    let id = block_on(Flavor::MultiThread, async {
        let h = runtime::spawn(async {});
        let id = h.id();
        h.await.unwrap();
        id
    });
    {
        let all = rec.0.lock();
        let span = all
            .spans
            .values()
            .find(|s| s.fields.get("task.id") == Some(&id.to_string()))
            .expect("the unnamed task's span");
        assert_eq!(span.fields["task.name"], "");
        assert_eq!(span.fields["kind"], "task");
    }
    block_on(Flavor::MultiThread, async {
        Builder::new()
            .name("kind-blocking")
            .spawn_blocking(|| ())
            .unwrap()
            .await
            .unwrap();
        let local = LocalSet::new();
        local
            .run_until(async {
                Builder::new()
                    .name("kind-local")
                    .spawn_local(async {})
                    .unwrap()
                    .await
                    .unwrap();
            })
            .await;
    });
    assert_eq!(rec.task("kind-blocking").1.fields["kind"], "blocking");
    assert_eq!(rec.task("kind-local").1.fields["kind"], "local");
}

#[test]
fn each_poll_enters_and_exits_the_span_and_is_inside_it() {
    let rec = recorder();
    for flavor in Flavor::ALL {
        let name = format!("polls-{flavor:?}");
        let current = block_on(flavor, async {
            Builder::new()
                .name(&name)
                .spawn(async {
                    let mut current = Vec::new();
                    for _ in 0..3 {
                        current.push(tracing::Span::current().id().map(|id| id.into_u64()));
                        runtime::task::yield_now().await;
                    }
                    current.push(tracing::Span::current().id().map(|id| id.into_u64()));
                    current
                })
                .unwrap()
                .await
                .unwrap()
        });
        let (id, span) = rec.task(&name);
        // Three yields: four polls, each one enter and one exit.
        assert_eq!((span.enters, span.exits), (4, 4), "{span:?}");
        assert_eq!(current, vec![Some(id); 4]);
        assert!(span.closed);
    }
}

#[test]
fn waker_operations_emit_events_naming_the_task_span() {
    let rec = recorder();
    for flavor in Flavor::ALL {
        let name = format!("wakers-{flavor:?}");
        let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task_released = released.clone();
        block_on(flavor, async {
            let mut sent = false;
            let handle = Builder::new()
                .name(&name)
                .spawn(poll_fn(move |cx| {
                    if !sent {
                        sent = true;
                        waker_tx.send(cx.waker().clone()).unwrap();
                    }
                    if task_released.load(std::sync::atomic::Ordering::Acquire) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }))
                .unwrap();
            // This thread is `block_on`'s, not one of the task's: the
            // events come from here, in this order.
            let waker = runtime::task::spawn_blocking(move || waker_rx.recv().unwrap())
                .await
                .unwrap();
            waker.wake_by_ref();
            drop(waker.clone());
            let kept = waker.clone();
            let late = waker.clone();
            waker.wake();
            // Until here the task could not finish, so every event above
            // was emitted. Now it may finish before `kept` wakes it (a poll
            // woken above may already see the flag): that event may or may
            // not come, as the task has ended or not.
            released.store(true, std::sync::atomic::Ordering::Release);
            kept.wake();
            handle.await.unwrap();
            // The task has ended and its span is closed: a waker used now
            // names nothing.
            late.wake_by_ref();
            drop(late);
        });
        let (id, span) = rec.task(&name);
        assert!(span.closed);
        let mut ops = rec.ops(id);
        if ops.len() == 8 {
            assert_eq!(ops.pop().unwrap(), "waker.wake");
        }
        assert_eq!(
            ops,
            [
                "waker.clone",
                "waker.wake_by_ref",
                "waker.clone",
                "waker.drop",
                "waker.clone",
                "waker.clone",
                "waker.wake",
            ]
        );
    }
}

#[test]
fn the_span_closes_when_the_task_ends_not_when_its_handle_goes() {
    let rec = recorder();
    for flavor in Flavor::ALL {
        let done = format!("ends-{flavor:?}");
        let aborted = format!("aborted-{flavor:?}");
        block_on(flavor, async {
            let handle = Builder::new().name(&done).spawn(async { 5 }).unwrap();
            while !handle.is_finished() {
                runtime::task::yield_now().await;
            }
            // Finished, the handle still held and its output unread.
            assert!(rec.task(&done).1.closed, "{:?}", rec.task(&done));
            assert_eq!(handle.await.unwrap(), 5);

            let pending = Builder::new()
                .name(&aborted)
                .spawn(std::future::pending::<()>())
                .unwrap();
            runtime::task::yield_now().await;
            assert!(!rec.task(&aborted).1.closed);
            pending.abort();
            assert!(pending.await.unwrap_err().is_cancelled());
            assert!(rec.task(&aborted).1.closed);
        });
        let (_, span) = rec.task(&aborted);
        assert_eq!(span.enters, span.exits);
    }
}
