//! The per-worker poll-time histogram: its configuration (tokio's
//! [`HistogramConfiguration`], [`LogHistogram`], [`LogHistogramBuilder`])
//! and its buckets.
//!
//! # Bucket layouts
//!
//! - **Linear** ([`HistogramConfiguration::linear`]): bucket `i` holds
//!   `i * width .. (i + 1) * width`; the last one is open-ended (up to
//!   `u64::MAX` nanoseconds). One division per recorded poll.
//! - **Log** ([`HistogramConfiguration::log`]): the layout of an H2
//!   histogram (a base-2 log-linear histogram, like HdrHistogram's; see
//!   "H2 histogram", iop.systems). With precision `p`, values below `2^p`
//!   nanoseconds get one bucket each; above that, every power-of-two range
//!   `2^h .. 2^(h+1)` is cut into `2^p` equal buckets, so a bucket is at
//!   most `2^-p` of its start wide (the relative error). Buckets that end
//!   at or below `min_value` are merged into bucket 0, and everything from
//!   the first boundary at or above `max_value` on is the last,
//!   open-ended bucket. Recording a poll is a leading-zeros count and two
//!   shifts.
//!
//! # Writing
//!
//! Each worker has its own buckets, in 128-byte aligned chunks so that no
//! two workers' buckets share a cache line; only that worker writes them,
//! with a `Relaxed` load and store (no read-modify-write), as the other
//! per-worker counters.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::shim::{AtomicU64, Ordering};

/// The finest precision [`LogHistogramBuilder`] accepts (`2^-10`, about
/// 0.1 %).
const MAX_PRECISION: u32 = 10;

/// Nanoseconds in `d`, saturating at `u64::MAX`.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How the poll-time histogram divides durations into buckets, for
/// [`Builder::metrics_poll_time_histogram_configuration`].
///
/// Read back with
/// [`RuntimeMetrics::poll_time_histogram_bucket_range`](crate::metrics::RuntimeMetrics::poll_time_histogram_bucket_range).
/// As tokio's, but without `tokio_unstable`.
///
/// [`Builder::metrics_poll_time_histogram_configuration`]: crate::Builder::metrics_poll_time_histogram_configuration
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::HistogramConfiguration;
///
/// let rt = runtime::Builder::new_current_thread()
///     .enable_metrics_poll_time_histogram()
///     .metrics_poll_time_histogram_configuration(HistogramConfiguration::linear(
///         Duration::from_millis(1),
///         4,
///     ))
///     .build()
///     .unwrap();
/// let m = rt.handle().metrics();
/// assert_eq!(m.poll_time_histogram_num_buckets(), 4);
/// assert_eq!(
///     m.poll_time_histogram_bucket_range(1),
///     Duration::from_millis(1)..Duration::from_millis(2)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistogramConfiguration {
    pub(crate) shape: Shape,
}

impl HistogramConfiguration {
    /// Buckets `bucket_width` wide: bucket `i` holds polls that took
    /// `i * bucket_width` up to `(i + 1) * bucket_width`, and the last
    /// bucket everything from `(num_buckets - 1) * bucket_width` on.
    ///
    /// # Panics
    ///
    /// If `bucket_width` is zero or `num_buckets` is zero (tokio would
    /// fail later, dividing by zero).
    #[track_caller]
    pub fn linear(bucket_width: Duration, num_buckets: usize) -> Self {
        let width = nanos(bucket_width);
        assert!(width > 0, "histogram bucket_width must be at least 1ns");
        assert!(num_buckets > 0, "a histogram needs at least one bucket");
        HistogramConfiguration {
            shape: Shape::Linear { width, num_buckets },
        }
    }

    /// Log-scaled buckets (see [`LogHistogramBuilder`] for the layout and
    /// the defaults).
    pub fn log(configuration: impl Into<LogHistogram>) -> Self {
        HistogramConfiguration {
            shape: Shape::Log(configuration.into()),
        }
    }
}

