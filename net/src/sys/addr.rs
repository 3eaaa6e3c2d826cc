//! Socket addresses as the kernel sees them: `sockaddr_in`, `sockaddr_in6`
//! and `sockaddr_un` inside a `sockaddr_storage`, with their length.

use std::io;
use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A raw socket address and its length, as the kernel wants it and as it
/// hands it back.
#[derive(Clone)]
pub(crate) struct RawAddr {
    /// Large and aligned enough for every address family; all-zero past
    /// `len`.
    storage: libc::sockaddr_storage,
    /// How many bytes of `storage` are the address.
    len: libc::socklen_t,
}

impl RawAddr {
    /// Wraps an address filled in by the kernel (`accept`, `recvfrom`,
    /// `getsockname`, …); `len` is clamped to the storage size.
    pub(crate) fn from_raw(storage: libc::sockaddr_storage, len: libc::socklen_t) -> RawAddr {
        let len = len.min(size_of::<libc::sockaddr_storage>() as libc::socklen_t);
        RawAddr { storage, len }
    }

    /// An all-zero address of length zero.
    fn zeroed() -> RawAddr {
        RawAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            storage: unsafe { std::mem::zeroed() },
            len: 0,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }

    /// The address family.
    pub(crate) fn family(&self) -> libc::c_int {
        libc::c_int::from(self.storage.ss_family)
    }

    /// Encodes a `SocketAddr` as a `sockaddr_in` or `sockaddr_in6`.
    pub(crate) fn from_inet(addr: &SocketAddr) -> RawAddr {
        let mut raw = RawAddr::zeroed();
        let len = match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for
                // any sockaddr type, sockaddr_in included.
                let sin = unsafe {
                    &mut *(&mut raw.storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in>()
                };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    sin.sin_len = size_of::<libc::sockaddr_in>() as u8;
                }
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe {
                    &mut *(&mut raw.storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in6>()
                };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    sin6.sin6_len = size_of::<libc::sockaddr_in6>() as u8;
                }
                size_of::<libc::sockaddr_in6>()
            }
        };
        raw.len = len as libc::socklen_t;
        raw
    }

    /// Decodes a `sockaddr_in`/`sockaddr_in6`.
    pub(crate) fn to_inet(&self) -> io::Result<SocketAddr> {
        let len = self.len as usize;
        match self.family() {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family and length say the storage holds a
                // sockaddr_in.
                let sin = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family and length say the storage holds a
                // sockaddr_in6.
                let sin6 = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an IPv4 or IPv6 socket address",
            )),
        }
    }

    /// Encodes a `sockaddr_un` whose `sun_path` holds `path` (no NUL added:
    /// pathname callers include the terminating NUL, abstract callers start
    /// with one).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `path` does not fit in `sun_path`.
    pub(crate) fn from_unix_bytes(path: &[u8]) -> io::Result<RawAddr> {
        let mut raw = RawAddr::zeroed();
        // SAFETY: sockaddr_storage is large and aligned enough for a
        // sockaddr_un.
        let sun = unsafe {
            &mut *(&mut raw.storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        if path.len() > sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Unix socket path too long",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(path) {
            *dst = *src as libc::c_char;
        }
        let len = sun_path_offset() + path.len();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            sun.sun_len = len as u8;
        }
        raw.len = len as libc::socklen_t;
        Ok(raw)
    }

    /// The `sockaddr_un` and the length of its `sun_path` part, if this is a
    /// Unix address.
    pub(crate) fn to_unix(&self) -> io::Result<(libc::sockaddr_un, usize)> {
        // Some kernels report an unnamed peer with length 0 (no family).
        if self.len == 0 {
            // SAFETY: sockaddr_un is plain old data; all-zero is valid.
            let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
            sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
            return Ok((sun, 0));
        }
        if self.family() != libc::AF_UNIX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a Unix socket address",
            ));
        }
        // SAFETY: the family says the storage holds a sockaddr_un, which fits
        // in sockaddr_storage; bytes past `len` are zero.
        let sun = unsafe {
            *(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        let path_len = (self.len as usize)
            .saturating_sub(sun_path_offset())
            .min(sun.sun_path.len());
        Ok((sun, path_len))
    }
}

/// Where `sun_path` starts inside `sockaddr_un`.
pub(crate) fn sun_path_offset() -> usize {
    offset_of!(libc::sockaddr_un, sun_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addrs_round_trip() {
        for addr in ["127.0.0.1:8080", "[::1]:9", "[fe80::1%3]:1", "0.0.0.0:0"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let raw = RawAddr::from_inet(&addr);
            assert_eq!(raw.to_inet().unwrap(), addr);
        }
    }

    #[test]
    fn short_or_foreign_addresses_are_errors() {
        let mut raw = RawAddr::from_inet(&"127.0.0.1:1".parse().unwrap());
        raw.len = 2;
        assert!(raw.to_inet().is_err());
        let zero = RawAddr::from_raw(RawAddr::zeroed().storage, 128);
        assert!(zero.to_inet().is_err());
        assert!(zero.to_unix().is_err());
    }

    #[test]
    fn unix_paths_round_trip_and_long_ones_are_refused() {
        let raw = RawAddr::from_unix_bytes(b"/tmp/x.sock\0").unwrap();
        let (sun, n) = raw.to_unix().unwrap();
        assert_eq!(n, 12);
        assert_eq!(sun.sun_path[0] as u8, b'/');
        assert!(RawAddr::from_unix_bytes(&[b'a'; 200]).is_err());
    }
}
