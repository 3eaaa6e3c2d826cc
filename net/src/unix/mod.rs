//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`],
//! their [`SocketAddr`] (pathname, unnamed, or abstract on Linux) and the
//! peer credentials [`UCred`], the halves of a split stream, and pipes and
//! FIFOs ([`pipe`]).

mod addr;
mod datagram;
mod listener;
pub mod pipe;
mod socket;
mod split;
mod stream;
mod ucred;

pub use addr::SocketAddr;
pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use socket::UnixSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::UnixStream;
pub use ucred::UCred;
