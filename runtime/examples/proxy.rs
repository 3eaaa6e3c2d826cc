//! A TCP proxy: each connection to the listen address is joined to a new
//! connection to the upstream address, and bytes flow both ways until both
//! sides are done.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000 &
//! cargo run --release --example proxy -- 127.0.0.1:7002 127.0.0.1:7000
//! ```
//!
//! The copying is [`runtime::io::copy_bidirectional`]: on Linux, between
//! two TCP streams, it moves the bytes with `splice(2)`, never through this
//! process's memory. A half-close travels through (a client that shuts its
//! write side makes the proxy shut the upstream's), so request/response
//! protocols that end with a half-close work.

use std::io;

use runtime::io::copy_bidirectional;
use runtime::net::{TcpListener, TcpStream};

#[allow(dead_code)]
#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:7002".to_string());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let listener = TcpListener::bind(&listen).await?;
    println!(
        "proxy listening on {}, to {upstream}",
        listener.local_addr()?
    );
    serve(listener, upstream).await
}

/// Accepts connections forever and proxies each to `upstream`.
///
/// # Errors
///
/// None today: an `accept` error is reported and the proxy keeps going.
pub async fn serve(listener: TcpListener, upstream: String) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((client, peer)) => {
                let upstream = upstream.clone();
                runtime::spawn(async move {
                    if let Err(e) = proxy(client, &upstream).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Joins `client` to a new connection to `upstream`; returns the bytes
/// moved each way (client to upstream, upstream to client).
///
/// # Errors
///
/// If `upstream` cannot be reached, or either side fails mid-copy.
pub async fn proxy(mut client: TcpStream, upstream: &str) -> io::Result<(u64, u64)> {
    let mut server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    copy_bidirectional(&mut client, &mut server).await
}
