//! What travels: echo messages are slices of one fixed pseudo-random table
//! at offsets chosen by connection and message number, so that a lost,
//! repeated or reordered chunk is caught; fixed request/response pairs are
//! sent and expected as given (but for the response's `unchecked` bytes,
//! such as the value of an HTTP `Date` header: [`date_value`] finds it).

use std::ops::Range;

use super::Protocol;

/// The length of an HTTP date: the IMF-fixdate of RFC 9110, section 5.6.7
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form a server may send.
pub const HTTP_DATE_LEN: usize = 29;

/// Where the value of the `Date` header lies in the HTTP response
/// `response`, for [`Protocol::Fixed`]'s `unchecked`: the header name in
/// any case (hyper writes `date`, others `Date`), the value after the
/// colon and optional white space, [`HTTP_DATE_LEN`] bytes up to the end
/// of the line. `None` if the head has no such header (one in the body
/// does not count).
///
/// # Examples
///
/// ```
/// use runtime_benches::loadgen::date_value;
///
/// let r = b"HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
/// assert_eq!(&r[date_value(r).unwrap()], b"Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(date_value(b"HTTP/1.1 200 OK\r\n\r\n"), None);
/// ```
pub fn date_value(response: &[u8]) -> Option<Range<usize>> {
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = &response[..head_end];
    // Each header line starts after a CRLF (the first line is the status).
    let mut at = 0;
    while let Some(i) = head[at..].windows(2).position(|w| w == b"\r\n") {
        let start = at + i + 2;
        let end = head[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(head.len(), |j| start + j);
        let line = &head[start..end];
        if line.len() > 5 && line[..5].eq_ignore_ascii_case(b"date:") {
            let ows = |b: &u8| *b == b' ' || *b == b'\t';
            let lead = line[5..].iter().take_while(|b| ows(b)).count();
            let trail = line.iter().rev().take_while(|b| ows(b)).count();
            let value = start + 5 + lead..end - trail;
            return (value.len() == HTTP_DATE_LEN).then_some(value);
        }
        at = start;
    }
    None
}

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
