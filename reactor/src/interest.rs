//! [`Interest`]: which directions of readiness an operation waits for.

use std::fmt;
use std::ops;

use crate::Direction;

/// The readiness a task waits for with `ready(interest)`: readable,
/// writable, or either.
///
/// Every fd is registered with the reactor for both directions; an
/// `Interest` only selects what a wait returns on.
///
/// # Examples
///
/// ```
/// use runtime_reactor::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Wait until the object may be read (or accepted from, or received on).
    pub const READABLE: Interest = Interest(0b01);
    /// Wait until the object may be written (or sent on).
    pub const WRITABLE: Interest = Interest(0b10);

    /// Whether the interest includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & Interest::READABLE.0 != 0
    }

    /// Whether the interest includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & Interest::WRITABLE.0 != 0
    }

    /// Both interests (`self | other`, usable in `const` contexts).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The reactor directions this interest covers, read first.
    pub fn directions(self) -> impl Iterator<Item = Direction> {
        [
            (self.is_readable(), Direction::Read),
            (self.is_writable(), Direction::Write),
        ]
        .into_iter()
        .filter_map(|(on, d)| on.then_some(d))
    }
}

impl From<Direction> for Interest {
    fn from(direction: Direction) -> Interest {
        match direction {
            Direction::Read => Interest::READABLE,
            Direction::Write => Interest::WRITABLE,
        }
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        *self = self.add(rhs);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(empty)"),
        }
    }
}