impl Default for HistogramConfiguration {
    /// tokio's default: 10 linear buckets of 100 µs.
    fn default() -> Self {
        HistogramConfiguration::linear(Duration::from_micros(100), 10)
    }
}

/// A log-scaled bucket layout, from [`LogHistogram::builder`] (see
/// [`LogHistogramBuilder`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::LogHistogram;
///
/// // Each bucket twice as wide as the one before, from 1 µs to 1 ms.
/// let h = LogHistogram::builder()
///     .precision_exact(0)
///     .min_value(Duration::from_nanos(1024))
///     .max_value(Duration::from_nanos(1 << 20))
///     .build();
/// assert_eq!(h.max_value(), 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHistogram {
    /// Precision: `2^p` buckets per power of two.
    p: u32,
    /// The fine index (see [`fine_index`]) of the last fine bucket merged
    /// into bucket 0: bucket `b > 0` is fine bucket `b + offset`.
    offset: u64,
    num_buckets: usize,
}

/// The index of `v` in the unmerged layout of precision `p`.
fn fine_index(v: u64, p: u32) -> u64 {
    if v < 1 << p {
        return v;
    }
    let h = 63 - v.leading_zeros();
    let group = u64::from(h - p + 1);
    // `v >> (h - p)` is in `2^p .. 2^(p+1)`: its low bits pick the bucket
    // within the group.
    (group << p) + ((v >> (h - p)) - (1 << p))
}

/// Where fine bucket `i` of precision `p` begins (saturating).
fn fine_start(i: u64, p: u32) -> u64 {
    if i < 1 << p {
        return i;
    }
    let group = i >> p;
    let within = i & ((1 << p) - 1);
    let h = group + u64::from(p) - 1;
    if h >= 64 {
        return u64::MAX;
    }
    (1u64 << h) + (within << (group - 1))
}

impl LogHistogram {
    /// A builder, with tokio's defaults (see [`LogHistogramBuilder`]).
    pub fn builder() -> LogHistogramBuilder {
        LogHistogramBuilder::default()
    }

    /// The smallest duration, in nanoseconds, that lands in the last,
    /// open-ended bucket: longer polls are counted there without being told
    /// apart.
    pub fn max_value(&self) -> u64 {
        self.range(self.num_buckets - 1).start
    }

    fn bucket_of(&self, v: u64) -> usize {
        let b = fine_index(v, self.p).saturating_sub(self.offset);
        (b as usize).min(self.num_buckets - 1)
    }

    fn range(&self, bucket: usize) -> Range<u64> {
        let start = match bucket {
            0 => 0,
            b => fine_start(b as u64 + self.offset, self.p),
        };
        let end = if bucket + 1 == self.num_buckets {
            u64::MAX
        } else {
            fine_start(bucket as u64 + 1 + self.offset, self.p)
        };
        start..end
    }
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogramBuilder::default().build()
    }
}

/// Configures a [`LogHistogram`].
///
/// The layout is an H2 (log-linear) histogram: with precision `p`, each
/// power-of-two range of durations is cut into `2^p` equal buckets, so a
/// bucket is never wider than `2^-p` of where it starts. Bucket 0 holds
/// everything below the first bucket boundary at or under
/// [`min_value`](Self::min_value); the last bucket holds everything from
/// the first boundary at or above [`max_value`](Self::max_value) on. The
/// bucket count follows from the three settings; [`max_buckets`](Self::max_buckets)
/// refuses a layout that needs more than a limit.
///
/// Defaults (tokio's): `min_value` 100 ns, `max_value` 60 s, a maximum
/// error of 25 % (`p = 2`), which makes 119 buckets here.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::{HistogramConfiguration, LogHistogram};
///
/// let log = LogHistogram::builder()
///     .min_value(Duration::from_micros(10))
///     .max_value(Duration::from_secs(1))
///     .max_error(0.1)
///     .max_buckets(512)
///     .expect("fits in 512 buckets");
/// let rt = runtime::Builder::new_multi_thread()
///     .enable_metrics_poll_time_histogram()
///     .metrics_poll_time_histogram_configuration(HistogramConfiguration::log(log))
///     .build()
///     .unwrap();
/// let m = rt.handle().metrics();
/// let n = m.poll_time_histogram_num_buckets();
/// assert!(m.poll_time_histogram_bucket_range(n - 1).start >= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LogHistogramBuilder {
    min_value: Option<Duration>,
    max_value: Option<Duration>,
    precision: Option<u32>,
}

