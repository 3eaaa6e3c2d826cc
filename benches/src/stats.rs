//! Timing: wall and CPU time of a piece of work, and medians.

use std::time::{Duration, Instant};

/// What one measurement took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Elapsed wall-clock time.
    pub wall: Duration,
    /// CPU time of the whole process (all threads, user + system) over the
    /// same span; see [`cpu_time`].
    pub cpu: Duration,
}

impl Sample {
    /// This sample divided by `n` (e.g. per iteration); `n == 0` counts as 1.
    pub fn per(self, n: u32) -> Sample {
        let n = n.max(1);
        Sample {
            wall: self.wall / n,
            cpu: self.cpu / n,
        }
    }
}

/// CPU time used so far by this process, all threads, user plus system
/// (`getrusage(RUSAGE_SELF)`); zero if the call fails.
pub fn cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data, for which all-zero bytes are a
    // valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` that outlives the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs `f` and returns its result with the wall and CPU time it took.
///
/// # Examples
///
/// ```
/// let ((), s) = runtime_benches::stats::measure(|| std::thread::sleep(std::time::Duration::from_millis(1)));
/// assert!(s.wall >= std::time::Duration::from_millis(1));
/// ```
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Sample) {
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let r = f();
    let wall = t0.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    (r, Sample { wall, cpu })
}

/// The median of `xs` (the mean of the two middle values for an even
/// count); zero for an empty slice.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime_benches::stats::median;
///
/// let ms = Duration::from_millis;
/// assert_eq!(median(&[ms(3), ms(1), ms(2)]), ms(2));
/// assert_eq!(median(&[ms(4), ms(1), ms(2), ms(3)]), Duration::from_micros(2500));
/// ```
pub fn median(xs: &[Duration]) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    let mut v = xs.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2
    }
}
