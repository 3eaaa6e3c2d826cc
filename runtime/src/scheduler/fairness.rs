//! How often a scheduler thread looks at its injector (the queue of tasks
//! spawned or woken from other threads) before its own queue.
//!
//! A thread with local work takes its own tasks first (they are hot in its
//! caches) and looks at the injector first only every `interval` polls, so
//! a remote task cannot starve. A fixed interval counts polls, but what a
//! remote task suffers is *time*: 31 polls of 100 ns are 3 µs, 31 polls of
//! 1 ms are 31 ms. So the interval follows the cost of a poll, as tokio
//! tunes its global queue interval: `interval = TARGET / average poll
//! time`, clamped to `[MIN_INTERVAL, MAX_INTERVAL]`.
//!
//! - [`TARGET`] is 40 µs of local work: with 5 µs polls a remote task waits
//!   at most 8 of them, with 1 ms polls 2 (the floor). A look at an empty
//!   injector costs a few atomic loads, nothing next to 40 µs of work, so a
//!   short target is cheap; and it keeps a remote wake-up's wait in the
//!   range of a reactor poll's, instead of letting it grow with the polls.
//! - [`MIN_INTERVAL`] is 2, not 1: with the injector first on every poll, a
//!   flood of remote tasks would starve the local queue instead.
//! - [`MAX_INTERVAL`] is 127: below it, short polls make the looks rare
//!   already (127 polls of 100 ns are 13 µs).
//! - The average is an exponentially weighted moving average over batches,
//!   one batch being the polls between two forced looks: each new batch's
//!   mean counts for [`EWMA_WEIGHT`] (1/8). A batch is about `TARGET` of
//!   work, so the average forgets a change of workload within a few hundred
//!   microseconds; yet one odd batch (a poll that page-faulted, a
//!   preemption) moves it by an eighth only. Slow polls pull it up in one
//!   batch: one batch of 1 ms polls after an average of 100 ns makes the
//!   average 125 µs and the interval the floor.
//!
//! Cost: one clock read per forced look, that is per `interval` polls (one
//! per 127 polls when polls are short, where it would show), and none per
//! poll. A batch that spans a park is not measured (the sleep is not
//! work): parking drops the batch, and the next forced look starts one.

use std::time::{Duration, Instant};

/// The local work a remote task should wait for at most, roughly.
pub(crate) const TARGET: Duration = Duration::from_micros(40);
/// The fewest polls between forced looks.
pub(crate) const MIN_INTERVAL: u32 = 2;
/// The most polls between forced looks.
pub(crate) const MAX_INTERVAL: u32 = 127;
/// Where the interval starts, before anything is measured (the fixed
/// interval the schedulers used before it adapted).
const INITIAL_INTERVAL: u32 = 31;
/// The weight of each batch's mean in the moving average, as a shift
/// (`1 >> 3`: one eighth).
const EWMA_WEIGHT: u32 = 3;

/// A scheduler thread's injector interval and the poll-time average behind
/// it.
#[derive(Debug)]
pub(crate) struct InjectorInterval {
    /// Polls between forced looks at the injector, from `poll_ns`.
    interval: u32,
    /// Polls since the last forced look.
    since_look: u32,
    /// Moving average of one poll's duration, in nanoseconds.
    poll_ns: u64,
    /// When the last forced look happened, if the thread has not parked
    /// since: the start of the batch being measured.
    batch_start: Option<Instant>,
    /// Whether `interval` follows the poll time (false: fixed by
    /// `Builder::global_queue_interval`, and no clock is read).
    adaptive: bool,
    /// Set when a forced look measured a batch: `poll_ns` is new.
    measured: bool,
}

impl InjectorInterval {
    /// An interval that adapts, or a `fixed` one.
    pub(crate) fn new(fixed: Option<u32>) -> InjectorInterval {
        InjectorInterval {
            interval: fixed.unwrap_or(INITIAL_INTERVAL),
            since_look: 0,
            poll_ns: TARGET.as_nanos() as u64 / u64::from(INITIAL_INTERVAL),
            batch_start: None,
            adaptive: fixed.is_none(),
            measured: false,
        }
    }

    /// Counts one task poll.
    #[inline]
    pub(crate) fn polled(&mut self) {
        self.since_look = self.since_look.saturating_add(1);
    }

    /// Whether the injector is due for a look before the local queue
    /// (without counting a look).
    #[inline]
    pub(crate) fn is_due(&self) -> bool {
        self.since_look >= self.interval
    }

    /// Whether the injector is due for a look before the local queue. If
    /// so, the look is counted (and the batch it ends measured).
    #[inline]
    pub(crate) fn look_due(&mut self) -> bool {
        if !self.is_due() {
            return false;
        }
        if self.adaptive {
            self.forced_look(Instant::now());
        } else {
            self.since_look = 0;
        }
        true
    }