impl LogHistogramBuilder {
    /// The largest relative error accepted: the precision becomes the
    /// smallest `p` (at most 10) with `2^-p <= max_error`. Default 0.25.
    ///
    /// # Panics
    ///
    /// Unless `0 < max_error < 1`.
    #[track_caller]
    pub fn max_error(mut self, max_error: f64) -> Self {
        assert!(
            max_error > 0.0 && max_error < 1.0,
            "max_error must be between 0 and 1 (exclusive), got {max_error}"
        );
        let mut p = 0;
        while p < MAX_PRECISION && 0.5f64.powi(p as i32) > max_error {
            p += 1;
        }
        self.precision = Some(p);
        self
    }

    /// Sets the precision `p` itself: `2^p` buckets per power of two.
    /// `0` makes every bucket twice as wide as the one before.
    ///
    /// # Panics
    ///
    /// If `p > 10`.
    #[track_caller]
    pub fn precision_exact(mut self, p: u32) -> Self {
        assert!(
            p <= MAX_PRECISION,
            "precision must be at most {MAX_PRECISION}, got {p}"
        );
        self.precision = Some(p);
        self
    }

    /// The resolution at the short end: bucket 0 ends at or below this
    /// (default 100 ns). Raising it saves buckets.
    pub fn min_value(mut self, duration: Duration) -> Self {
        self.min_value = Some(duration);
        self
    }

    /// Durations from here on (rounded up to a bucket boundary) share the
    /// last bucket (default 60 s).
    ///
    /// # Panics
    ///
    /// If `duration` is zero.
    #[track_caller]
    pub fn max_value(mut self, duration: Duration) -> Self {
        assert!(!duration.is_zero(), "max_value must be greater than zero");
        self.max_value = Some(duration);
        self
    }

    /// Builds the layout, or fails if it needs more than `max_buckets`
    /// buckets.
    ///
    /// # Errors
    ///
    /// [`InvalidHistogramConfiguration::TooManyBuckets`], with the count
    /// the layout would need.
    pub fn max_buckets(
        &mut self,
        max_buckets: usize,
    ) -> Result<LogHistogram, InvalidHistogramConfiguration> {
        let h = self.build();
        if h.num_buckets > max_buckets {
            return Err(InvalidHistogramConfiguration::TooManyBuckets {
                required_bucket_count: h.num_buckets,
            });
        }
        Ok(h)
    }

    /// Builds the layout.
    pub fn build(&self) -> LogHistogram {
        let p = self.precision.unwrap_or(2);
        let min = nanos(self.min_value.unwrap_or(Duration::from_nanos(100)));
        let max = nanos(self.max_value.unwrap_or(Duration::from_secs(60)));
        // Bucket 0 ends where `min`'s fine bucket begins (at or below it).
        let offset = fine_index(min, p).saturating_sub(1);
        // The last bucket begins at the first boundary at or above `max`.
        let at_max = fine_index(max, p);
        let last = if fine_start(at_max, p) >= max || fine_start(at_max + 1, p) == u64::MAX {
            at_max
        } else {
            at_max + 1
        };
        // At least two buckets, even when `max` is below `min`.
        let last = last.max(offset + 1);
        LogHistogram {
            p,
            offset,
            num_buckets: (last - offset + 1) as usize,
        }
    }
}

impl From<LogHistogramBuilder> for LogHistogram {
    fn from(b: LogHistogramBuilder) -> LogHistogram {
        b.build()
    }
}

