//! Formatting results: durations, ratios, markdown tables.

use std::fmt;
use std::time::Duration;

/// Formats `d` with three significant digits and a unit that suits it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime_benches::report::fmt_duration;
///
/// assert_eq!(fmt_duration(Duration::from_nanos(950)), "950 ns");
/// assert_eq!(fmt_duration(Duration::from_micros(1234)), "1.23 ms");
/// assert_eq!(fmt_duration(Duration::from_millis(45_600)), "45.6 s");
/// ```
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value >= 100.0 || unit == "ns" {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// Formats `num / den` as `1.23x`, or `-` when `den` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime_benches::report::fmt_ratio;
///
/// let ms = Duration::from_millis;
/// assert_eq!(fmt_ratio(ms(3), ms(2)), "1.50x");
/// assert_eq!(fmt_ratio(ms(3), Duration::ZERO), "-");
/// ```
pub fn fmt_ratio(num: Duration, den: Duration) -> String {
    if den.is_zero() {
        return "-".to_owned();
    }
    format!("{:.2}x", num.as_secs_f64() / den.as_secs_f64())
}

/// A markdown table; [`Display`](fmt::Display) pads the columns so that
/// the source reads as a table too.
///
/// # Examples
///
/// ```
/// use runtime_benches::report::Table;
///
/// let mut t = Table::new(["case", "time"]);
/// t.row(["spawn", "1 ms"]);
/// assert_eq!(
///     t.to_string(),
///     "| case  | time |\n|-------|------|\n| spawn | 1 ms |\n"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new<I, S>(header: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells print empty, extra ones are dropped).
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = |i: usize| {
            std::iter::once(&self.header)
                .chain(&self.rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(3)
        };
        let widths: Vec<usize> = (0..self.header.len()).map(width).collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| {
            for (cell, w) in cells.iter().zip(&widths) {
                write!(f, "| {cell:<w$} ")?;
            }
            writeln!(f, "|")
        };
        line(f, &self.header)?;
        for w in &widths {
            write!(f, "|{}", "-".repeat(w + 2))?;
        }
        writeln!(f, "|")?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}
