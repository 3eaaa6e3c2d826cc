//! `AsyncFd` over fds that are not sockets of this crate: a pipe (both
//! ends), an eventfd and a timerfd (Linux); readiness guards, `clear_ready`,
//! `try_io`, and deregistration before the fd is closed. The tests hold
//! `serial()`: one of them counts the reactor's registrations.

use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use runtime::io::unix::AsyncFd;
use runtime::io::Interest;
use runtime_tests::{
    assert_bytes_eq, block_on, flavor_tests, pattern, registration_count, serial, Flavor,
};

/// A pipe with both ends non-blocking and close-on-exec: `(read, write)`.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds `pipe` writes.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", io::Error::last_os_error());
    for fd in fds {
        // SAFETY: fcntl on the fds just created.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            assert!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0);
            assert!(libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) >= 0);
        }
    }
    // SAFETY: both fds are fresh and owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn read_fd(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live, writable buffer of the stated length.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn write_fd(fd: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live buffer of the stated length.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// 1 MiB through a 64 KiB pipe: the writer parks on `writable()` when the
/// pipe is full, the reader on `readable()` when it is empty; every byte
/// arrives in order.
fn pipe_carries_a_mebibyte_through_readiness_guards(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        let (r, w) = pipe();
        let reader = AsyncFd::new(r).unwrap();
        let writer = AsyncFd::new(w).unwrap();
        let data = pattern(1 << 20, 30);
        let expected = data.clone();
        let write_task = runtime::spawn(async move {
            let mut off = 0;
            while off < data.len() {
                let mut guard = writer.writable().await.unwrap();
                match guard.try_io(|fd| write_fd(fd.get_ref(), &data[off..])) {
                    Ok(n) => off += n.unwrap(),
                    Err(_would_block) => continue,
                }
            }
            // Dropping the write end gives the reader EOF.
        });
        let mut got = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            let mut guard = reader.readable().await.unwrap();
            match guard.try_io(|fd| read_fd(fd.get_ref(), &mut buf)) {
                Ok(Ok(0)) => break,
                Ok(n) => got.extend_from_slice(&buf[..n.unwrap()]),
                Err(_would_block) => continue,
            }
        }
        write_task.await.unwrap();
        assert_bytes_eq(&got, &expected, "through the pipe");
    });
}

/// After the reader drains the pipe and clears readiness, a new wait parks
/// until the writer writes again; `async_io` wraps the same loop.
fn clear_ready_makes_the_next_wait_park_until_new_data(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        let (r, w) = pipe();
        let reader = std::sync::Arc::new(AsyncFd::new(r).unwrap());
        write_fd(&w, b"first").unwrap();
        let mut buf = [0u8; 16];
        let mut guard = reader.readable().await.unwrap();
        assert!(guard.ready().is_readable());
        assert_eq!(read_fd(guard.get_inner(), &mut buf).unwrap(), 5);
        assert_eq!(
            read_fd(guard.get_inner(), &mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        guard.clear_ready();
        assert!(guard.ready().is_empty());
        drop(guard);

        let r2 = reader.clone();
        let waiter = runtime::spawn(async move {
            r2.async_io(Interest::READABLE, |fd| {
                let mut buf = [0u8; 16];
                read_fd(fd, &mut buf).map(|n| buf[..n].to_vec())
            })
            .await
            .unwrap()
        });
        for _ in 0..5 {
            runtime::task::yield_now().await;
        }
        assert!(!waiter.is_finished(), "the wait parks after clear_ready");
        write_fd(&w, b"second").unwrap();
        assert_eq!(waiter.await.unwrap(), b"second");
    });
}

