//! What the report says of each target `runtime` missed: by how much, and
//! what the same run measured that bounds it. Everything here is read off
//! the run's own figures, so the account is regenerated with them:
//!
//! - the lowest and highest round of `runtime` and of tokio (the summary's
//!   figure is their median): where the two ranges overlap, the run cannot
//!   tell the two apart;
//! - the raw-epoll server's figure where it ran the case, which is what the
//!   kernel alone costs for that load (one thread, no runtime);
//! - for server CPU, the kernel's share of it (system time) and what is
//!   left for the server's own code (user time), per message;
//! - the current-thread flavor of this runtime, the same code on one
//!   thread, which separates what the second worker adds;
//! - the system calls per message the tracer counted for the case.

use std::fmt::Write as _;

use runtime_benches::contender::Contender;

use crate::figures::{fmt_adv, fmt_value};
use crate::results::{Better, Metric, Report};

/// How `runtime`'s rounds lie against tokio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// The two ranges overlap.
    Overlap,
    /// Every round of `runtime` was worse than every round of tokio.
    AllWorse,
    /// Every round of `runtime` was better than every round of tokio.
    AllBetter,
}

/// The lowest and highest round of one contender.
type Range = (f64, f64);

fn spread(m: &Metric) -> Option<(Spread, Range, Range)> {
    let ours = m.range(Contender::Runtime)?;
    let tokio = m.range(Contender::Tokio)?;
    // For a cost, "worse" is higher; for a rate, lower.
    let (worse, better) = match m.better {
        Better::Lower => (ours.0 > tokio.1, ours.1 < tokio.0),
        Better::Higher => (ours.1 < tokio.0, ours.0 > tokio.1),
    };
    let s = if worse {
        Spread::AllWorse
    } else if better {
        Spread::AllBetter
    } else {
        Spread::Overlap
    };
    Some((s, ours, tokio))
}

/// The metrics with a target that `runtime` was measured against and
/// missed.
fn missed(r: &Report) -> Vec<&Metric> {
    r.metrics
        .iter()
        .filter(|m| match (m.target, m.advantage(Contender::Runtime)) {
            (Some((goal, _)), Some(a)) => a < goal,
            _ => false,
        })
        .collect()
}

/// The system calls per message traced for the load case `case` (its
/// label, or the label it extends with " @ rate").
fn syscalls_for<'a>(r: &'a Report, case: &str) -> Option<&'a Metric> {
    r.metrics.iter().find(|m| {
        m.metric == "syscalls/msg"
            && case
                .strip_prefix(m.case.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" @"))
    })
}

