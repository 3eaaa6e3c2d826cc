//! A TCP proxy on `runtime` and on tokio, the same shape on both:
//! `compare`'s `proxy` case.
//!
//! Each accepted connection gets a new connection to the upstream address
//! (both with `TCP_NODELAY`) and the two are joined by the runtime's own
//! `copy_bidirectional` until both directions end; errors (the load
//! generator resets its connections at the end of a run) end the
//! connection quietly.
//!
//! - On `runtime` (`ours`): `runtime::io::copy_bidirectional` between two
//!   `runtime::net::TcpStream`s, which on Linux moves the bytes with
//!   `splice(2)` through a pipe per direction, never through user space.
//! - On tokio (`on_tokio`): `tokio::io::copy_bidirectional`, which copies
//!   through an 8 KiB user-space buffer each way.

use std::net::SocketAddr;

/// The proxy on `runtime`.
pub(crate) mod ours {
    use super::SocketAddr;
    use runtime::net::{TcpListener, TcpStream};

    pub(crate) async fn accept(listener: TcpListener, upstream: SocketAddr) {
        loop {
            match listener.accept().await {
                Ok((client, _)) => drop(runtime::spawn(proxy(client, upstream))),
                Err(e) => {
                    crate::contender::accept_error(&e);
                    runtime::task::yield_now().await;
                }
            }
        }
    }

    async fn proxy(mut client: TcpStream, upstream: SocketAddr) -> std::io::Result<(u64, u64)> {
        client.set_nodelay(true)?;
        let mut server = TcpStream::connect(upstream).await?;
        server.set_nodelay(true)?;
        runtime::io::copy_bidirectional(&mut client, &mut server).await
    }
}

/// The proxy on tokio.
pub(crate) mod on_tokio {
    use super::SocketAddr;
    use tokio::net::{TcpListener, TcpStream};

    pub(crate) async fn accept(listener: TcpListener, upstream: SocketAddr) {
        loop {
            match listener.accept().await {
                Ok((client, _)) => drop(tokio::spawn(proxy(client, upstream))),
                Err(e) => {
                    crate::contender::accept_error(&e);
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    async fn proxy(mut client: TcpStream, upstream: SocketAddr) -> std::io::Result<(u64, u64)> {
        client.set_nodelay(true)?;
        let mut server = TcpStream::connect(upstream).await?;
        server.set_nodelay(true)?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await
    }
}
