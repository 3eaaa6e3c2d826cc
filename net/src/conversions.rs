//! `TryFrom` the standard library's sockets, as tokio has: each is
//! `from_std` (switch to non-blocking mode, register with the reactor).

use std::io;

use crate::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};

macro_rules! try_from_std {
    ($($ours:ty => $std:ty),* $(,)?) => {$(
        impl TryFrom<$std> for $ours {
            type Error = io::Error;

            /// The same as `from_std`: switches the socket to non-blocking
            /// mode and registers it with the reactor.
            fn try_from(socket: $std) -> io::Result<Self> {
                <$ours>::from_std(socket)
            }
        }
    )*};
}

try_from_std! {
    TcpStream => std::net::TcpStream,
    TcpListener => std::net::TcpListener,
    UdpSocket => std::net::UdpSocket,
    UnixStream => std::os::unix::net::UnixStream,
    UnixListener => std::os::unix::net::UnixListener,
    UnixDatagram => std::os::unix::net::UnixDatagram,
}
