//! What travels: echo messages are slices of one fixed pseudo-random table
//! at offsets chosen by connection and message number, so that a lost,
//! repeated or reordered chunk is caught; fixed request/response pairs are
//! sent and expected as given (but for the response's `unchecked` bytes).

use super::Protocol;

/// The echo payload table: messages are slices of it.
#[derive(Debug)]
pub(super) struct Payload {
    table: Vec<u8>,
    protocol: Protocol,
}

/// Offsets into the table are below this.
const OFFSETS: usize = 4096;

impl Payload {
    pub(super) fn new(protocol: &Protocol) -> Payload {
        let size = match protocol {
            Protocol::Echo { size } => *size,
            Protocol::Fixed { .. } => 0,
        };
        // xorshift64*: random-looking bytes, the same on every run.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let table = (0..size + OFFSETS)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        Payload {
            table,
            protocol: protocol.clone(),
        }
    }

    pub(super) fn request(&self, conn: u64, seq: u64) -> &[u8] {
        match &self.protocol {
            Protocol::Echo { size } => {
                let h = (conn.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ seq.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
                .rotate_left(29);
                let off = (h % OFFSETS as u64) as usize;
                &self.table[off..off + size]
            }
            Protocol::Fixed { request, .. } => request,
        }
    }

    pub(super) fn response(&self, conn: u64, seq: u64) -> &[u8] {
        match &self.protocol {
            Protocol::Echo { .. } => self.request(conn, seq),
            Protocol::Fixed { response, .. } => response,
        }
    }

    /// Whether `got`, found at offset `off` of message `seq`'s response,
    /// is what that response holds there: byte for byte, except at the
    /// positions a fixed protocol leaves unchecked. `got` must not run past
    /// the end of the response.
    pub(super) fn matches(&self, conn: u64, seq: u64, off: usize, got: &[u8]) -> bool {
        let expect = &self.response(conn, seq)[off..off + got.len()];
        let unchecked = match &self.protocol {
            Protocol::Fixed { unchecked, .. } if !unchecked.is_empty() => unchecked,
            _ => return got == expect,
        };
        // The checked parts before and after the unchecked range, in
        // `got`'s own offsets.
        let skip_from = unchecked.start.saturating_sub(off).min(got.len());
        let skip_to = unchecked.end.saturating_sub(off).min(got.len());
        got[..skip_from] == expect[..skip_from] && got[skip_to..] == expect[skip_to..]
    }
}
