//! How figures are written in the log and the report: rates, times in µs,
//! bytes, advantages over tokio, and `-` for a figure that is missing.

use std::time::Duration;

use runtime_benches::report::fmt_duration;

pub(crate) fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

pub(crate) fn fmt_us(us: f64) -> String {
    fmt_duration(Duration::from_secs_f64(us / 1e6))
}

pub(crate) fn fmt_bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1048576.0)
    } else if b >= 1024.0 {
        format!("{:.2} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

pub(crate) fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

/// An advantage with two decimals, or two significant digits below 0.1.
pub(crate) fn fmt_adv(a: f64) -> String {
    if a < 0.1 {
        format!("{a:.1e}")
    } else {
        format!("{a:.2}")
    }
}

/// A figure of metric `metric` in its unit (rates per second, GiB/s,
/// bytes, call counts, else µs).
pub(crate) fn fmt_value(metric: &str, v: f64) -> String {
    match metric {
        "messages/s" | "requests/s" | "accept rate" | "ops/s" => format!("{}/s", fmt_rate(v)),
        "GiB/s" => format!("{v:.2} GiB/s"),
        "RSS per connection" | "RSS per task" => fmt_bytes(v),
        "syscalls/msg" => format!("{v:.2}"),
        _ => fmt_us(v),
    }
}
