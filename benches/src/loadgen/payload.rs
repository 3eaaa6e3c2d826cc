//! What travels: echo messages are slices of one fixed pseudo-random table
//! at offsets chosen by connection and message number, so that a lost,
//! repeated or reordered chunk is caught; fixed request/response pairs are
//! sent and expected as given.

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
}