    fn forced_look(&mut self, now: Instant) {
        if let Some(start) = self.batch_start {
            let polls = u64::from(self.since_look.max(1));
            let mean = (now.saturating_duration_since(start).as_nanos() as u64) / polls;
            // poll_ns += (mean - poll_ns) / 8, in unsigned arithmetic.
            self.poll_ns = self.poll_ns - (self.poll_ns >> EWMA_WEIGHT) + (mean >> EWMA_WEIGHT);
            self.interval = interval_for(self.poll_ns);
            self.measured = true;
        }
        self.batch_start = Some(now);
        self.since_look = 0;
    }

    /// The moving average of one poll's duration in nanoseconds, if a
    /// batch was measured since the last call (for the metrics'
    /// `worker_mean_poll_time`, published after a look).
    #[inline]
    pub(crate) fn new_mean_poll_ns(&mut self) -> Option<u64> {
        std::mem::take(&mut self.measured).then_some(self.poll_ns)
    }

    /// The thread is going to sleep: the batch in progress is not measured.
    #[inline]
    pub(crate) fn parked(&mut self) {
        self.batch_start = None;
    }

    /// The current interval (for tests).
    #[cfg(test)]
    pub(crate) fn interval(&self) -> u32 {
        self.interval
    }
}

/// The interval for an average poll of `poll_ns` nanoseconds.
fn interval_for(poll_ns: u64) -> u32 {
    let polls = TARGET.as_nanos() as u64 / poll_ns.max(1);
    polls.clamp(u64::from(MIN_INTERVAL), u64::from(MAX_INTERVAL)) as u32
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    /// Feeds `batches` batches of polls of `poll` each, with a synthetic
    /// clock, and returns the interval reached.
    fn settle(iv: &mut InjectorInterval, poll: Duration, batches: usize) -> u32 {
        let mut now = Instant::now();
        iv.forced_look(now);
        for _ in 0..batches {
            let n = iv.interval;
            for _ in 0..n {
                iv.polled();
            }
            now += poll * n;
            assert!(iv.since_look >= iv.interval);
            iv.forced_look(now);
        }
        iv.interval()
    }

    #[test]
    fn interval_follows_poll_time() {
        let mut iv = InjectorInterval::new(None);
        assert_eq!(iv.interval(), INITIAL_INTERVAL);
        assert_eq!(settle(&mut iv, Duration::from_micros(5), 64), 8);
        assert_eq!(settle(&mut iv, Duration::from_millis(1), 1), MIN_INTERVAL);
        assert_eq!(
            settle(&mut iv, Duration::from_nanos(100), 128),
            MAX_INTERVAL
        );
        assert_eq!(settle(&mut iv, Duration::from_micros(20), 64), 2);
    }

    #[test]
    fn one_slow_batch_is_enough_to_shorten_the_interval() {
        let mut iv = InjectorInterval::new(None);
        settle(&mut iv, Duration::from_nanos(100), 128);
        assert_eq!(settle(&mut iv, Duration::from_millis(1), 1), MIN_INTERVAL);
    }

    #[test]
    fn a_batch_across_a_park_is_not_measured() {
        let mut iv = InjectorInterval::new(None);
        let now = Instant::now();
        iv.forced_look(now);
        for _ in 0..INITIAL_INTERVAL {
            iv.polled();
        }
        iv.parked();
        // A long sleep, then the forced look: no measurement.
        iv.forced_look(now + Duration::from_secs(1));
        assert_eq!(iv.interval(), INITIAL_INTERVAL);
    }

    #[test]
    fn look_due_counts_polls() {
        let mut iv = InjectorInterval::new(None);
        for _ in 0..INITIAL_INTERVAL - 1 {
            iv.polled();
            assert!(!iv.look_due());
        }
        iv.polled();
        assert!(iv.look_due());
        assert!(!iv.look_due(), "the look resets the count");
    }

    #[test]
    fn a_fixed_interval_never_moves() {
        let mut iv = InjectorInterval::new(Some(5));
        for _ in 0..3 {
            for _ in 0..4 {
                iv.polled();
                assert!(!iv.look_due());
            }
            iv.polled();
            assert!(iv.look_due(), "every fifth poll");
        }
        // Whatever the polls cost.
        std::thread::sleep(Duration::from_millis(2));
        for _ in 0..5 {
            iv.polled();
        }
        assert!(iv.look_due());
        assert_eq!(iv.interval(), 5);
        assert!(iv.batch_start.is_none(), "no clock is read");
    }
}
