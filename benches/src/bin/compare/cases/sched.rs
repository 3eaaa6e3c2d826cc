//! `sched`: the scheduler micro-benchmarks of [`runtime_benches::sched`],
//! run by [`super::micro`].

use runtime_benches::micro::MicroCase;
use runtime_benches::sched;

use super::micro::micro_cases;
use crate::results::{Report, MICRO_TARGET};
use crate::settings::Settings;
use crate::Res;

pub(crate) fn sched_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("scheduler micro-benchmarks");
    let t = micro_cases::<sched::Case>(s, report, |_| (MICRO_TARGET, None))?;
    let p = sched::Case::params(s.quick);
    report.sections.push((
        "Scheduler micro-benchmarks".into(),
        format!(
            "The cases of the `sched` binary (`runtime_benches::sched`), each runtime in \
             its own process, {} rounds alternating; median time of one repetition \
             (`spawn_many` {} tasks, `yield_many` {}×{} yields, `ping_pong` {} pairs × {}, \
             `chained_spawn` {} deep, `remote_spawn` {} tasks) and the process's CPU time \
             over it. vs tokio > 1: faster than tokio.\n\n{t}",
            s.micro_rounds,
            p.spawn_many,
            p.yield_tasks,
            p.yields,
            p.ping_pong_pairs,
            p.ping_pong_exchanges,
            p.chain_depth,
            p.remote_spawn
        ),
    ));
    Ok(())
}