/// A [`LogHistogramBuilder`] setting that cannot be met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidHistogramConfiguration {
    /// The layout needs more buckets than the limit given to
    /// [`LogHistogramBuilder::max_buckets`].
    TooManyBuckets {
        /// How many it needs.
        required_bucket_count: usize,
    },
}

impl fmt::Display for InvalidHistogramConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidHistogramConfiguration::TooManyBuckets {
                required_bucket_count,
            } => write!(
                f,
                "the histogram configuration needs {required_bucket_count} buckets, more than allowed"
            ),
        }
    }
}

impl std::error::Error for InvalidHistogramConfiguration {}

/// A bucket layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Linear { width: u64, num_buckets: usize },
    Log(LogHistogram),
}

impl Shape {
    pub(crate) fn num_buckets(&self) -> usize {
        match self {
            Shape::Linear { num_buckets, .. } => *num_buckets,
            Shape::Log(h) => h.num_buckets,
        }
    }

    /// The bucket of a poll that took `ns` nanoseconds.
    pub(crate) fn bucket_of(&self, ns: u64) -> usize {
        match self {
            Shape::Linear { width, num_buckets } => ((ns / width) as usize).min(num_buckets - 1),
            Shape::Log(h) => h.bucket_of(ns),
        }
    }

    /// The nanoseconds bucket `bucket` holds.
    ///
    /// # Panics
    ///
    /// If `bucket >= num_buckets()`.
    #[track_caller]
    pub(crate) fn range(&self, bucket: usize) -> Range<u64> {
        let n = self.num_buckets();
        assert!(
            bucket < n,
            "histogram bucket {bucket} out of range: there are {n} buckets"
        );
        match self {
            Shape::Linear { width, .. } => {
                let start = width.saturating_mul(bucket as u64);
                let end = if bucket + 1 == n {
                    u64::MAX
                } else {
                    width.saturating_mul(bucket as u64 + 1)
                };
                start..end
            }
            Shape::Log(h) => h.range(bucket),
        }
    }
}

/// Counters per chunk: 16 of 8 bytes, one 128-byte aligned block.
const CHUNK: usize = 16;

/// 16 bucket counters on their own pair of cache lines.
#[repr(align(128))]
struct Chunk([AtomicU64; CHUNK]);

/// One worker's buckets (written by that worker only).
pub(crate) struct Buckets {
    shape: Shape,
    chunks: Box<[Chunk]>,
}

