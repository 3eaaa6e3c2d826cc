//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`],
//! their [`SocketAddr`] (pathname, unnamed, or abstract on Linux) and the
//! peer credentials [`UCred`].

mod addr;
mod datagram;
mod listener;
mod stream;
mod ucred;

pub use addr::SocketAddr;
pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;
pub use ucred::UCred;