/// `into_inner` deregisters and hands the fd back open; dropping an
/// `AsyncFd` deregisters before the fd closes; registering one fd twice is
/// refused and the value is handed back.
fn asyncfd_deregisters_before_the_fd_is_dropped(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        let (r, _w) = pipe();
        let raw = r.as_raw_fd();
        let before = registration_count();
        let fd = AsyncFd::new(r).unwrap();
        assert_eq!(registration_count(), before + 1);
        let dup = AsyncFd::try_new(fd.get_ref().try_clone().unwrap());
        assert!(dup.is_ok(), "a dup is another fd, registered separately");
        drop(dup);
        let r = fd.into_inner();
        assert_eq!(registration_count(), before);
        // SAFETY: F_GETFD on an fd number only reads its flags.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
        assert!(flags >= 0, "into_inner hands the fd back open");
        // Deregistered, so it can be registered again.
        let fd = AsyncFd::new(r).unwrap();
        // The same fd number a second time is refused (EEXIST), and the
        // object comes back with the error.
        // SAFETY: the `File` is forgotten below, so the fd (owned by `fd`)
        // is not closed twice.
        let alias = unsafe { std::fs::File::from_raw_fd(raw) };
        let (alias, err) = AsyncFd::try_new(alias).unwrap_err().into_parts();
        std::mem::forget(alias);
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
        drop(fd);
        assert_eq!(registration_count(), before);
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn eventfd_wakes_a_task_waiting_on_readable(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        // SAFETY: eventfd has no memory-safety preconditions.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(raw >= 0, "eventfd: {}", io::Error::last_os_error());
        // SAFETY: a fresh fd owned by nothing else.
        let efd = AsyncFd::new(unsafe { OwnedFd::from_raw_fd(raw) }).unwrap();
        let efd = std::sync::Arc::new(efd);
        let e2 = efd.clone();
        let waiter = runtime::spawn(async move {
            e2.async_io(Interest::READABLE, |fd| {
                let mut v = [0u8; 8];
                read_fd(fd, &mut v).map(|_| u64::from_ne_bytes(v))
            })
            .await
            .unwrap()
        });
        runtime::task::yield_now().await;
        std::thread::spawn(move || {
            write_fd(efd.get_ref(), &3u64.to_ne_bytes()).unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(waiter.await.unwrap(), 3);
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn timerfd_becomes_readable_when_it_expires(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        // SAFETY: timerfd_create has no memory-safety preconditions.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        assert!(raw >= 0, "timerfd_create: {}", io::Error::last_os_error());
        // SAFETY: a fresh fd owned by nothing else.
        let tfd = AsyncFd::new(unsafe { OwnedFd::from_raw_fd(raw) }).unwrap();
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: 0,
                tv_nsec: 20_000_000,
            },
        };
        let start = std::time::Instant::now();
        // SAFETY: `spec` is a valid itimerspec; the old value is not wanted.
        let rc = unsafe { libc::timerfd_settime(raw, 0, &spec, std::ptr::null_mut()) };
        assert_eq!(rc, 0);
        let expirations = tfd
            .async_io(Interest::READABLE, |fd| {
                let mut v = [0u8; 8];
                read_fd(fd, &mut v).map(|_| u64::from_ne_bytes(v))
            })
            .await
            .unwrap();
        assert_eq!(expirations, 1);
        assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    });
}

/// epoll refuses regular files; the error says so and the file comes back.
/// (The backend, not the OS, decides: Linux with the kqueue backend over
/// libkqueue takes them, as kqueue does.)
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(runtime_libkqueue)
))]
#[test]
fn a_regular_file_is_refused_and_handed_back() {
    let _serial = serial();
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let err = AsyncFd::try_new(file).unwrap_err();
    let (file, cause) = err.into_parts();
    assert_eq!(cause.raw_os_error(), Some(libc::EPERM), "{cause}");
    assert!(file.metadata().is_ok(), "the file is handed back usable");
}

/// kqueue takes regular files, and a regular file is always ready: both
/// directions read as ready at once, and a read through the `AsyncFd` gets
/// the file's bytes.
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(runtime_libkqueue)
)))]
fn a_regular_file_is_always_ready(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        let before = registration_count();
        let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
        let fd = AsyncFd::new(file).unwrap();
        assert_eq!(registration_count(), before + 1);
        let guard = fd.readable().await.unwrap();
        assert!(guard.ready().is_readable(), "{:?}", guard.ready());
        drop(guard);
        let guard = fd.writable().await.unwrap();
        assert!(guard.ready().is_writable(), "{:?}", guard.ready());
        drop(guard);
        let mut head = [0u8; 16];
        let n = fd
            .async_io(Interest::READABLE, |f| read_fd(f, &mut head))
            .await
            .unwrap();
        let expected = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(&head[..n], &expected[..n], "the file's first bytes");
        assert!(n > 0, "a read of a non-empty file at offset 0");
        drop(fd);
        assert_eq!(registration_count(), before);
    });
}

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(runtime_libkqueue)
)))]
flavor_tests!(a_regular_file_is_always_ready);

#[cfg(any(target_os = "linux", target_os = "android"))]
flavor_tests!(
    eventfd_wakes_a_task_waiting_on_readable,
    timerfd_becomes_readable_when_it_expires,
);

flavor_tests!(
    pipe_carries_a_mebibyte_through_readiness_guards,
    clear_ready_makes_the_next_wait_park_until_new_data,
    asyncfd_deregisters_before_the_fd_is_dropped,
);
