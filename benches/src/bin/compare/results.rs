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
    /// Each round's figure per contender, where the case keeps them (the
    /// value above is their median): the spread a missed target is judged
    /// against.
    pub(crate) rounds: BTreeMap<Contender, Vec<f64>>,
    /// For a server CPU metric: the median round's share of that CPU the
    /// kernel spent (system time), per contender.
    pub(crate) kernel_share: BTreeMap<Contender, f64>,
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

    /// Keeps each round's figure beside the median (see [`Metric::rounds`]).
    pub(crate) fn with_rounds(&mut self, rounds: BTreeMap<Contender, Vec<f64>>) -> &mut Self {
        self.rounds = rounds;
        self
    }

    /// The lowest and highest round of `c`, if its rounds were kept.
    pub(crate) fn range(&self, c: Contender) -> Option<(f64, f64)> {
        let r = self.rounds.get(&c)?;
        let lo = r
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .reduce(f64::min)?;
        let hi = r
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .reduce(f64::max)?;
        Some((lo, hi))
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
        self.cpu_metric(case, cpu, stats, CPU_TARGET);
    }

    /// The server's CPU per message of a load case, rounds kept.
    pub(crate) fn cpu_metric(
        &mut self,
        case: &str,
        metric: &'static str,
        stats: &BTreeMap<Contender, LoadStats>,
        target: Option<(f64, &'static str)>,
    ) {
        let cpus = by_contender(stats, LoadStats::cpu);
        let m = self.metric(case, metric, Better::Lower, cpus, target);
        m.with_rounds(rounds_by_contender(stats, |x| x.cpu_us.clone()));
        m.kernel_share = by_contender(stats, |x| median(&x.kernel_share));
    }

    /// Percentile `p` of a load case's latency, rounds kept.
    pub(crate) fn pct_metric(
        &mut self,
        case: &str,
        metric: &'static str,
        p: f64,
        stats: &BTreeMap<Contender, LoadStats>,
        target: Option<(f64, &'static str)>,
    ) {
        let values = by_contender(stats, |x| x.pct(p));
        self.metric(case, metric, Better::Lower, values, target)
            .with_rounds(rounds_by_contender(stats, |x| x.pct_rounds(p)));
    }

    pub(crate) fn metric(
        &mut self,
        case: &str,
        metric: &'static str,
        better: Better,
        values: BTreeMap<Contender, f64>,
        target: Option<(f64, &'static str)>,
    ) -> &mut Metric {
        self.metrics.push(Metric {
            case: case.to_owned(),
            metric,
            better,
            values,
            target,
            rounds: BTreeMap::new(),
            kernel_share: BTreeMap::new(),
        });
        self.metrics.last_mut().expect("just pushed")
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
    /// Per round: the kernel's share of the server's CPU time (0 to 1).
    pub(crate) kernel_share: Vec<f64>,
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
        if let Some(k) = o.kernel_share() {
            self.kernel_share.push(k);
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
        median(&self.pct_rounds(p))
    }

    /// Percentile `p` of each round that reported it.
    pub(crate) fn pct_rounds(&self, p: f64) -> Vec<f64> {
        let Some(i) = PERCENTILES.iter().position(|&q| q == p) else {
            return Vec::new();
        };
        // Not-a-number marks a percentile the generator did not report.
        self.percentiles
            .iter()
            .map(|x| x[i])
            .filter(|x| x.is_finite())
            .collect()
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

/// Each contender's rounds of one figure (see [`Metric::rounds`]).
pub(crate) fn rounds_by_contender(
    stats: &BTreeMap<Contender, LoadStats>,
    f: impl Fn(&LoadStats) -> Vec<f64>,
) -> BTreeMap<Contender, Vec<f64>> {
    stats.iter().map(|(c, s)| (*c, f(s))).collect()
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
        rounds: BTreeMap::new(),
        kernel_share: BTreeMap::new(),
    };
    opt(m.advantage(c), fmt_adv)
}