impl Buckets {
    pub(crate) fn new(shape: Shape) -> Buckets {
        let chunks = shape.num_buckets().div_ceil(CHUNK);
        Buckets {
            shape,
            chunks: (0..chunks)
                .map(|_| Chunk(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }

    pub(crate) fn shape(&self) -> &Shape {
        &self.shape
    }

    fn counter(&self, bucket: usize) -> &AtomicU64 {
        &self.chunks[bucket / CHUNK].0[bucket % CHUNK]
    }

    /// Counts one poll of `ns` nanoseconds (owner only).
    pub(crate) fn record(&self, ns: u64) {
        let c = self.counter(self.shape.bucket_of(ns));
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// The polls counted in `bucket`.
    ///
    /// # Panics
    ///
    /// If `bucket` is out of range.
    #[track_caller]
    pub(crate) fn count(&self, bucket: usize) -> u64 {
        let n = self.shape.num_buckets();
        assert!(
            bucket < n,
            "histogram bucket {bucket} out of range: there are {n} buckets"
        );
        self.counter(bucket).load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    /// Every value lands in a bucket whose range holds it, the ranges tile
    /// `0..u64::MAX` without gaps, and (log) no bucket in the measured
    /// range is wider than `2^-p` of its start.
    fn check(shape: Shape, values: impl Iterator<Item = u64>) {
        let n = shape.num_buckets();
        assert_eq!(shape.range(0).start, 0);
        assert_eq!(shape.range(n - 1).end, u64::MAX);
        for b in 1..n {
            assert_eq!(
                shape.range(b - 1).end,
                shape.range(b).start,
                "{shape:?} {b}"
            );
            assert!(shape.range(b).start < shape.range(b).end);
        }
        for v in values {
            let b = shape.bucket_of(v);
            assert!(
                shape.range(b).contains(&v),
                "{v} not in bucket {b} of {shape:?}"
            );
        }
        if let Shape::Log(h) = shape {
            for b in 1..n - 1 {
                let r = shape.range(b);
                assert!((r.end - r.start) << h.p <= r.start.max(1 << h.p), "{r:?}");
            }
        }
    }

    fn samples() -> impl Iterator<Item = u64> {
        (0..2000u64)
            .chain((0..63).flat_map(|s| [1u64 << s, (1u64 << s) - 1, (1u64 << s) + 1]))
            // `u64::MAX` itself is the open end of the last range.
            .chain([u64::MAX - 1, 99, 100, 101, 60_000_000_000])
    }

    #[test]
    fn linear_layout() {
        let s = HistogramConfiguration::linear(Duration::from_micros(100), 10).shape;
        assert_eq!(s.num_buckets(), 10);
        assert_eq!(s.range(0), 0..100_000);
        assert_eq!(s.range(9), 900_000..u64::MAX);
        assert_eq!(s.bucket_of(250_000), 2);
        assert_eq!(s.bucket_of(u64::MAX), 9);
        check(s, samples());
    }

    #[test]
    fn log_layouts() {
        for p in 0..=MAX_PRECISION {
            for (min, max) in [(0, 1), (1, 1000), (100, 60_000_000_000), (1 << 20, 3 << 30)] {
                let h = LogHistogram::builder()
                    .precision_exact(p)
                    .min_value(Duration::from_nanos(min))
                    .max_value(Duration::from_nanos(max))
                    .build();
                check(Shape::Log(h), samples());
                assert!(h.max_value() >= max, "{h:?}");
                assert!(h.range(1).start <= min.max(1), "{h:?}");
            }
        }
    }

    #[test]
    fn log_doubling_layout() {
        let h = LogHistogram::builder()
            .precision_exact(0)
            .min_value(Duration::from_nanos(1024))
            .max_value(Duration::from_nanos(16384))
            .build();
        let ranges: Vec<_> = (0..h.num_buckets).map(|b| h.range(b)).collect();
        assert_eq!(
            ranges,
            [
                0..1024,
                1024..2048,
                2048..4096,
                4096..8192,
                8192..16384,
                16384..u64::MAX
            ]
        );
    }

    #[test]
    fn log_defaults() {
        let h = LogHistogram::default();
        assert_eq!(h.p, 2);
        assert_eq!(h.num_buckets, 119);
        assert!(h.range(0).end <= 100);
        assert!(h.max_value() >= 60_000_000_000);
    }

    #[test]
    fn max_error_picks_the_precision() {
        let p = |e| LogHistogram::builder().max_error(e).build().p;
        assert_eq!(p(0.5), 1);
        assert_eq!(p(0.25), 2);
        assert_eq!(p(0.1), 4);
        assert_eq!(p(1e-9), MAX_PRECISION);
    }

    #[test]
    fn too_many_buckets_is_an_error() {
        let err = LogHistogram::builder()
            .precision_exact(10)
            .max_buckets(10)
            .unwrap_err();
        let InvalidHistogramConfiguration::TooManyBuckets {
            required_bucket_count,
        } = err;
        assert!(required_bucket_count > 10);
    }

    #[test]
    fn buckets_count_per_bucket() {
        let b = Buckets::new(HistogramConfiguration::linear(Duration::from_nanos(10), 40).shape);
        for v in [0, 5, 15, 399, 400, 10_000] {
            b.record(v);
        }
        assert_eq!(b.count(0), 2);
        assert_eq!(b.count(1), 1);
        assert_eq!(b.count(39), 3);
        assert_eq!((0..40).map(|i| b.count(i)).sum::<u64>(), 6);
    }
}
