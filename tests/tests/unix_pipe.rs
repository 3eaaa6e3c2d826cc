//! `runtime::net::unix::pipe` over real pipes and FIFOs: megabytes
//! byte-exact through a pipe far smaller (so writes go short and wait for
//! the reader), a reader woken by data written after its short read, end
//! of file and `BrokenPipe`, the `try_` calls against readiness, a read
//! dropped by a timeout losing nothing, FIFOs opened with and without a
//! reader, the checks `from_file`/`from_owned_fd` make, and a pipe end
//! handed to a child process, on both schedulers.

use std::ffi::CString;
use std::io::{ErrorKind, IoSlice, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt, Interest};
use runtime::net::unix::pipe::{self, OpenOptions, Receiver, Sender};
use runtime_tests::{assert_bytes_eq, block_on, flavor_tests, pattern, Flavor, TempDir};

/// 64 pipe buffers' worth (a Linux pipe holds 64 KiB by default).
const BIG: usize = 4 * 1024 * 1024 + 4321;

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

fn megabytes_through_a_pipe_byte_exact(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        let data = pattern(BIG, 7);
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            // Uneven chunks, half of them vectored.
            let mut at = 0;
            let mut i = 0;
            while at < sent.len() {
                let end = (at + 100_003).min(sent.len());
                if i % 2 == 0 {
                    tx.write_all(&sent[at..end]).await.unwrap();
                } else {
                    let mid = (at + end) / 2;
                    let mut done = 0;
                    let total = end - at;
                    while done < total {
                        let (a, b) = if at + done < mid {
                            (&sent[at + done..mid], &sent[mid..end])
                        } else {
                            (&sent[at + done..end], &[][..])
                        };
                        let n = tx
                            .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                            .await
                            .unwrap();
                        assert!(n > 0);
                        done += n;
                    }
                }
                at = end;
                i += 1;
            }
            // Dropped here: the reader sees end of file.
        });
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_bytes_eq(&got, &data, "4 MiB through a pipe");
    });
}

/// A read with room to spare is short, which clears readiness without an
/// `EAGAIN` call; bytes written afterwards must still wake the reader.
fn data_after_a_short_read_wakes_the_reader(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = pipe::pipe().unwrap();
        let mut tx = std::fs::File::from(tx.into_blocking_fd().unwrap());
        let writer = std::thread::spawn(move || {
            for i in 0..50u8 {
                tx.write_all(&[i; 3]).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = rx.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(n < buf.len(), "every read is short");
            got.extend_from_slice(&buf[..n]);
        }
        writer.join().unwrap();
        let want: Vec<u8> = (0..50u8).flat_map(|i| [i; 3]).collect();
        assert_eq!(got, want);
    });
}

fn end_of_file_and_broken_pipe(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        tx.write_all(b"last words").await.unwrap();
        tx.close().await.unwrap(); // does nothing: the pipe stays open
        tx.write_all(b"!").await.unwrap();
        drop(tx);
        let mut got = String::new();
        rx.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "last words!");
        assert_eq!(rx.read(&mut [0; 8]).await.unwrap(), 0, "EOF stays EOF");

        let (mut tx, rx) = pipe::pipe().unwrap();
        drop(rx);
        let err = tx.write_all(b"nobody listens").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        let err = tx.try_write(b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

fn try_calls_follow_readiness(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = pipe::pipe().unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            rx.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(rx.try_read(&mut []).unwrap(), 0);

        // Fill the pipe without waiting, until it refuses (once the
        // reactor has reported the new pipe writable).
        tx.writable().await.unwrap();
        let chunk = [0x5au8; 4096];
        let mut written = 0usize;
        loop {
            match tx.try_write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("try_write: {e}"),
            }
        }
        assert!(written >= 4096, "a pipe holds at least a page");
        let full = runtime::time::timeout(Duration::from_millis(20), tx.writable()).await;
        assert!(
            full.is_err(),
            "a full pipe with no reader at work is not writable"
        );

        // A reader on another task drains it; the writer's wait ends.
        let reader = runtime::spawn(async move {
            rx.readable().await.unwrap();
            let mut total = 0;
            let mut buf = vec![0u8; 64 * 1024];
            while total < written + 3 {
                match rx.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        assert!(buf[..n].iter().all(|&b| b == 0x5a || b == b'x'));
                        total += n;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => rx.readable().await.unwrap(),
                    Err(e) => panic!("try_read: {e}"),
                }
            }
            total
        });
        tx.writable().await.unwrap();
        let ready = tx.ready(Interest::WRITABLE).await.unwrap();
        assert!(ready.is_writable());
        // Three bytes in one `writev`: under PIPE_BUF, so all or nothing.
        loop {
            match tx.try_write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"xx")]) {
                Ok(n) => break assert_eq!(n, 3),
                Err(e) if e.kind() == ErrorKind::WouldBlock => tx.writable().await.unwrap(),
                Err(e) => panic!("try_write_vectored: {e}"),
            }
        }
        drop(tx);
        assert_eq!(reader.await.unwrap(), written + 3);
    });
}

