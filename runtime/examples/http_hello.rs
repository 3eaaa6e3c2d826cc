//! A tiny HTTP/1.1 server: `GET /` answers `200 Hello, World!`, with
//! keep-alive and pipelining (requests on one connection are answered in
//! order, in as few writes as possible).
//!
//! ```text
//! cargo run --release --example http_hello -- 127.0.0.1:8080
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! It is a benchmark responder, not a web server: requests must fit in
//! 8 KiB of headers, bodies (`Content-Length`) are read and ignored,
//! chunked request bodies get `400` and the connection is closed. The
//! `compare` benchmark in `benches/` runs this very file as `runtime`'s HTTP
//! server, and the same responder ([`respond`]) on tokio and smol.
//!
//! Every response carries a `Date` header, as HTTP requires of a server
//! with a clock (RFC 9110, section 6.6.1). Formatting it is kept off the
//! hot path as hyper does: each thread keeps the formatted value of the
//! current second and formats anew only when the second changes
//! ([`date`]).

use std::ops::Range;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

/// The answer to `GET /`, with the date of the epoch: real answers have
/// the current date at [`HELLO_DATE`] (always [`DATE_LEN`] bytes), and are
/// otherwise these bytes exactly.
pub const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\
Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\nHello, World!";
/// Where the `Date` header's value lies in [`HELLO`].
pub const HELLO_DATE: Range<usize> = date_at(HELLO)..date_at(HELLO) + DATE_LEN;
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\
Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\
Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
/// Where the `Date` values of the other answers lie.
const NOT_FOUND_DATE: usize = date_at(NOT_FOUND);
const BAD_REQUEST_DATE: usize = date_at(BAD_REQUEST);
/// The most header bytes one request may have.
const MAX_HEAD: usize = 8 * 1024;

/// The length of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub const DATE_LEN: usize = 29;

/// Where the value of the `Date` header starts in `response` (run at
/// compile time, for the constants above).
const fn date_at(response: &[u8]) -> usize {
    const NAME: &[u8] = b"\r\nDate: ";
    let mut i = 0;
    while i + NAME.len() + DATE_LEN <= response.len() {
        let mut j = 0;
        while j < NAME.len() && response[i + j] == NAME[j] {
            j += 1;
        }
        if j == NAME.len() {
            return i + NAME.len();
        }
        i += 1;
    }
    panic!("no Date header")
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("http_hello listening on http://{}/", listener.local_addr()?);
    serve(listener).await
}

/// Accepts connections forever, one task each.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                runtime::spawn(connection(stream));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Serves one connection until the peer closes it or asks to.
pub async fn connection(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut input = Vec::with_capacity(4096);
    let mut output = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&buf[..n]);
        let next = respond(&mut input, &mut output);
        if !output.is_empty() {
            stream.write_all(&output).await?;
            output.clear();
        }
        if next == Next::Close {
            return Ok(());
        }
    }
}

/// What the connection does after [`respond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read more requests.
    KeepAlive,
    /// Write what was answered, then close.
    Close,
}

/// Answers every complete request at the front of `input`, appending the
/// responses to `output` in order, and removes those requests from `input`
/// (an incomplete one stays for the next read).
pub fn respond(input: &mut Vec<u8>, output: &mut Vec<u8>) -> Next {
    let date = date::now();
    let mut done = 0;
    let mut next = Next::KeepAlive;
    while let Some(request) = parse(&input[done..]) {
        let Some(request) = request else {
            put(output, BAD_REQUEST, BAD_REQUEST_DATE, &date);
            next = Next::Close;
            break;
        };
        done += request.len;
        if request.hello {
            put(output, HELLO, HELLO_DATE.start, &date);
        } else {
            put(output, NOT_FOUND, NOT_FOUND_DATE, &date);
        }
        if request.close {
            next = Next::Close;
            break;
        }
    }
    if next == Next::KeepAlive && input.len() - done > MAX_HEAD {
        put(output, BAD_REQUEST, BAD_REQUEST_DATE, &date);
        next = Next::Close;
    }
    input.drain(..done);
    next
}

