//! What a task records about itself besides its state: where it was spawned
//! and the name [`Builder::name`](super::Builder::name) gave it.
//!
//! Every spawn entry point is `#[track_caller]` and builds the [`Meta`] from
//! `Location::caller()` itself, then hands it down explicitly (the internal
//! spawn paths take a `Meta` argument instead of being `#[track_caller]`
//! too, so an internal call added later cannot silently record the wrong
//! place). The meta lives in the task header, is written once before the
//! task is shared and never changes, so any holder of a reference may read
//! it from any thread. It exists for diagnostics: `Debug` of a task shows
//! it, and a listing of live tasks can show id, name and spawn location.

use std::fmt;
use std::panic::Location;

/// A task's spawn location and optional name.
pub(crate) struct Meta {
    /// The `#[track_caller]` location of the spawn call in user code.
    location: &'static Location<'static>,
    /// The name given with `task::Builder::name`, if any (copied: the
    /// builder only borrows it); an unnamed task allocates nothing here.
    /// Boxed twice to keep the pointer thin: eight bytes in every task's
    /// header instead of sixteen, for one more allocation per named task
    /// (see the size note on `Header`).
    name: Option<Box<Box<str>>>,
    /// What the `tracing` span calls the task (`trace.rs`): a plain task
    /// unless [`blocking`](Meta::blocking) or a `LocalSet` says otherwise.
    #[cfg(feature = "tracing")]
    kind: super::trace::Kind,
}

impl Meta {
    /// Meta for a task spawned at `location`, named `name`.
    pub(crate) fn new(location: &'static Location<'static>, name: Option<&str>) -> Meta {
        Meta {
            location,
            name: name.map(|n| Box::new(Box::from(n))),
            #[cfg(feature = "tracing")]
            kind: super::trace::Kind::Task,
        }
    }

    /// Marks the meta as that of a `spawn_blocking` job: only the `tracing`
    /// span's `kind` field tells.
    #[cfg(feature = "tracing")]
    pub(crate) fn blocking(self) -> Meta {
        self.with_kind(super::trace::Kind::Blocking)
    }

    /// Without the `tracing` feature nothing records the kind.
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn blocking(self) -> Meta {
        self
    }

    /// The same meta with `kind` as the span's `kind` field.
    #[cfg(feature = "tracing")]
    pub(crate) fn with_kind(self, kind: super::trace::Kind) -> Meta {
        Meta { kind, ..self }
    }

    /// What the `tracing` span calls the task.
    #[cfg(feature = "tracing")]
    pub(crate) fn kind(&self) -> super::trace::Kind {
        self.kind
    }

    /// Meta for an unnamed task spawned by the caller (of the chain of
    /// `#[track_caller]` functions that leads here).
    #[track_caller]
    pub(crate) fn here() -> Meta {
        Meta::new(Location::caller(), None)
    }

    /// Where the task was spawned.
    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task's name, if it was given one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|n| &**n)
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Meta");
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        let at = self.location();
        d.field(
            "spawned_at",
            &format_args!("{}:{}:{}", at.file(), at.line(), at.column()),
        )
        .finish()
    }
}
