use std::any::Any;
use std::fmt;
use std::io;

use parking_lot::Mutex;

use super::Id;

/// Why a task did not produce its output: it was cancelled, or it panicked.
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The panic payload; behind a mutex only so that `JoinError` is `Sync`.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// Whether the task was cancelled (`abort()`, or runtime shutdown).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to pass to `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the task did not panic (see [`is_panic`](JoinError::is_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a task that did not panic")
    }

    /// The panic payload, or the error back if the task did not panic.
    ///
    /// # Errors
    ///
    /// Returns `self` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner()),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed (unique within the process).
    pub fn id(&self) -> Id {
        self.id
    }

    fn panic_message(&self) -> Option<String> {
        match &self.repr {
            Repr::Panic(p) => {
                let p = p.lock();
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Repr::Panic(_), Some(msg)) => {
                write!(f, "task {} panicked with message {msg:?}", self.id)
            }
            (Repr::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic(_) => write!(
                f,
                "JoinError::Panic({}, {:?})",
                self.id,
                self.panic_message()
            ),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}
