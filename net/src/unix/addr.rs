//! [`SocketAddr`]: the address of a Unix-domain socket.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sys::RawAddr;

/// The address of a Unix-domain socket: a filesystem path, unnamed (an
/// unbound socket, or one end of a pair), or, on Linux and Android, an
/// abstract name (not in the filesystem, gone when the last socket using it
/// closes).
///
/// # Examples
///
/// ```
/// use runtime::net::unix::SocketAddr;
///
/// let addr = SocketAddr::from_pathname("/run/app.sock")?;
/// assert_eq!(addr.as_pathname(), Some(std::path::Path::new("/run/app.sock")));
/// assert!(!addr.is_unnamed());
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct SocketAddr {
    /// The kernel's form of the address; bytes of `sun_path` past
    /// `path_len` are zero.
    sun: libc::sockaddr_un,
    /// How many bytes of `sun_path` the address uses (0: unnamed).
    path_len: usize,
}

/// The three kinds of Unix address.
enum Kind<'a> {
    Unnamed,
    Pathname(&'a Path),
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    Abstract(&'a [u8]),
}

impl SocketAddr {
    /// The address of the filesystem path `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `path` contains a NUL byte or is too long for
    /// `sun_path` (about 104 to 108 bytes, depending on the OS).
    pub fn from_pathname<P: AsRef<Path>>(path: P) -> io::Result<SocketAddr> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        if bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Unix socket paths must not contain NUL bytes",
            ));
        }
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty Unix socket path",
            ));
        }
        let mut with_nul = Vec::with_capacity(bytes.len() + 1);
        with_nul.extend_from_slice(bytes);
        with_nul.push(0);
        SocketAddr::from_raw(&RawAddr::from_unix_bytes(&with_nul)?)
    }

    /// The abstract address `name` (Linux, Android): a name in a namespace of
    /// its own, not a file. `name` is used as given (it may contain NULs).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `name` is too long for `sun_path`.
    ///
    /// # Portability
    ///
    /// Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn from_abstract_name<N: AsRef<[u8]>>(name: N) -> io::Result<SocketAddr> {
        let name = name.as_ref();
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        SocketAddr::from_raw(&RawAddr::from_unix_bytes(&bytes)?)
    }

    /// The address for a `bind`/`connect` path argument: a path whose first
    /// byte is NUL names an abstract address on Linux (as with tokio and
    /// mio), anything else a file.
    pub(crate) fn from_path_arg(path: &Path) -> io::Result<SocketAddr> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(name) = path.as_os_str().as_bytes().strip_prefix(&[0]) {
            return SocketAddr::from_abstract_name(name);
        }
        SocketAddr::from_pathname(path)
    }

    /// Decodes an address returned by the kernel.
    pub(crate) fn from_raw(raw: &RawAddr) -> io::Result<SocketAddr> {
        let (sun, path_len) = raw.to_unix()?;
        Ok(SocketAddr { sun, path_len })
    }

    /// Encodes the address for the kernel.
    pub(crate) fn to_raw(&self) -> io::Result<RawAddr> {
        RawAddr::from_unix_bytes(self.path_bytes())
    }

    /// The used bytes of `sun_path`.
    fn path_bytes(&self) -> &[u8] {
        let path = &self.sun.sun_path[..self.path_len];
        // SAFETY: `c_char` and `u8` have the same size and alignment, and
        // every bit pattern is valid for both.
        unsafe { std::slice::from_raw_parts(path.as_ptr().cast::<u8>(), path.len()) }
    }

    fn kind(&self) -> Kind<'_> {
        let bytes = self.path_bytes();
        match bytes.first() {
            None => Kind::Unnamed,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(0) => Kind::Abstract(&bytes[1..]),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Some(0) => Kind::Unnamed,
            Some(_) => {
                // The kernel may or may not count the terminating NUL.
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                Kind::Pathname(Path::new(OsStr::from_bytes(&bytes[..end])))
            }
        }
    }

    /// Whether the address is unnamed (an unbound socket, or one end of
    /// a `pair`).
    pub fn is_unnamed(&self) -> bool {
        matches!(self.kind(), Kind::Unnamed)
    }

    /// The filesystem path, if this is a pathname address.
    pub fn as_pathname(&self) -> Option<&Path> {
        match self.kind() {
            Kind::Pathname(p) => Some(p),
            _ => None,
        }
    }

    /// The abstract name, if this is an abstract address.
    ///
    /// # Portability
    ///
    /// Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.kind() {
            Kind::Abstract(name) => Some(name),
            _ => None,
        }
    }
}

impl PartialEq for SocketAddr {
    fn eq(&self, other: &SocketAddr) -> bool {
        match (self.kind(), other.kind()) {
            (Kind::Unnamed, Kind::Unnamed) => true,
            (Kind::Pathname(a), Kind::Pathname(b)) => a == b,
            (Kind::Abstract(a), Kind::Abstract(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for SocketAddr {}

impl fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Kind::Unnamed => f.write_str("(unnamed)"),
            Kind::Pathname(p) => write!(f, "{p:?} (pathname)"),
            Kind::Abstract(name) => {
                write!(f, "\"{}\" (abstract)", name.escape_ascii())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pathnames_round_trip_and_bad_ones_are_refused() {
        let a = SocketAddr::from_pathname("/tmp/a.sock").unwrap();
        assert_eq!(a.as_pathname(), Some(Path::new("/tmp/a.sock")));
        assert_eq!(SocketAddr::from_raw(&a.to_raw().unwrap()).unwrap(), a);
        assert!(SocketAddr::from_pathname("a\0b").is_err());
        assert!(SocketAddr::from_pathname("").is_err());
        assert!(SocketAddr::from_pathname("x".repeat(300)).is_err());
        assert_eq!(format!("{a:?}"), "\"/tmp/a.sock\" (pathname)");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn abstract_names_are_not_paths() {
        let a = SocketAddr::from_abstract_name(b"runtime\0x").unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"runtime\0x"[..]));
        assert_eq!(a.as_pathname(), None);
        assert!(!a.is_unnamed());
        let b = SocketAddr::from_path_arg(Path::new(OsStr::from_bytes(b"\0runtime\0x"))).unwrap();
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "\"runtime\\x00x\" (abstract)");
    }
}
