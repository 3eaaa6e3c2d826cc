//! Payloads: pseudo-random bytes that catch a lost, duplicated or
//! reordered chunk, a comparison that reports the first differing offset
//! instead of printing megabytes, and a vectored write of everything.

use std::io;

use runtime::io::AsyncWriteExt;

/// `len` pseudo-random bytes (xorshift64), different for each `seed`, so that
/// a lost, duplicated or reordered chunk cannot go unnoticed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (len - out.len()).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..n]);
    }
    out
}

/// Asserts that `actual == expected`, reporting the lengths and the first
/// differing offset (not the contents, which may be megabytes).
///
/// # Panics
///
/// If the slices differ.
#[track_caller]
pub fn assert_bytes_eq(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first = actual.iter().zip(expected).position(|(a, b)| a != b);
    panic!(
        "{what}: got {} bytes, expected {}; first difference at offset {:?}",
        actual.len(),
        expected.len(),
        first.or(Some(actual.len().min(expected.len())))
    );
}

/// Writes every byte of `bufs` with vectored writes, advancing across the
/// slices after each partial write; returns how many `write_vectored` calls
/// it took.
///
/// # Errors
///
/// The first write error; `WriteZero` if a write makes no progress.
pub async fn write_all_vectored<W>(w: &mut W, bufs: &mut [io::IoSlice<'_>]) -> io::Result<usize>
where
    W: runtime::io::AsyncWrite + Unpin,
{
    let mut bufs = bufs;
    io::IoSlice::advance_slices(&mut bufs, 0);
    let mut calls = 0;
    while !bufs.is_empty() {
        let n = w.write_vectored(bufs).await?;
        calls += 1;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        io::IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(calls)
}
