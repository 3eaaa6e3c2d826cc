//! What a run collects: per-contender figures ([`LoadStats`] over the
//! rounds of a load case, [`Metric`] for the summary), the goals set for
//! `runtime` (`*_TARGET`), and the [`Report`] the case families fill in and
//! [`crate::output`] writes out.

use std::collections::BTreeMap;

use runtime_benches::contender::Contender;
use runtime_benches::loadgen;
use runtime_benches::procfs::SyscallCounts;
use runtime_benches::report::Table;

use crate::figures::{fmt_adv, opt};

/// Which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Lower,
    Higher,
}

/// One metric of one case, per contender.
pub(crate) struct Metric {
    pub(crate) case: String,
    pub(crate) metric: &'static str,
    pub(crate) better: Better,
    pub(crate) values: BTreeMap<Contender, f64>,
    /// The goal for `runtime`, as an advantage over tokio, and its wording.
    pub(crate) target: Option<(f64, &'static str)>,
}

impl Metric {
    /// How much better than tokio `c` is (> 1: better), if both were
    /// measured.
    pub(crate) fn advantage(&self, c: Contender) -> Option<f64> {
        let t = *self.values.get(&Contender::Tokio)?;
        let v = *self.values.get(&c)?;
        if t <= 0.0 || v <= 0.0 {
            return None;
        }
        Some(match self.better {
            Better::Lower => t / v,
            Better::Higher => v / t,
        })
    }
}

/// Everything measured, plus the report's text sections.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) metrics: Vec<Metric>,
    /// (heading, markdown body) in run order.
    pub(crate) sections: Vec<(String, String)>,
    /// Things that went wrong (a failed run of one contender, …).
    pub(crate) failures: Vec<String>,
    /// The pinned fixed-rate cases: the table that opens the report, and
    /// how they were run.
    pub(crate) headline: Option<(Table, String)>,
    /// System calls per message: (case, per contender).
    pub(crate) syscalls: Vec<(String, BTreeMap<Contender, Traced>)>,
}

/// One traced round: the server's system calls over the window and the
/// messages completed in it.
pub(crate) struct Traced {
    pub(crate) counts: SyscallCounts,
    pub(crate) messages: u64,
}

impl Traced {
    pub(crate) fn per_msg(&self, n: u64) -> Option<f64> {
        (self.messages > 0).then(|| n as f64 / self.messages as f64)
    }
}

pub(crate) const CPU_TARGET: Option<(f64, &str)> = Some((1.0 / 0.95, "CPU ≤ 0.95 × tokio"));

pub(crate) const P99_TARGET: Option<(f64, &str)> = Some((1.0, "p99 ≤ tokio"));

pub(crate) const MICRO_TARGET: Option<(f64, &str)> = Some((1.2, "≥ 1.2 × tokio"));

pub(crate) const TIMER_TARGET: Option<(f64, &str)> = Some((1.0, "≥ 1.00 × tokio"));

pub(crate) const MEM_TARGET: Option<(f64, &str)> = Some((1.0, "memory ≤ tokio"));

impl Report {
    /// The two metrics of every load case: its rate (`rate`, higher is
    /// better) and the server's CPU per message or request (`cpu`, with
    /// the CPU target).
    pub(crate) fn rate_and_cpu(
        &mut self,
        case: &str,
        stats: &BTreeMap<Contender, LoadStats>,
        rate: &'static str,
        cpu: &'static str,
    ) {
        let rates = by_contender(stats, LoadStats::rate);
        self.metric(case, rate, Better::Higher, rates, None);
        let cpus = by_contender(stats, LoadStats::cpu);
        self.metric(case, cpu, Better::Lower, cpus, CPU_TARGET);
    }

    pub(crate) fn metric(
        &mut self,
        case: &str,
        metric: &'static str,
        better: Better,
        values: BTreeMap<Contender, f64>,
        target: Option<(f64, &'static str)>,
    ) {
        self.metrics.push(Metric {
            case: case.to_owned(),
            metric,
            better,
            values,
            target,
        });
    }

    pub(crate) fn fail(&mut self, what: String) {
        eprintln!("  FAILED: {what}");
        self.failures.push(what);
    }
}

pub(crate) fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Load results of one case on one contender, over the rounds: each
/// figure is the median of the rounds' figures (percentiles included, so
/// one round disturbed by other work on a shared machine does not decide
/// the tail).
#[derive(Default)]
pub(crate) struct LoadStats {
    pub(crate) rates: Vec<f64>,
    pub(crate) cpu_us: Vec<f64>,
    /// Per round: p50, p99, p99.9 in µs.
    pub(crate) percentiles: Vec<[f64; 3]>,
    pub(crate) unfinished: u64,
}

/// The percentiles `LoadStats` keeps.
const PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];

impl LoadStats {
    pub(crate) fn add(&mut self, o: &loadgen::Outcome) {
        self.rates.push(o.rate());
        if let Some(c) = o.cpu_per_msg_us() {
            self.cpu_us.push(c);
        }
        if o.latency.count() > 0 {
            self.percentiles
                .push(PERCENTILES.map(|p| o.latency.percentile(p).as_secs_f64() * 1e6));
        }
        self.unfinished += o.unfinished;
    }

    pub(crate) fn rate(&self) -> Option<f64> {
        median(&self.rates)
    }

    pub(crate) fn cpu(&self) -> Option<f64> {
        median(&self.cpu_us)
    }

    pub(crate) fn pct(&self, p: f64) -> Option<f64> {
        let i = PERCENTILES.iter().position(|&q| q == p)?;
        // Not-a-number marks a percentile the generator did not report.
        let v: Vec<f64> = self
            .percentiles
            .iter()
            .map(|x| x[i])
            .filter(|x| x.is_finite())
            .collect();
        median(&v)
    }
}

pub(crate) fn by_contender(
    stats: &BTreeMap<Contender, LoadStats>,
    f: impl Fn(&LoadStats) -> Option<f64>,
) -> BTreeMap<Contender, f64> {
    stats
        .iter()
        .filter_map(|(c, s)| Some((*c, f(s)?)))
        .collect()
}

pub(crate) fn ratio_cell(
    values: &BTreeMap<Contender, f64>,
    c: Contender,
    better: Better,
) -> String {
    let m = Metric {
        case: String::new(),
        metric: "",
        better,
        values: values.clone(),
        target: None,
    };
    opt(m.advantage(c), fmt_adv)
}
