//! `timers`: the timer benchmarks of [`runtime_benches::timers`], run by
//! [`super::micro`].

use runtime_benches::micro::MicroCase;
use runtime_benches::report::fmt_duration;
use runtime_benches::timers;

use super::micro::micro_cases;
use crate::results::{Report, TIMER_TARGET};
use crate::settings::Settings;
use crate::Res;

pub(crate) fn timers_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("timer benchmarks");
    let t = micro_cases::<timers::Case>(s, report, |case| {
        if case.waits_on_clock() {
            (None, TIMER_TARGET)
        } else {
            (TIMER_TARGET, None)
        }
    })?;
    let p = timers::Case::params(s.quick);
    report.sections.push((
        "Timer benchmarks".into(),
        format!(
            "The cases of the `timers` binary (`runtime_benches::timers`), each runtime \
             with its own timers (`runtime::time`, `tokio::time`, async-io's `Timer` for \
             smol) in its own process, {rounds} rounds alternating; median wall time of \
             one run of the case and the process's CPU time over it. vs tokio > 1: \
             faster (cheaper) than tokio.\n\n\
             - `sleeps_spread`: {sleeps} tasks spawned from `block_on`, task `i` sleeping \
             `(i × 7919) mod {spread_us}` µs (deadlines spread over {spread}), until all \
             have woken;\n\
             - `insert_cancel`: one task registers and cancels {ic} timeouts that never \
             fire (`timeout(10 s, f)` around a future ready on its second poll, polled \
             twice), all in one task poll;\n\
             - `insert_cancel_parallel`: the same, {icp} times in each of {workers} tasks \
             at once (contention on the timer structures);\n\
             - `interval_1ms`: one task ticks a 1 ms interval {ticks} times;\n\
             - `intervals_1ms_x1000`: {tasks} tasks each tick their own 1 ms interval \
             {tasks_ticks} times.\n\n\
             Target (`runtime`): no worse than tokio, {target}, on **wall time** for the \
             two insert/cancel cases, and on **CPU time** for `sleeps_spread`, \
             `interval_1ms` and `intervals_1ms_x1000`, whose wall time is mostly the \
             sleeping and ticking itself (up to {spread}; {ticks} and {tasks_ticks} \
             ticks of 1 ms, the first at once), the same floor for every runtime. smol's interval is \
             `Timer::interval_at(now, 1 ms)`, which has no missed-tick setting and \
             catches up on late ticks like tokio's default (`Burst`).\n\n{t}",
            rounds = s.micro_rounds,
            sleeps = p.sleeps,
            spread_us = p.spread.as_micros(),
            spread = fmt_duration(p.spread),
            ic = p.insert_cancel,
            icp = p.insert_cancel_per_task,
            workers = s.workers,
            ticks = p.interval_ticks,
            tasks = p.interval_tasks,
            tasks_ticks = p.interval_tasks_ticks,
            target = TIMER_TARGET.map_or("", |t| t.1),
        ),
    ));
    Ok(())
}
