//! CPU checks for the adversarial tests (`adv_*.rs`) and the soak binary:
//! the process's CPU time against wall time, to tell "parked" from
//! "spinning" without any latency threshold.

use std::io;
use std::time::Duration;

/// The CPU time (user + system) this process has used so far
/// (`getrusage(RUSAGE_SELF)`), over all its threads.
///
/// # Panics
///
/// If `getrusage` fails.
pub fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` points to writable memory of the right size.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage: {}", io::Error::last_os_error());
    // SAFETY: zero-initialised, and filled in by a successful getrusage.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Measures the CPU time the whole process spends over a stretch of wall
/// time, to tell "parked" from "spinning" without any latency threshold.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    cpu: Duration,
    wall: std::time::Instant,
}

/// What a [`CpuMeter`] saw.
#[derive(Debug, Clone, Copy)]
pub struct CpuUsage {
    /// Process CPU time (user + system, every thread) over the interval.
    pub cpu: Duration,
    /// Wall time of the interval.
    pub wall: Duration,
}

impl CpuUsage {
    /// CPU time as a fraction of one core over the interval (1.0: one core
    /// busy the whole time).
    pub fn cores(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

impl CpuMeter {
    /// Starts measuring now.
    pub fn start() -> CpuMeter {
        CpuMeter {
            cpu: process_cpu_time(),
            wall: std::time::Instant::now(),
        }
    }

    /// CPU and wall time since [`start`](CpuMeter::start).
    pub fn read(&self) -> CpuUsage {
        CpuUsage {
            cpu: process_cpu_time().saturating_sub(self.cpu),
            wall: self.wall.elapsed(),
        }
    }
}

/// Asserts that the process used less than `max_cores` of one core over the
/// interval `usage` describes; `what` says what should have been idle.
///
/// # Panics
///
/// If it used more.
#[track_caller]
pub fn assert_idle(usage: CpuUsage, max_cores: f64, what: &str) {
    assert!(
        usage.cores() < max_cores,
        "{what}: the process used {:?} of CPU in {:?} of wall time ({:.0} % of one core, \
         limit {:.0} %): something is spinning",
        usage.cpu,
        usage.wall,
        usage.cores() * 100.0,
        max_cores * 100.0
    );
}
