//! A UDP echo server: every datagram goes back to its sender, unchanged.
//!
//! ```text
//! cargo run --release --example udp_echo -- 127.0.0.1:7001
//! ```
//!
//! Try it with `nc -u 127.0.0.1 7001`. One task serves every peer: a UDP
//! socket has no connections, and `recv_from`/`send_to` say who is who.

use std::io;

use runtime::net::UdpSocket;

/// The largest datagram echoed whole (the largest a UDP/IPv4 packet holds);
/// a longer one is truncated by the kernel to this.
const MAX_DATAGRAM: usize = 65_507;

#[allow(dead_code)]
#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".to_string());
    let socket = UdpSocket::bind(&addr).await?;
    println!("udp_echo listening on {}", socket.local_addr()?);
    serve(&socket).await
}

/// Echoes datagrams on `socket` until an error other than a peer's
/// (a peer's unreachable port, reported on Linux as `ConnectionRefused` on
/// the next call, is ignored).
///
/// # Errors
///
/// The socket's own errors.
pub async fn serve(socket: &UdpSocket) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(e),
        };
        match socket.send_to(&buf[..n], peer).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
    }
}
