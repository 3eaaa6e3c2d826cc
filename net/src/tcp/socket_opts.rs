//! The options of [`TcpSocket`] beyond those needed to bind and listen:
//! keep-alive, type of service, and the bound device (Linux).

use std::io;
use std::os::fd::AsRawFd;

use crate::sys;
use crate::tcp::TcpSocket;

impl TcpSocket {
    /// Sets `SO_KEEPALIVE`: the kernel probes an idle connection and
    /// reports a dead peer as an error (after the system's keep-alive
    /// times, two hours by default on Linux).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_keepalive(true)?;
    /// assert!(socket.keepalive()?);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        sys::set_flag(
            self.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            keepalive,
        )
    }

    /// The value of `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn keepalive(&self) -> io::Result<bool> {
        sys::flag(self.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE)
    }

    /// Sets `IP_TOS`, the type-of-service byte (DSCP and ECN bits) of the
    /// IPv4 packets sent.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)` (on an IPv6 socket the value may be
    /// refused or have no effect).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_tos(0x10)?; // IPTOS_LOWDELAY
    /// assert_eq!(socket.tos()?, 0x10);
    /// # Ok::<_, std::io::Error>(())
    /// ```
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

    /// Binds the socket to the network interface named `interface`
    /// (`SO_BINDTODEVICE`): only packets of that interface are received and
    /// sent. `None` (or an empty name) removes the binding.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`: `ENODEV` for no such interface,
    /// `EPERM` without the privilege the kernel asks for.
    ///
    /// # Portability
    ///
    /// Linux and Android only.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use runtime::net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind_device(Some(b"lo"))?;
    /// assert_eq!(socket.device()?.as_deref(), Some(&b"lo"[..]));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    #[cfg(any(target_os = "linux", target_os = "android"))]
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
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        sys::opts::bind_device(self.as_raw_fd())
    }
}
