//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`] and the halves of a
//! split stream.

mod inq;
mod listener;
mod socket;
mod socket_opts;
mod split;
mod split_owned;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;

use std::io;
use std::net::SocketAddr;

use crate::lookup::{resolve, ToSocketAddrs};

/// Resolves `addr` and runs `f` on each address in turn until one succeeds,
/// returning the last error if none does.
///
/// A host name (not an address literal) is resolved off the calling thread
/// (see [`lookup_host`](crate::lookup_host)); the task waits meanwhile.
pub(crate) async fn each_addr<A, F, Fut, R>(addr: A, mut f: F) -> io::Result<R>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<R>>,
{
    let addrs = resolve(&addr);
    drop(addr);
    let mut last_err = None;
    for addr in addrs.await? {
        match f(addr).await {
            Ok(r) => return Ok(r),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
