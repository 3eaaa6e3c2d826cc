//! Sub-millisecond sleeps do not make the reactor spin: a loop of 500 µs
//! sleeps for a second of wall time uses well under half a CPU (the wait
//! timeout is rounded up to a whole millisecond, never down to a zero,
//! busy, wait). Process CPU time comes from `getrusage(RUSAGE_SELF)`, so
//! this binary holds this one test only (nothing else burns CPU meanwhile).

use std::time::Duration;

use runtime::time::{sleep, Instant};
use runtime_tests::{block_on, Flavor};

/// CPU time of the whole process so far (user + system, all threads).
fn cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Sleeps 500 µs in a loop for `wall`, then returns (iterations, CPU used,
/// wall time taken).
fn sleep_loop(flavor: Flavor, wall: Duration) -> (u32, Duration, Duration) {
    block_on(flavor, async move {
        // Warm up (threads started, reactor running).
        sleep(Duration::from_millis(1)).await;
        let cpu0 = cpu_time();
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < wall {
            let t = Instant::now();
            sleep(Duration::from_micros(500)).await;
            assert!(t.elapsed() >= Duration::from_micros(500), "early");
            n += 1;
        }
        (n, cpu_time() - cpu0, start.elapsed())
    })
}

#[test]
fn sub_millisecond_sleeps_do_not_spin_the_reactor() {
    for flavor in Flavor::ALL {
        let (n, cpu, wall) = sleep_loop(flavor, Duration::from_secs(1));
        eprintln!("{flavor:?}: {n} sleeps of 500 µs in {wall:?}, CPU {cpu:?}");
        assert!(n > 0);
        assert!(
            cpu < wall / 2,
            "{flavor:?}: {cpu:?} of CPU during {wall:?} of 500 µs sleeps: the reactor spins"
        );
    }
}
