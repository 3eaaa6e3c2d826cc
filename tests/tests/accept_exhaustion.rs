//! `accept` when things go wrong: a connection aborted in the backlog is
//! skipped, and running out of file descriptors (`EMFILE`) returns errors
//! with a back-off in between (no 100 % CPU spin), after which accepting
//! resumes once descriptors are freed.
//!
//! The `EMFILE` test lowers `RLIMIT_NOFILE` and fills the fd table, which
//! would break every other test in the process, so it runs in a child: the
//! test binary re-executes itself for that one test with an environment
//! variable set, and the parent checks the child's exit status and report.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime_tests::{
    block_on, flavor_tests, process_cpu_time, set_linger_zero, Flavor, Watchdog, HANG_LIMIT,
};

/// A connection reset by its client while it waits in the backlog does not
/// surface as an `accept` error, and the next good connection is accepted.
fn an_aborted_connection_before_accept_does_not_stop_the_next_good_one(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for _ in 0..3 {
            let bad = std::net::TcpStream::connect(addr).unwrap();
            set_linger_zero(&bad).unwrap();
            drop(bad); // RST while still in the backlog
        }
        let mut good = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut good, b"good").unwrap();
        let good_addr = good.local_addr().unwrap();
        // The kernel may hand out the reset connections (already dead) or
        // drop them; either way `accept` never fails and the good one comes.
        for _ in 0..4 {
            let (mut stream, peer) = listener.accept().await.unwrap();
            if peer == good_addr {
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"good");
                return;
            }
        }
        panic!("the good connection was never accepted");
    });
}

flavor_tests!(an_aborted_connection_before_accept_does_not_stop_the_next_good_one);

/// Set in the child process: the flavor to run the exhaustion scenario on.
const CHILD_ENV: &str = "RUNTIME_TESTS_EMFILE_CHILD";
/// How long the child keeps the listener exhausted.
const EXHAUSTED_FOR: Duration = Duration::from_millis(1200);

#[test]
fn accept_backs_off_while_out_of_fds_and_resumes_when_fds_are_freed() {
    const NAME: &str = "accept_backs_off_while_out_of_fds_and_resumes_when_fds_are_freed";
    if let Some(flavor) = std::env::var_os(CHILD_ENV) {
        let flavor = match flavor.to_str() {
            Some("current_thread") => Flavor::CurrentThread,
            _ => Flavor::MultiThread,
        };
        return exhaustion_child(flavor);
    }
    // Both flavors at once, each in its own child.
    let children: Vec<_> = ["current_thread", "multi_thread"]
        .into_iter()
        .map(|flavor| {
            let child = Command::new(std::env::current_exe().unwrap())
                .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, flavor)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("re-running the test binary");
            (flavor, child)
        })
        .collect();
    for (flavor, child) in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = stdout.lines().find(|l| l.contains("exhaustion child ok"));
        assert!(
            out.status.success() && report.is_some(),
            "the {flavor} child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
        eprintln!("{flavor}: {}", report.unwrap());
    }
}

/// Lowers `RLIMIT_NOFILE` to at most 256 (the hard limit allows it).
fn lower_fd_limit() {
    let mut lim = std::mem::MaybeUninit::<libc::rlimit>::zeroed();
    // SAFETY: `lim` points to writable memory of the right size.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, lim.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    // SAFETY: zero-initialised and filled in by getrlimit.
    let mut lim = unsafe { lim.assume_init() };
    lim.rlim_cur = lim.rlim_cur.min(256);
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit is allowed.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Duplicates `fd` until the process is out of descriptors; returns the
/// duplicates (closing them frees the table again).
fn fill_fd_table(fd: &impl AsRawFd) -> Vec<OwnedFd> {
    let mut hogs = Vec::new();
    loop {
        // SAFETY: F_DUPFD_CLOEXEC on an open fd returns a new fd or -1.
        let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
            return hogs;
        }
        // SAFETY: a fresh fd owned by nothing else.
        hogs.push(unsafe { OwnedFd::from_raw_fd(dup) });
        assert!(hogs.len() < 100_000, "RLIMIT_NOFILE did not take effect");
    }
}

/// The scenario, in the child process.
fn exhaustion_child(flavor: Flavor) {
    let _watchdog = Watchdog::start(HANG_LIMIT);
    let rt = flavor.build();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        // The clients' sockets are made before the table is full; connecting
        // them needs no new descriptor.
        let mut spare: Vec<TcpSocket> = (0..4).map(|_| TcpSocket::new_v4().unwrap()).collect();
        lower_fd_limit();
        let hogs = fill_fd_table(&listener);

        let mut clients: Vec<TcpStream> = Vec::new();
        clients.push(spare.pop().unwrap().connect(addr).await.unwrap());

        let (start, cpu_start) = (Instant::now(), process_cpu_time());
        let mut errors = 0u32;
        while start.elapsed() < EXHAUSTED_FOR {
            match listener.accept().await {
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => errors += 1,
                Err(e) => panic!("expected EMFILE, got {e}"),
                Ok((_, peer)) => panic!("accepted {peer} with a full fd table"),
            }
            // Meanwhile more clients connect (they wait in the backlog).
            if let Some(socket) = spare.pop() {
                clients.push(socket.connect(addr).await.unwrap());
            }
        }
        let (wall, cpu) = (start.elapsed(), process_cpu_time() - cpu_start);
        assert!(errors >= 3, "accept returned EMFILE only {errors} times");
        // 1 + 2 + 4 + … ms of back-off: about a dozen errors in 1.2 s. A
        // listener that retried at once would report thousands.
        assert!(
            errors <= 60,
            "{errors} EMFILE errors in {wall:?}: accept does not back off"
        );
        assert!(
            cpu.as_secs_f64() < 0.3 * wall.as_secs_f64(),
            "the process used {cpu:?} of CPU in {wall:?} while the listener was exhausted"
        );

        drop(hogs);
        // Accepting resumes (after the current back-off) and picks up every
        // client that waited in the backlog.
        let mut accepted = Vec::new();
        for _ in 0..clients.len() {
            accepted.push(
                listener
                    .accept()
                    .await
                    .expect("accept after fds were freed"),
            );
        }
        let mut peers: Vec<SocketAddr> = accepted.iter().map(|(_, p)| *p).collect();
        let mut locals: Vec<SocketAddr> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals, "each waiting client was accepted once");
        let (server, _) = &mut accepted[0];
        let client = clients
            .iter_mut()
            .find(|c| c.local_addr().unwrap() == server.peer_addr().unwrap())
            .unwrap();
        client.write_all(b"alive").await.unwrap();
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"alive");
        assert_eq!(
            server.try_read(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        println!("exhaustion child ok: {errors} EMFILE errors, {cpu:?} CPU in {wall:?}");
    });
}