/// Appends `response`, whose `Date` value starts at `at`, to `output`
/// with `date` as that value.
fn put(output: &mut Vec<u8>, response: &[u8], at: usize, date: &[u8; DATE_LEN]) {
    output.extend_from_slice(&response[..at]);
    output.extend_from_slice(date);
    output.extend_from_slice(&response[at + DATE_LEN..]);
}

/// A parsed request.
struct Request {
    /// Bytes it takes (head and body).
    len: usize,
    /// `GET /`.
    hello: bool,
    /// The client asked to close (or spoke HTTP/1.0 without keep-alive).
    close: bool,
}

/// `None`: incomplete; `Some(None)`: malformed.
fn parse(input: &[u8]) -> Option<Option<Request>> {
    let head_len = input.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let Ok(head) = std::str::from_utf8(&input[..head_len]) else {
        return Some(None);
    };
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Some(None);
    };
    let mut close = version == "HTTP/1.0";
    let mut body = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Some(None);
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let Ok(n) = value.parse() else {
                return Some(None);
            };
            body = n;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Some(None);
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close")
                || (version == "HTTP/1.0" && !value.eq_ignore_ascii_case("keep-alive"));
        }
    }
    if input.len() < head_len + body {
        return None;
    }
    Some(Some(Request {
        len: head_len + body,
        hello: method == "GET" && target == "/",
        close,
    }))
}

/// The `Date` header's value: the IMF-fixdate of RFC 9110 (section 5.6.7),
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub mod date {
    use std::cell::Cell;
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::DATE_LEN;

    std::thread_local! {
        /// The second last formatted on this thread, and its text.
        static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
    }

    /// The current date, formatted at most once a second per thread.
    pub fn now() -> [u8; DATE_LEN] {
        // A clock before 1970 is reported as 1970.
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        CACHE.with(|cache| {
            let (at, text) = cache.get();
            if at == secs {
                return text;
            }
            let text = format(secs);
            cache.set((secs, text));
            text
        })
    }

    /// `secs` seconds after the Unix epoch, as an HTTP date (years past
    /// 9999 show as 9999-12-31 23:59:59).
    pub fn format(secs: u64) -> [u8; DATE_LEN] {
        const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
        const MONTHS: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        /// 9999-12-31 23:59:59 UTC.
        const LAST: u64 = 253_402_300_799;
        let secs = secs.min(LAST);
        let (days, in_day) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil(days);
        let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        out[..3].copy_from_slice(WEEKDAYS[(days % 7) as usize]);
        two(&mut out[5..7], day);
        out[8..11].copy_from_slice(MONTHS[month as usize - 1]);
        two(&mut out[12..14], year / 100);
        two(&mut out[14..16], year % 100);
        two(&mut out[17..19], in_day / 3600);
        two(&mut out[20..22], in_day / 60 % 60);
        two(&mut out[23..25], in_day % 60);
        out
    }

    /// Two decimal digits of `n` (below 100).
    fn two(out: &mut [u8], n: u64) {
        out[0] = b'0' + (n / 10) as u8;
        out[1] = b'0' + (n % 10) as u8;
    }

    /// The (year, month 1-12, day 1-31) of the proleptic Gregorian calendar
    /// `days` days after 1970-01-01: counted in 400-year eras from
    /// 0000-03-01, so that the leap day ends each year.
    fn civil(days: u64) -> (u64, u64, u64) {
        // Days from 0000-03-01 to 1970-01-01.
        let z = days + 719_468;
        let era = z / 146_097;
        let day_of_era = z % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        // Months from March: 0 is March, 11 is February.
        let m = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * m + 2) / 5 + 1;
        let month = if m < 10 { m + 3 } else { m - 9 };
        let year = era * 400 + year_of_era + u64::from(month <= 2);
        (year, month, day)
    }
}
