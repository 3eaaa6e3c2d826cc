//! A log-linear latency histogram (the HdrHistogram shape, written out
//! small): values in nanoseconds, each power of two split into
//! [`SUB_BUCKETS`] equal buckets, so every recorded value is known to within
//! 1/64 (1.6 %) — plenty for p50/p99/p999 — in a fixed 32 KiB table, with
//! O(1) recording and no allocation after construction.

use std::fmt;
use std::time::Duration;

/// Buckets per power of two (a power of two itself).
pub const SUB_BUCKETS: usize = 64;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Powers of two covered: 2^0 to 2^(POWERS + SUB_BITS - 1) ns, over 30 minutes.
const POWERS: usize = 36;

/// Counts of nanosecond values in log-linear buckets.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime_benches::hist::Histogram;
///
/// let mut h = Histogram::new();
/// for us in 1..=1000 {
///     h.record(Duration::from_micros(us));
/// }
/// let p50 = h.percentile(50.0).as_micros() as f64;
/// assert!((p50 - 500.0).abs() / 500.0 < 0.02);
/// assert_eq!(h.count(), 1000);
/// ```
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.total)
            .field("p50", &self.percentile(50.0))
            .field("p99", &self.percentile(99.0))
            .field("max", &Duration::from_nanos(self.max))
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; POWERS * SUB_BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }

    /// The bucket of `v`: values below `SUB_BUCKETS` map to themselves;
    /// above, the top `SUB_BITS + 1` significant bits pick the bucket.
    fn index(v: u64) -> usize {
        if v < SUB_BUCKETS as u64 {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - SUB_BITS;
        let power = shift as usize + 1;
        let sub = (v >> shift) as usize - SUB_BUCKETS;
        (power * SUB_BUCKETS + sub).min(POWERS * SUB_BUCKETS - 1)
    }

    /// The middle of bucket `i`'s value range.
    fn value_of(i: usize) -> u64 {
        let power = i / SUB_BUCKETS;
        let sub = (i % SUB_BUCKETS) as u64;
        if power == 0 {
            return sub;
        }
        let shift = power as u32 - 1;
        ((SUB_BUCKETS as u64 + sub) << shift) + ((1u64 << shift) >> 1)
    }

    /// Records one value.
    pub fn record(&mut self, d: Duration) {
        let v = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (exact).
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The value at percentile `p` (0 to 100), to within the bucket
    /// width; zero when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(Self::value_of(i).min(self.max));
            }
        }
        Duration::from_nanos(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (1..10_000_000u64).step_by(997) {
            let i = Histogram::index(v);
            assert!(i >= last, "index not monotonic at {v}");
            last = i;
            let mid = Histogram::value_of(i) as f64;
            assert!(
                (mid - v as f64).abs() / (v as f64) <= 1.0 / 64.0,
                "{v} -> {mid}"
            );
        }
    }

    #[test]
    fn percentiles_of_two_values() {
        let mut h = Histogram::new();
        for _ in 0..99 {
            h.record(Duration::from_micros(10));
        }
        h.record(Duration::from_millis(5));
        assert!(h.percentile(99.0) < Duration::from_micros(11));
        assert!(h.percentile(99.9) > Duration::from_millis(4));
        assert_eq!(h.max(), Duration::from_millis(5));
        let mut g = Histogram::new();
        g.merge(&h);
        assert_eq!(g.count(), 100);
    }

    #[test]
    fn huge_values_saturate() {
        let mut h = Histogram::new();
        h.record(Duration::from_secs(1 << 40));
        assert_eq!(h.count(), 1);
        assert!(h.percentile(50.0) > Duration::ZERO);
    }
}
