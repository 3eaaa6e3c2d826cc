//! `tracing` instrumentation of tasks (feature `tracing`), in the shape
//! `console-subscriber` (the data source of `tokio-console`) reads.
//!
//! # What is emitted
//!
//! - **Spawn**: each task gets a span named `runtime.spawn` (target
//!   `runtime::task`, level `TRACE`, no parent: a task outlives whatever
//!   span spawned it) with the fields `kind` (`task`, `local` or
//!   `blocking`), `task.name` (empty when unnamed), `task.id` (the task's
//!   [`Id`]), `size.bytes` (the future's size, which the console flags when
//!   large) and `loc.file`/`loc.line`/`loc.col` (the `#[track_caller]`
//!   spawn location). console-subscriber recognises a spawn span by its
//!   name alone, and reads `loc.*` as the task's location and the other
//!   fields as its attributes.
//! - **Poll**: the span is entered for each poll of the future and exited
//!   when the poll returns (or unwinds); console counts polls and busy
//!   time from the enter/exit pairs, and `tracing` events inside the poll
//!   have the task's span as their parent.
//! - **Wakers**: the task's own wakers emit an event with target
//!   `runtime::waker` (the target console-subscriber matches exactly),
//!   field `op` one of `waker.clone`, `waker.wake`, `waker.wake_by_ref`,
//!   `waker.drop`, and field `task.id` holding the span's id (not the
//!   task `Id`: console looks the span up by it). The waker a poll lends
//!   the future is borrowed, never dropped, so only clones of it count,
//!   as in tokio.
//! - **End**: the span is dropped when the task completes (output stored,
//!   panicked or cancelled), so it closes then, not when the last
//!   reference goes; wakers used after that emit nothing (a closed span's
//!   id may be reused for a new span, and must not be charged to it).
//!
//! # Ownership
//!
//! The span's id is copied into the header at creation and never changes,
//! so any waker on any thread may read it. The `Span` handle itself lives
//! in the task cell beside the future and follows the future's rule (see
//! `raw.rs`): only the holder of `RUNNING` touches it, to enter it for the
//! poll and to drop it on completion.
//!
//! With the feature off, none of this exists: no field, no call.

use std::panic::Location;

use super::raw::Header;
use super::state::COMPLETE;
use super::{Id, Meta};

/// The target of the spawn spans (console matches the span *name*).
const SPAN_TARGET: &str = "runtime::task";

/// What kind of task a span describes (console shows it in its `Kind`
/// column); tokio's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `spawn` on a runtime.
    Task,
    /// `spawn_local` on a `LocalSet`.
    Local,
    /// `spawn_blocking`.
    Blocking,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Local => "local",
            Kind::Blocking => "blocking",
        }
    }
}

/// The span of a new task. `Span::none()` (no allocation) when no
/// subscriber is interested.
pub(super) fn spawn_span(meta: &Meta, kind: Kind, id: Id, size: usize) -> tracing::Span {
    let loc: &'static Location<'static> = meta.location();
    tracing::trace_span!(
        target: SPAN_TARGET,
        parent: None,
        "runtime.spawn",
        kind = kind.as_str(),
        task.name = meta.name().unwrap_or_default(),
        task.id = id.as_u64(),
        size.bytes = size,
        loc.file = loc.file(),
        loc.line = loc.line(),
        loc.col = loc.column(),
    )
}

/// A waker operation of the task `header` belongs to: one of
/// `waker.clone`, `waker.wake`, `waker.wake_by_ref`, `waker.drop`.
///
/// The caller holds a reference to the task for the duration of the call
/// (the waker's own), so `header` is live.
pub(super) fn waker_op(header: &Header, op: &'static str) {
    let Some(span_id) = &header.span_id else {
        return;
    };
    // After completion the span is closed and its id may name another span
    // already. Racing with completion, one last event may still carry it,
    // as it would in tokio.
    if header.state.load().has(COMPLETE) {
        return;
    }
    tracing::trace!(target: "runtime::waker", op = op, task.id = span_id.into_u64());
}