fn a_read_dropped_by_a_timeout_loses_nothing(flavor: Flavor) {
    block_on(flavor, async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        let mut buf = [0u8; 32];
        let early = runtime::time::timeout(Duration::from_millis(20), rx.read(&mut buf)).await;
        assert!(early.is_err(), "nothing was written yet");
        tx.write_all(b"after the timeout").await.unwrap();
        let n = rx.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"after the timeout");
    });
}

fn fifos_open_as_tokio_documents(flavor: Flavor) {
    let dir = TempDir::new("pipe-fifo");
    block_on(flavor, async {
        let path = dir.join("fifo");
        mkfifo(&path);
        // No reader yet: a write-only open is refused.
        let err = OpenOptions::new().open_sender(&path).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENXIO), "{err}");

        let mut rx = OpenOptions::new().open_receiver(&path).unwrap();
        let mut tx = OpenOptions::new().open_sender(&path).unwrap();
        tx.write_all(b"through the fifo").await.unwrap();
        drop(tx);
        let mut got = String::new();
        rx.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "through the fifo");

        #[cfg(target_os = "linux")]
        {
            // Read-write: a sender needs no reader, and the pipe holds the
            // bytes until one comes.
            let mut tx = OpenOptions::new()
                .read_write(true)
                .open_sender(&path)
                .unwrap();
            tx.write_all(b"held").await.unwrap();
            let mut rx = OpenOptions::new().open_receiver(&path).unwrap();
            let mut buf = [0u8; 8];
            let n = rx.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"held");
        }

        // A regular file is not a pipe, unless unchecked (and then the
        // reactor refuses to poll it).
        let file = dir.join("plain");
        std::fs::write(&file, b"x").unwrap();
        let err = OpenOptions::new().open_receiver(&file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = OpenOptions::new()
            .unchecked(true)
            .open_receiver(&file)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        let err = OpenOptions::new()
            .open_receiver(dir.join("missing"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

fn from_fd_checks_the_kind_and_the_direction(flavor: Flavor) {
    let dir = TempDir::new("pipe-check");
    block_on(flavor, async {
        let (tx, rx) = pipe::pipe().unwrap();
        let read_end = rx.into_blocking_fd().unwrap();
        let write_end = tx.into_nonblocking_fd().unwrap();
        // The wrong direction for each end.
        let err = Sender::from_owned_fd(read_end.try_clone().unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = Receiver::from_owned_fd(write_end.try_clone().unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        // A socket is not a pipe.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let err = Receiver::from_owned_fd(OwnedFd::from(a)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = Sender::from_file(std::fs::File::create(dir.join("f")).unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

        // The right ones: the blocking read end is made non-blocking.
        let flags = unsafe_getfl(&read_end);
        assert_eq!(flags & libc::O_NONBLOCK, 0, "into_blocking_fd cleared it");
        let mut rx = Receiver::from_owned_fd(read_end).unwrap();
        assert_ne!(unsafe_getfl(&rx) & libc::O_NONBLOCK, 0);
        let mut tx = Sender::from_file(std::fs::File::from(write_end)).unwrap();
        tx.write_all(b"ok").await.unwrap();
        let mut buf = [0u8; 2];
        rx.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    });
}

fn unsafe_getfl(fd: &impl AsRawFd) -> libc::c_int {
    // SAFETY: F_GETFL on a live fd owned by the caller.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) }
}

fn an_end_handed_to_a_child(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, mut rx) = pipe::pipe().unwrap();
        let status = runtime::process::Command::new("printf")
            .arg("from the child")
            .stdout(tx.into_blocking_fd().unwrap())
            .status();
        let mut got = String::new();
        rx.read_to_string(&mut got).await.unwrap();
        assert!(status.await.unwrap().success());
        assert_eq!(got, "from the child");
    });
}

flavor_tests!(
    megabytes_through_a_pipe_byte_exact,
    data_after_a_short_read_wakes_the_reader,
    end_of_file_and_broken_pipe,
    try_calls_follow_readiness,
    a_read_dropped_by_a_timeout_loses_nothing,
    fifos_open_as_tokio_documents,
    from_fd_checks_the_kind_and_the_direction,
    an_end_handed_to_a_child,
);
