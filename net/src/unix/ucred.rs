//! [`UCred`]: who is at the other end of a Unix socket.

use std::io;
use std::os::fd::RawFd;

use crate::sys;

/// The credentials of the process at the other end of a Unix stream,
/// recorded by the kernel when the connection was made (or the pair was
/// created).
///
/// # Portability
///
/// Linux and Android read `SO_PEERCRED` (uid, gid, pid); macOS and iOS use
/// `getpeereid` and `LOCAL_PEERPID`; FreeBSD and the other BSDs use
/// `getpeereid`, which gives no pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UCred {
    uid: libc::uid_t,
    gid: libc::gid_t,
    pid: Option<libc::pid_t>,
}

impl UCred {
    pub(crate) fn of_peer(fd: RawFd) -> io::Result<UCred> {
        let cred = sys::cred::peer_cred(fd)?;
        Ok(UCred {
            uid: cred.uid,
            gid: cred.gid,
            pid: cred.pid,
        })
    }

    /// The peer's effective user id.
    pub fn uid(&self) -> libc::uid_t {
        self.uid
    }

    /// The peer's effective group id.
    pub fn gid(&self) -> libc::gid_t {
        self.gid
    }

    /// The peer's process id, where the OS reports it.
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.pid
    }
}
