//! A storm of signals never stalls the reactor: with a no-op `SIGUSR1`
//! handler installed without `SA_RESTART` and thousands of signals a second
//! sent to every thread of the process, echo traffic and timers keep
//! running on both schedulers. No `Interrupted` error reaches user code,
//! every byte arrives, and every 20 ms sleep or timeout ends well under
//! 2 s, while the storm goes on for far longer than that: a wait
//! interrupted by a signal resumes with the time that remains, never with
//! the full timeout again (which would postpone the next timer for as long
//! as the signals keep coming).
//!
//! The storm reaches every thread of this test binary, so the binary holds
//! this one test, which runs the two schedulers one after the other.

#![cfg(any(target_os = "linux", target_os = "android"))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::time::{sleep, timeout};
use runtime_tests::{assert_bytes_eq, block_on, echo_server, pattern, Flavor};

/// The longest a storm lasts, however long its run takes: far longer than
/// the bound on a sleep, so a sleep that waits for the storm to end fails.
const STORM_LIMIT: Duration = Duration::from_secs(20);

/// The delay of every sleep and timeout under the storm.
const DELAY: Duration = Duration::from_millis(20);

/// A generous multiple of [`DELAY`]: "on time" under a loaded machine.
const ON_TIME: Duration = Duration::from_secs(2);

/// How many signals the handler ran, over all threads.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_signal: libc::c_int) {
    // An atomic add is async-signal-safe.
    RECEIVED.fetch_add(1, Ordering::Relaxed);
}

/// Installs [`count_signal`] for `SIGUSR1` without `SA_RESTART`, so that a
/// blocking system call it interrupts fails with `EINTR`.
fn install_handler() {
    // SAFETY: `sigaction` is plain old data; all-zero bytes are a valid
    // value (no flags, an empty mask once `sigemptyset` ran).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = 0; // no SA_RESTART
                         // SAFETY: `action.sa_mask` is a valid, writable sigset_t.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is a valid sigaction whose handler only touches an
    // atomic; the old action is not wanted.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
}

/// The ids of the process's threads now.
fn thread_ids() -> Vec<libc::pid_t> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// A thread that sends `SIGUSR1` to every other thread of the process,
/// round after round (about every 50 µs plus the timer slack), until stopped or
/// [`STORM_LIMIT`] has passed.
struct Storm {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<(u64, Duration)>,
}

impl Storm {
    fn start() -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("signal storm".into())
            .spawn(move || {
                // SAFETY: getpid and gettid have no preconditions.
                let (pid, me) = unsafe { (libc::getpid(), libc::gettid()) };
                let start = Instant::now();
                let mut rounds = 0u64;
                while !flag.load(Ordering::SeqCst) && start.elapsed() < STORM_LIMIT {
                    for tid in thread_ids().into_iter().filter(|&t| t != me) {
                        // SAFETY: tgkill only sends a signal; one to a
                        // thread that has exited fails with ESRCH.
                        unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                    }
                    rounds += 1;
                    thread::sleep(Duration::from_micros(50));
                }
                (rounds, start.elapsed())
            })
            .expect("spawning the storm thread");
        Storm { stop, thread }
    }

    /// Stops the storm; returns how many rounds it sent, and for how long.
    fn stop(self) -> (u64, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the storm thread panicked")
    }
}

/// Sleeps for [`DELAY`] and checks that it ended on time.
async fn sleep_on_time(what: &str) {
    let start = Instant::now();
    sleep(DELAY).await;
    let took = start.elapsed();
    assert!(took >= DELAY, "{what}: woke early, after {took:?}");
    assert!(took < ON_TIME, "{what}: a {DELAY:?} sleep took {took:?}");
}

/// One client: `rounds` messages of assorted sizes, each echoed back in
/// full before the next, with a sleep every few rounds (so that the
/// reactor also waits for timers while the signals come in).
async fn echo_client(addr: std::net::SocketAddr, id: u64, rounds: u64) -> usize {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("client {id}: connect: {e}"));
    let mut echoed = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for round in 0..rounds {
        let len = 1 + ((id * 7919 + round * 104_729) % (32 * 1024)) as usize;
        let data = pattern(len, id * 1000 + round);
        stream
            .write_all(&data)
            .await
            .unwrap_or_else(|e| panic!("client {id} round {round}: write: {e:?}"));
        stream
            .read_exact(&mut buf[..len])
            .await
            .unwrap_or_else(|e| panic!("client {id} round {round}: read: {e:?}"));
        assert_bytes_eq(&buf[..len], &data, &format!("client {id} round {round}"));
        echoed += len;
        if round % 8 == 7 {
            sleep_on_time(&format!("client {id} round {round}")).await;
        }
    }
    echoed
}

/// Echo traffic with timers, then timers alone, all under a storm.
fn under_a_storm(flavor: Flavor) {
    let storm = Storm::start();
    let received_before = RECEIVED.load(Ordering::Relaxed);
    block_on(flavor, async {
        let (addr, stats) = echo_server().await.unwrap();
        let clients: Vec<_> = (0..4)
            .map(|id| runtime::spawn(echo_client(addr, id, 64)))
            .collect();
        let mut sent = 0;
        for client in clients {
            sent += client.await.unwrap();
        }
        assert_eq!(stats.bytes.load(Ordering::SeqCst), sent, "{flavor:?}");
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0, "{flavor:?}");

        // Timers alone: nothing but the next deadline ends a wait.
        let received = RECEIVED.load(Ordering::Relaxed);
        for i in 0..10 {
            sleep_on_time(&format!("{flavor:?} sleep {i}")).await;
            let start = Instant::now();
            let never = timeout(DELAY, std::future::pending::<()>()).await;
            assert!(never.is_err(), "{flavor:?}: pending() finished");
            let took = start.elapsed();
            assert!(
                took < ON_TIME,
                "{flavor:?}: a {DELAY:?} timeout took {took:?}"
            );
        }
        assert!(
            RECEIVED.load(Ordering::Relaxed) > received,
            "{flavor:?}: no signal arrived while the timers ran"
        );
    });
    let (rounds, lasted) = storm.stop();
    let received = RECEIVED.load(Ordering::Relaxed) - received_before;
    eprintln!(
        "{flavor:?}: {rounds} storm rounds in {lasted:?} ({:.0} per second to every thread), \
         {received} signals handled",
        rounds as f64 / lasted.as_secs_f64()
    );
}

#[test]
fn signals_never_stall_timers_or_io() {
    install_handler();
    for flavor in Flavor::ALL {
        under_a_storm(flavor);
    }
}
