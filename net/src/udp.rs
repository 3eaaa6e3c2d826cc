//! UDP: [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use runtime_reactor::{Direction, Ready};

use crate::poll_evented::PollEvented;
use crate::sys::{self, RawAddr};
use crate::tcp::each_addr;
use crate::Interest;
use crate::ToSocketAddrs;

/// A UDP socket.
///
/// Each `send` is one datagram and each `recv` takes exactly one: datagrams
/// are never split or merged. A datagram longer than the receive buffer is
/// truncated to the buffer's length and the rest is discarded (the call
/// returns the buffer's length). A send larger than the protocol allows
/// fails with `EMSGSIZE`. Zero-length datagrams are valid and received as
/// `Ok(0)` (so, unlike for streams, a receive into an empty buffer consumes
/// a datagram).
///
/// Use [`connect`](UdpSocket::connect) to fix the peer for `send`/`recv`,
/// or `send_to`/`recv_from` to address each datagram.
///
/// # Examples
///
/// ```
/// use runtime::net::UdpSocket;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0u8; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UdpSocket {
    io: PollEvented<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Creates a UDP socket bound to `addr` (IPv4 or IPv6), trying each
    /// resolved address in turn (a host name is resolved off the worker).
    ///
    /// # Errors
    ///
    /// The last bind error (`AddrInUse`, …), or `InvalidInput` if `addr`
    /// resolves to nothing.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |addr| async move {
            let fd = sys::socket(sys::domain_of(&addr), libc::SOCK_DGRAM)?;
            sys::bind(fd.as_raw_fd(), &RawAddr::from_inet(&addr))?;
            UdpSocket::new(std::net::UdpSocket::from(fd))
        })
        .await
    }

    fn new(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: PollEvented::new(socket)?,
        })
    }

    /// Wraps a standard-library socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::new(socket)
    }

    /// Deregisters the socket and returns it as a standard-library socket
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner())
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are
    /// received. Each resolved address is tried in turn (a host name is
    /// resolved off the worker).
    ///
    /// # Errors
    ///
    /// The last `connect(2)` error, or `InvalidInput` if `addr` resolves to
    /// nothing.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |addr| async move {
            sys::connect(self.as_raw_fd(), &RawAddr::from_inet(&addr))
        })
        .await
    }

    /// Sends `buf` as one datagram to the connected peer; waits while the
    /// send buffer is full.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](UdpSocket::connect); `EMSGSIZE`
    /// for an oversized datagram; `ConnectionRefused` if an earlier datagram
    /// was refused by the peer (ICMP port unreachable).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf).await
    }

    /// Polls a [`send`](UdpSocket::send).
    ///
    /// # Errors
    ///
    /// As [`send`](UdpSocket::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_send(cx, buf)
    }

    /// Sends without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the send buffer is full, or as
    /// [`send`](UdpSocket::send).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_send(buf)
    }

    /// Receives one datagram from the connected peer into `buf` (truncating
    /// it to `buf.len()`), waiting until one arrives.
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`, such as `ConnectionRefused` after an ICMP
    /// port unreachable for an earlier send.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf).await
    }

    /// Polls a [`recv`](UdpSocket::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_recv(cx, buf)
    }

    /// Receives one datagram without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or as [`recv`](UdpSocket::recv).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_recv(buf)
    }

    /// Receives one datagram from the connected peer into `buf`'s spare
    /// capacity (its `chunk_mut`), waiting until one arrives, and advances
    /// `buf` by its length (feature `bytes`). The kernel writes straight
    /// into the capacity; nothing is zeroed first. As with
    /// [`recv`](UdpSocket::recv), a datagram longer than the spare capacity
    /// is truncated to it and the rest discarded, and a `buf` with no spare
    /// capacity still takes a datagram off the queue (a full `BytesMut` or
    /// `Vec` makes room, but only 64 bytes or so: its `chunk_mut` grows it
    /// when full; `reserve` room for the largest datagram first).
    ///
    /// Cancel-safe: dropped before it completes, it has received nothing.
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    #[cfg(feature = "bytes")]
    pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.recv_buf(buf).await
    }

    /// Receives one datagram into `buf`'s spare capacity without waiting,
    /// and advances `buf` by its length (feature `bytes`); see
    /// [`recv_buf`](UdpSocket::recv_buf).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or as [`recv`](UdpSocket::recv).
    #[cfg(feature = "bytes")]
    pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_recv_buf(buf)
    }

    /// Receives one datagram into `buf`'s spare capacity (truncated to it,
    /// as by [`recv_buf`](UdpSocket::recv_buf)), waiting until one arrives,
    /// advances `buf` by its length and returns that and the sender
    /// (feature `bytes`). Cancel-safe.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use runtime::net::UdpSocket;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"ping", b.local_addr()?).await?;
    /// let mut buf = BytesMut::with_capacity(1500);
    /// let (n, from) = b.recv_buf_from(&mut buf).await?;
    /// assert_eq!((n, &buf[..], from), (4, &b"ping"[..], a.local_addr()?));
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    #[cfg(feature = "bytes")]
    pub async fn recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_buf_from(buf).await?;
        Ok((n, addr.to_inet()?))
    }

    /// Receives one datagram and its sender into `buf`'s spare capacity
    /// without waiting (feature `bytes`); see
    /// [`recv_buf_from`](UdpSocket::recv_buf_from).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or the errors of `recvfrom(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_buf_from(buf)?;
        Ok((n, addr.to_inet()?))
    }

    /// Sends `buf` as one datagram to `target` (the first address it
    /// resolves to; a host name is resolved off the worker, see
    /// [`lookup_host`](crate::lookup_host)).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `target` resolves to nothing; the errors of
    /// `sendto(2)` (`EMSGSIZE`, `NetworkUnreachable`, …).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = crate::lookup::resolve(&target)
            .await?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
            })?;
        let raw = RawAddr::from_inet(&target);
        self.io
            .async_io(Direction::Write, |s| {
                sys::io::send_to(s.as_raw_fd(), buf, &raw)
            })
            .await
    }

    /// Polls a [`send_to`](UdpSocket::send_to).
    ///
    /// # Errors
    ///
    /// The errors of `sendto(2)`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let raw = RawAddr::from_inet(&target);
        self.io.poll_io(cx, Direction::Write, |s| {
            sys::io::send_to(s.as_raw_fd(), buf, &raw)
        })
    }

    /// Sends to `target` without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the send buffer is full, or the errors of
    /// `sendto(2)`.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let raw = RawAddr::from_inet(&target);
        self.io.try_io(Direction::Write, |s| {
            sys::io::send_to(s.as_raw_fd(), buf, &raw)
        })
    }

    /// Receives one datagram into `buf` (truncating it to `buf.len()`) and
    /// returns its length and sender, waiting until one arrives.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, 0).await
    }

    /// Polls a [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_recv_from_flags(cx, buf, 0)
    }

    /// Receives one datagram with its sender without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or the errors of `recvfrom(2)`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.try_recv_from_flags(buf, 0)
    }

    /// Like [`recv_from`](UdpSocket::recv_from), but leaves the datagram
    /// queued (`MSG_PEEK`): the next receive returns it again.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, libc::MSG_PEEK).await
    }

    /// Polls a [`peek_from`](UdpSocket::peek_from).
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_recv_from_flags(cx, buf, libc::MSG_PEEK)
    }

    /// Peeks at the next datagram and its sender without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or the errors of `recvfrom(2)`.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.try_recv_from_flags(buf, libc::MSG_PEEK)
    }

    /// Like [`recv`](UdpSocket::recv) on a connected socket, but leaves the
    /// datagram queued (`MSG_PEEK`).
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from_flags(buf, libc::MSG_PEEK)
            .await
            .map(|(n, _)| n)
    }

    /// Polls a [`peek`](UdpSocket::peek).
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_peek_from(cx, buf).map(|res| res.map(|(n, _)| n))
    }

    /// Peeks at the next datagram without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or as [`recv`](UdpSocket::recv).
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_peek_from(buf).map(|(n, _)| n)
    }

    /// The sender of the next datagram, which stays queued, waiting until
    /// one arrives.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.recv_from_flags(&mut [], libc::MSG_PEEK)
            .await
            .map(|(_, addr)| addr)
    }

    /// Polls a [`peek_sender`](UdpSocket::peek_sender).
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.poll_peek_from(cx, &mut [])
            .map(|res| res.map(|(_, addr)| addr))
    }

    /// The sender of the next datagram without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued, or the errors of `recvfrom(2)`.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.try_peek_from(&mut []).map(|(_, addr)| addr)
    }

    /// `recv_from` and `peek_from`: `recvfrom(2)` with `flags`.
    async fn recv_from_flags(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_from(sys::io::as_uninit(buf), flags).await?;
        Ok((n, addr.to_inet()?))
    }

    /// `poll_recv_from` and `poll_peek_from`: `recvfrom(2)` with `flags`.
    fn poll_recv_from_flags(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_recv_from(cx, sys::io::as_uninit(buf), flags)
            .map(|res| res.and_then(|(n, addr)| Ok((n, addr.to_inet()?))))
    }

    /// `try_recv_from` and `try_peek_from`: `recvfrom(2)` with `flags`.
    fn try_recv_from_flags(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_from(sys::io::as_uninit(buf), flags)?;
        Ok((n, addr.to_inet()?))
    }

    /// Waits until the socket is ready in any direction of `interest`.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until a datagram (or an error) may be received.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Read).await
    }

    /// Waits until a datagram may be sent.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Write).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](UdpSocket::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`: allow sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// The value of `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`0.0.0.0`: the kernel picks one).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(IP_ADD_MEMBERSHIP)` (`ENODEV` if no
    /// interface can do multicast, `EINVAL` for a non-multicast address).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(IP_DROP_MEMBERSHIP)`.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index
    /// `interface` (0: the kernel picks one).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(IPV6_JOIN_GROUP)`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(IPV6_LEAVE_GROUP)`.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own multicast datagrams
    /// are looped back to it.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// The value of `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)` (`InvalidInput` on an IPv4 socket).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// The value of `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// The value of `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Sets `IP_TOS`, the type-of-service byte of outgoing IPv4 packets
    /// (DSCP and ECN).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        sys::set_tos(self.as_raw_fd(), tos)
    }

    /// The value of `IP_TOS`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn tos(&self) -> io::Result<u32> {
        sys::tos(self.as_raw_fd())
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The value of `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        sys::take_error(self.as_raw_fd())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

crate::macros::impl_as_fd!(UdpSocket, |s| s.io.get_ref());

crate::custom_io::impl_custom_io!(UdpSocket, "socket");
crate::custom_io::impl_poll_ready!(UdpSocket, poll_recv_ready, poll_send_ready);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl UdpSocket {
    /// Binds the socket to the network interface `interface` (such as
    /// `b"eth0"`; `None` or empty unbinds it): `SO_BINDTODEVICE`. Only
    /// datagrams received on that interface are delivered, and sends leave
    /// through it. Usually needs `CAP_NET_RAW`, except to unbind or on
    /// recent kernels for an unprivileged bind that matches the routing.
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(socket.device()?, None);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)` (`PermissionDenied`, or `ENODEV` for
    /// an unknown interface).
    ///
    /// # Portability
    ///
    /// Linux and Android only.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        sys::opts::set_bind_device(self.as_raw_fd(), interface)
    }

    /// The interface the socket is bound to (`SO_BINDTODEVICE`), if any.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    ///
    /// # Portability
    ///
    /// Linux and Android only.
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        sys::opts::bind_device(self.as_raw_fd())
    }
}
