//! The credentials of the process at the other end of a Unix socket.
//!
//! - Linux, Android: `SO_PEERCRED` (uid, gid and pid, taken at `connect`).
//! - macOS, iOS: `getpeereid` for uid and gid, `LOCAL_PEERPID` for the pid.
//! - FreeBSD, the other BSDs: `getpeereid` (no pid).

use std::io;
use std::os::fd::RawFd;

/// uid, gid and (where the OS tells) pid of a peer.
pub(crate) struct PeerCred {
    pub(crate) uid: libc::uid_t,
    pub(crate) gid: libc::gid_t,
    pub(crate) pid: Option<libc::pid_t>,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_cred(fd: RawFd) -> io::Result<PeerCred> {
    let cred: libc::ucred = super::getsockopt_val(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    Ok(PeerCred {
        uid: cred.uid,
        gid: cred.gid,
        // A socketpair created before any fork reports the creator; 0 means
        // "unknown" (no process was recorded).
        pid: (cred.pid != 0).then_some(cred.pid),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_cred(fd: RawFd) -> io::Result<PeerCred> {
    let mut uid: libc::uid_t = 0;
    let mut gid: libc::gid_t = 0;
    super::syscall!(getpeereid(fd, &mut uid, &mut gid))?;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    let pid = super::getsockopt_val::<libc::pid_t>(fd, libc::SOL_LOCAL, libc::LOCAL_PEERPID).ok();
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    let pid = None;
    Ok(PeerCred { uid, gid, pid })
}