/// One missed target, as a list item with its measured bounds.
fn explain(r: &Report, m: &Metric, out: &mut String) -> Option<Spread> {
    let (goal, text) = m.target?;
    let a = m.advantage(Contender::Runtime)?;
    let v = |c: Contender| m.values.get(&c).map(|&x| fmt_value(m.metric, x));
    let _ = writeln!(
        out,
        "- **{} — {}**: runtime {} against tokio's {}, {} × tokio; the goal is ≥ {goal:.2} \
         ({text}), missed by {:.1} %.",
        m.case,
        m.metric,
        v(Contender::Runtime)?,
        v(Contender::Tokio)?,
        fmt_adv(a),
        (1.0 - a / goal) * 100.0,
    );
    let s = spread(m);
    if let Some((s, ours, tokio)) = s {
        let n = |c: Contender| m.rounds.get(&c).map_or(0, Vec::len);
        let verdict = match s {
            Spread::Overlap => "the ranges overlap, so this run cannot tell the two apart",
            Spread::AllWorse => "every round of runtime was worse than every round of tokio",
            Spread::AllBetter => {
                "every round of runtime was better than every round of tokio, by less than the goal"
            }
        };
        let _ = writeln!(
            out,
            "  - Rounds: runtime {}–{} ({} rounds), tokio {}–{} ({} rounds): {verdict}.",
            fmt_value(m.metric, ours.0),
            fmt_value(m.metric, ours.1),
            n(Contender::Runtime),
            fmt_value(m.metric, tokio.0),
            fmt_value(m.metric, tokio.1),
            n(Contender::Tokio),
        );
    }
    if let (Some(&raw), Some(&ours)) = (
        m.values.get(&Contender::RawEpoll),
        m.values.get(&Contender::Runtime),
    ) {
        let times = match m.better {
            Better::Lower => ours / raw,
            Better::Higher => raw / ours,
        };
        let _ = writeln!(
            out,
            "  - The kernel alone (raw-epoll, one thread, no runtime): {}, {} × tokio; runtime \
             is {times:.2} × raw-epoll's figure{}.",
            fmt_value(m.metric, raw),
            m.advantage(Contender::RawEpoll).map_or("-".into(), fmt_adv),
            if m.advantage(Contender::RawEpoll).is_some_and(|x| x < goal) {
                ", and the kernel alone misses the goal too"
            } else {
                ""
            },
        );
    }
    let split: Vec<String> = [Contender::Runtime, Contender::Tokio, Contender::RawEpoll]
        .into_iter()
        .filter_map(|c| {
            let k = *m.kernel_share.get(&c)?;
            let v = *m.values.get(&c)?;
            Some(format!(
                "{} {:.0} % in the kernel, {} per message in its own code",
                c.name(),
                k * 100.0,
                fmt_value(m.metric, v * (1.0 - k))
            ))
        })
        .collect();
    if !split.is_empty() {
        let _ = writeln!(
            out,
            "  - Where the server's CPU went (system and user time, median round; counted in \
             10 ms clock ticks, so the small user part is rough): {}.",
            split.join("; ")
        );
    }
    let flavors: Vec<String> = [Contender::RuntimeCt, Contender::TokioCt]
        .into_iter()
        .filter_map(|c| Some(format!("{} {} × tokio", c.name(), fmt_adv(m.advantage(c)?))))
        .collect();
    if !flavors.is_empty() {
        let _ = writeln!(
            out,
            "  - One thread (the current-thread flavors): {}.",
            flavors.join(", ")
        );
    }
    if let Some(sc) = syscalls_for(r, &m.case) {
        let calls: Vec<String> = [Contender::Runtime, Contender::Tokio, Contender::RawEpoll]
            .into_iter()
            .filter_map(|c| Some(format!("{} {:.2}", c.name(), sc.values.get(&c)?)))
            .collect();
        let _ = writeln!(
            out,
            "  - System calls per message ({}, traced round): {}.",
            sc.case,
            calls.join(", ")
        );
    }
    s.map(|x| x.0)
}

/// The report's section on the missed targets, if any was missed.
pub(crate) fn missed_section(r: &Report) -> Option<String> {
    let missed = missed(r);
    if missed.is_empty() {
        return None;
    }
    let mut out = String::from(
        "For each target missed in this run: runtime's figure against tokio's and the \
         shortfall; the lowest and highest of each one's rounds (the figures above are \
         their medians: where the two ranges overlap, the run cannot tell the two apart); \
         where the case ran on it, the raw-epoll server's figure, which is what the kernel \
         alone costs for the load; for server CPU, how much of it was the kernel's \
         (system time) and what the server's own code took per message (user time); \
         the current-thread flavors, the same code on one \
         thread; and the system calls per message counted for the case.\n\n",
    );
    let mut overlap = 0;
    let mut worse = 0;
    for m in &missed {
        match explain(r, m, &mut out) {
            Some(Spread::Overlap) => overlap += 1,
            Some(Spread::AllWorse) => worse += 1,
            _ => {}
        }
    }
    let _ = writeln!(
        out,
        "\nOf the {} misses, {overlap} lie inside the spread between rounds (the ranges \
         overlap) and {worse} outside it (every round of runtime worse than every round of \
         tokio).",
        missed.len()
    );
    Some(out)
}
