//! Readiness bits and I/O directions.

use std::fmt;
use std::ops;

/// A set of readiness flags reported by the OS poller for one registration.
///
/// The reactor sets these bits; an I/O operation that sees `WouldBlock` clears
/// the bits of its direction (see [`Registration::clear_readiness`]).
///
/// [`Registration::clear_readiness`]: crate::Registration::clear_readiness
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// The source may be read (or accepted from) without blocking.
    pub const READABLE: Ready = Ready(0b0_0001);
    /// The source may be written without blocking.
    pub const WRITABLE: Ready = Ready(0b0_0010);
    /// The peer closed its write half: reads return what is buffered, then EOF.
    pub const READ_CLOSED: Ready = Ready(0b0_0100);
    /// Writes can no longer succeed (hang-up); the next write reports why.
    pub const WRITE_CLOSED: Ready = Ready(0b0_1000);
    /// An error is pending on the source; the next operation reports it.
    pub const ERROR: Ready = Ready(0b1_0000);
    /// Every bit.
    pub const ALL: Ready = Ready(0b1_1111);

    /// Builds a set from its raw bits, dropping unknown bits.
    pub const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Ready::ALL.0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    pub const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the readable bit is set.
    pub const fn is_readable(self) -> bool {
        self.intersects(Ready::READABLE)
    }

    /// Whether the writable bit is set.
    pub const fn is_writable(self) -> bool {
        self.intersects(Ready::WRITABLE)
    }

    /// Whether the read half is closed by the peer.
    pub const fn is_read_closed(self) -> bool {
        self.intersects(Ready::READ_CLOSED)
    }

    /// Whether the write half is closed.
    pub const fn is_write_closed(self) -> bool {
        self.intersects(Ready::WRITE_CLOSED)
    }

    /// Whether an error is pending.
    pub const fn is_error(self) -> bool {
        self.intersects(Ready::ERROR)
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
        ];
        let mut first = true;
        f.write_str("Ready(")?;
        for (bit, name) in names {
            if self.contains(bit) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str(")")
    }
}

/// One direction of I/O on a registration; each direction has its own waker
/// and its own readiness tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, accepting, receiving.
    Read,
    /// Writing, connecting, sending.
    Write,
}

impl Direction {
    /// The readiness bits that wake a task waiting in this direction.
    ///
    /// `ERROR` wakes both directions, so that whichever operation runs next
    /// reports the error.
    pub const fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0),
            Direction::Write => Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_split_closed_bits_by_direction() {
        assert!(Direction::Read.mask().contains(Ready::READ_CLOSED));
        assert!(!Direction::Read.mask().intersects(Ready::WRITE_CLOSED));
        assert!(Direction::Write.mask().contains(Ready::WRITE_CLOSED));
        assert!(!Direction::Write.mask().intersects(Ready::READ_CLOSED));
        assert!(Direction::Read.mask().is_error() && Direction::Write.mask().is_error());
    }

    #[test]
    fn debug_lists_bits() {
        let r = Ready::READABLE | Ready::ERROR;
        assert_eq!(format!("{r:?}"), "Ready(READABLE | ERROR)");
        assert_eq!(Ready::from_bits(0xff), Ready::ALL);
        assert!(!(Ready::ALL - Ready::READABLE).is_readable());
    }
}
