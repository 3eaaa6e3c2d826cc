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

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

/// The answer to `GET /`.
pub const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// The most header bytes one request may have.
const MAX_HEAD: usize = 8 * 1024;

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
    let mut done = 0;
    let mut next = Next::KeepAlive;
    while let Some(request) = parse(&input[done..]) {
        let Some(request) = request else {
            output.extend_from_slice(BAD_REQUEST);
            next = Next::Close;
            break;
        };
        done += request.len;
        output.extend_from_slice(if request.hello { HELLO } else { NOT_FOUND });
        if request.close {
            next = Next::Close;
            break;
        }
    }
    if next == Next::KeepAlive && input.len() - done > MAX_HEAD {
        output.extend_from_slice(BAD_REQUEST);
        next = Next::Close;
    }
    input.drain(..done);
    next
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
