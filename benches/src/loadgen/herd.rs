//! [`Herd`]: many mostly idle connections on blocking sockets, for the
//! memory and connection-scale cases.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use super::payload::Payload;
use super::socket::connect;
use super::Protocol;

/// Many mostly idle connections on blocking sockets: for the memory and
/// connection-scale cases, where what matters is how many there are, not
/// how fast one goes.
#[derive(Debug)]
pub struct Herd {
    streams: Vec<TcpStream>,
    payload: Payload,
    /// Echo rounds done so far (selects the payload).
    rounds: u64,
    /// The first connection's id.
    first_id: u64,
}

/// Bytes per echo in a [`Herd`].
pub const HERD_MESSAGE: usize = 64;

impl Herd {
    /// Opens `n` connections to `addr` (from `src` if given), `batch` at a
    /// time, each echoing one 64-byte message before the next batch starts,
    /// so at most `batch` connections wait to be accepted at once.
    ///
    /// # Errors
    ///
    /// The first failed connect, write or read, or a wrong echoed byte.
    pub fn connect(
        addr: SocketAddr,
        src: Option<IpAddr>,
        n: usize,
        batch: usize,
        first_id: u64,
    ) -> io::Result<Herd> {
        let mut herd = Herd {
            streams: Vec::with_capacity(n),
            payload: Payload::new(&Protocol::Echo { size: HERD_MESSAGE }),
            rounds: 0,
            first_id,
        };
        let batch = batch.max(1);
        while herd.streams.len() < n {
            let from = herd.streams.len();
            let to = (from + batch).min(n);
            for _ in from..to {
                let s = connect(addr, src)?;
                s.set_read_timeout(Some(Duration::from_secs(30)))?;
                herd.streams.push(s);
            }
            herd.echo_range(from, to, 0)?;
        }
        herd.rounds = 1;
        Ok(herd)
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Echoes one message on every connection, `batch` at a time.
    ///
    /// # Errors
    ///
    /// The first failed write or read, or a wrong echoed byte.
    pub fn echo_all(&mut self, batch: usize) -> io::Result<()> {
        let round = self.rounds;
        let mut from = 0;
        while from < self.streams.len() {
            let to = (from + batch.max(1)).min(self.streams.len());
            self.echo_range(from, to, round)?;
            from = to;
        }
        self.rounds += 1;
        Ok(())
    }

    fn echo_range(&mut self, from: usize, to: usize, round: u64) -> io::Result<()> {
        for (k, s) in self.streams[from..to].iter_mut().enumerate() {
            let id = self.first_id + (from + k) as u64;
            s.write_all(self.payload.request(id, round))?;
        }
        let mut buf = [0u8; HERD_MESSAGE];
        for (k, s) in self.streams[from..to].iter_mut().enumerate() {
            let id = self.first_id + (from + k) as u64;
            s.read_exact(&mut buf)?;
            if buf[..] != *self.payload.response(id, round) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("connection {id}: wrong echo in round {round}"),
                ));
            }
        }
        Ok(())
    }
}
