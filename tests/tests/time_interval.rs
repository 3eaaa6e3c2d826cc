//! `interval` and `interval_at` on both schedulers: the first tick is
//! immediate, later ones are never early, and after the task falls behind
//! the ticks burst, skip or delay as configured (checked on the instants the
//! ticks report, with only "not before" bounds on wall time).

use std::time::Duration;

use runtime::time::{interval, interval_at, Instant, MissedTickBehavior};
use runtime_tests::{block_on, flavor_tests, Flavor};

const PERIOD: Duration = Duration::from_millis(10);

/// An interval of `PERIOD` from now with `behavior`, its first tick taken
/// (on time: within the 5 ms after which a tick counts as missed, so the
/// second is due at `start + PERIOD`). On a loaded machine the first tick
/// can itself be late, which would move the schedule; then it starts over
/// (bounded).
async fn started_on_time(behavior: MissedTickBehavior) -> (Instant, runtime::time::Interval) {
    for _ in 0..100 {
        let start = Instant::now();
        let mut iv = interval_at(start, PERIOD);
        iv.set_missed_tick_behavior(behavior);
        assert_eq!(iv.tick().await, start);
        if Instant::now() <= start + Duration::from_millis(5) {
            return (start, iv);
        }
    }
    panic!("the first tick was late in each of 100 tries");
}

/// Blocks the task's thread (a task that falls behind its interval).
fn fall_behind(d: Duration) {
    std::thread::sleep(d);
}

fn ticks_are_on_schedule_and_never_early(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let mut iv = interval_at(start, Duration::from_millis(3));
        assert_eq!(iv.period(), Duration::from_millis(3));
        assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
        for n in 0..20u32 {
            let due = iv.tick().await;
            assert_eq!(due, start + Duration::from_millis(3) * n, "tick {n}");
            assert!(Instant::now() >= due, "tick {n} early");
        }
    });
}

fn the_first_tick_is_immediate(flavor: Flavor) {
    block_on(flavor, async {
        let before = Instant::now();
        let mut iv = interval(Duration::from_secs(3600));
        let first = iv.tick().await;
        assert!(first >= before);
        // The next one is a period later: not ready now.
        let next = runtime::time::timeout(Duration::from_millis(20), iv.tick()).await;
        assert!(next.is_err());
    });
}

fn one_ms_interval_ticks_at_one_ms(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let mut iv = interval(Duration::from_millis(1));
        for _ in 0..50 {
            iv.tick().await;
        }
        // 50 ticks: the first at once, then 49 periods.
        assert!(start.elapsed() >= Duration::from_millis(49));
    });
}

fn burst_catches_up_on_the_original_schedule(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let mut iv = interval_at(start, PERIOD);
        iv.set_missed_tick_behavior(MissedTickBehavior::Burst);
        assert_eq!(iv.tick().await, start);
        fall_behind(PERIOD * 5 + PERIOD / 2);
        // Every missed tick is delivered, each with its own due instant.
        for n in 1..=8u32 {
            let due = iv.tick().await;
            assert_eq!(due, start + PERIOD * n);
            assert!(Instant::now() >= due);
        }
    });
}

fn skip_drops_missed_ticks_and_keeps_the_grid(flavor: Flavor) {
    block_on(flavor, async {
        let (start, mut iv) = started_on_time(MissedTickBehavior::Skip).await;
        fall_behind(PERIOD * 5 + PERIOD / 2);
        // The late tick is delivered once...
        let late = iv.tick().await;
        let taken = Instant::now();
        assert_eq!(late, start + PERIOD);
        // ...then the next one is the next grid point after it was taken:
        // the ones in between are skipped.
        let next = iv.tick().await;
        let offset = next - start;
        assert_eq!(offset.as_nanos() % PERIOD.as_nanos(), 0, "off the grid");
        assert!(
            offset >= PERIOD * 6,
            "a missed tick was delivered: {offset:?}"
        );
        assert!(next <= taken + PERIOD, "a grid tick was skipped needlessly");
        // Still on the grid afterwards (the exact next point depends on
        // how late this task runs on a loaded machine).
        let after = iv.tick().await;
        assert!(after > next);
        assert_eq!((after - start).as_nanos() % PERIOD.as_nanos(), 0);
    });
}

fn delay_restarts_the_schedule_from_the_late_tick(flavor: Flavor) {
    block_on(flavor, async {
        let (start, mut iv) = started_on_time(MissedTickBehavior::Delay).await;
        fall_behind(PERIOD * 5 + PERIOD / 2);
        let before_late = Instant::now();
        let late = iv.tick().await;
        assert_eq!(late, start + PERIOD);
        // Next: one period after the late tick was taken.
        let next = iv.tick().await;
        assert!(next >= before_late + PERIOD);
        assert!(Instant::now() >= next);
        // A period later (or more, if this task runs late again).
        assert!(iv.tick().await >= next + PERIOD);
    });
}

fn reset_restarts_the_period_from_now(flavor: Flavor) {
    block_on(flavor, async {
        let mut iv = interval(PERIOD);
        iv.tick().await;
        let at = Instant::now();
        iv.reset();
        let next = iv.tick().await;
        assert!(next >= at + PERIOD);
        assert!(Instant::now() >= at + PERIOD);

        let at = Instant::now();
        iv.reset_immediately();
        let now_tick = iv.tick().await;
        assert!(now_tick >= at);

        let target = Instant::now() + Duration::from_millis(25);
        iv.reset_at(target);
        assert_eq!(iv.tick().await, target);
        assert!(Instant::now() >= target);

        let at = Instant::now();
        iv.reset_after(Duration::from_millis(15));
        let t = iv.tick().await;
        assert!(t >= at + Duration::from_millis(15));
    });
}

fn a_dropped_tick_future_loses_no_tick(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let mut iv = interval_at(start + PERIOD, PERIOD);
        // Cancel a pending `tick()` (cancel safety). On a loaded machine
        // the tick may already be due: then it is delivered, not lost.
        let next = match runtime::time::timeout(Duration::from_millis(1), iv.tick()).await {
            Err(_) => 1,
            Ok(due) => {
                assert_eq!(due, start + PERIOD);
                2
            }
        };
        assert_eq!(iv.tick().await, start + PERIOD * next);
        assert_eq!(iv.tick().await, start + PERIOD * (next + 1));
    });
}

flavor_tests!(
    ticks_are_on_schedule_and_never_early,
    the_first_tick_is_immediate,
    one_ms_interval_ticks_at_one_ms,
    burst_catches_up_on_the_original_schedule,
    skip_drops_missed_ticks_and_keeps_the_grid,
    delay_restarts_the_schedule_from_the_late_tick,
    reset_restarts_the_period_from_now,
    a_dropped_tick_future_loses_no_tick,
);

#[test]
#[should_panic(expected = "`period` must be non-zero.")]
fn a_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}
