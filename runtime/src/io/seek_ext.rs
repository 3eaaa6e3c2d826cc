//! [`AsyncSeekExt`]: the seek methods of every [`AsyncSeek`].

use std::io::{self, SeekFrom};

use futures_util::future::{FutureExt, Map};
use futures_util::io::{AsyncSeekExt as FuturesSeekExt, Seek};

use super::AsyncSeek;

/// Methods on every [`AsyncSeek`] (a [`fs::File`](crate::fs::File), say),
/// with tokio's names: `seek`, `rewind`, `stream_position`.
///
/// `seek` and `stream_position` are `futures-util`'s methods (and
/// futures). Importing `futures-util`'s (or `futures`') `AsyncSeekExt` as
/// well makes the shared names ambiguous: import one of the two.
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the position; returns the new one, from the start.
    fn seek(&mut self, pos: SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        FuturesSeekExt::seek(self, pos)
    }

    /// Moves the position back to the start.
    #[allow(clippy::type_complexity)]
    fn rewind(&mut self) -> Map<Seek<'_, Self>, fn(io::Result<u64>) -> io::Result<()>>
    where
        Self: Unpin,
    {
        FuturesSeekExt::seek(self, SeekFrom::Start(0)).map(|res| res.map(drop))
    }

    /// The position, from the start.
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        FuturesSeekExt::stream_position(self)
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}
