//! A horizontal bar chart of ratios as a standalone SVG, written by hand:
//! one group of bars per metric, one bar per series, on a log₂ axis with a
//! line at 1.0.

use std::fmt::Write;

/// One metric: its label and one value per series (`None`: not measured).
#[derive(Debug, Clone)]
pub struct Group {
    /// Shown left of the bars.
    pub label: String,
    /// One value per series, in the order of [`Chart::series`].
    pub values: Vec<Option<f64>>,
}

/// A ratio chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The title line.
    pub title: String,
    /// A line under the title (what the ratios mean).
    pub subtitle: String,
    /// The series' names, for the legend.
    pub series: Vec<String>,
    /// The metrics.
    pub groups: Vec<Group>,
}

/// Bar colours, one per series (then repeated).
const COLORS: [&str; 6] = [
    "#1f77b4", "#7fb3dd", "#d62728", "#2ca02c", "#9467bd", "#8c564b",
];

/// The axis spans 1/`SPAN` to `SPAN`.
const SPAN: f64 = 4.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart {
    /// Renders the chart.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime_benches::svg::{Chart, Group};
    ///
    /// let svg = Chart {
    ///     title: "t".into(),
    ///     subtitle: "s".into(),
    ///     series: vec!["a".into()],
    ///     groups: vec![Group { label: "m".into(), values: vec![Some(1.5)] }],
    /// }
    /// .render();
    /// assert!(svg.starts_with("<svg") && svg.contains("1.50"));
    /// ```
    pub fn render(&self) -> String {
        let label_w = 350.0;
        let plot_w = 520.0;
        let bar_h = 9.0;
        let gap = 8.0;
        let top = 78.0;
        let n = self.series.len().max(1) as f64;
        let group_h = n * bar_h + gap;
        let height = top + group_h * self.groups.len() as f64 + 40.0;
        let width = label_w + plot_w + 70.0;
        let x_of = |r: f64| {
            let r = r.clamp(1.0 / SPAN, SPAN);
            label_w + plot_w * (r.log2() + SPAN.log2()) / (2.0 * SPAN.log2())
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="38">{}</text>"#,
            escape(&self.subtitle)
        );
        // Legend.
        let mut lx = 10.0;
        for (i, name) in self.series.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="50" width="12" height="10" fill="{}"/><text x="{}" y="59">{}</text>"#,
                COLORS[i % COLORS.len()],
                lx + 16.0,
                escape(name)
            );
            lx += 24.0 + 7.0 * name.len() as f64;
        }
        // Grid lines and axis labels.
        let bottom = top + group_h * self.groups.len() as f64;
        let mut r = 1.0 / SPAN;
        while r <= SPAN + 1e-9 {
            let x = x_of(r);
            let (stroke, w) = if (r - 1.0).abs() < 1e-9 {
                ("#000", 1.5)
            } else {
                ("#ddd", 1.0)
            };
            let _ = writeln!(
                s,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{stroke}" stroke-width="{w}"/>"#,
                top - 6.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                bottom + 14.0,
                if r < 1.0 {
                    format!("1/{:.0}", 1.0 / r)
                } else {
                    format!("{r:.0}")
                }
            );
            r *= 2.0;
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">← worse than tokio · better than tokio →</text>"#,
            x_of(1.0),
            bottom + 30.0
        );
        // Bars.
        for (g, group) in self.groups.iter().enumerate() {
            let y0 = top + group_h * g as f64;
            if g % 2 == 1 {
                let _ = writeln!(
                    s,
                    r##"<rect x="0" y="{:.1}" width="{width:.0}" height="{group_h:.1}" fill="#f6f6f6"/>"##,
                    y0 - gap / 2.0
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y0 + n * bar_h / 2.0 + 4.0,
                escape(&group.label)
            );
            for (i, v) in group.values.iter().enumerate() {
                let y = y0 + bar_h * i as f64;
                let Some(v) = v.filter(|v| v.is_finite() && *v > 0.0) else {
                    continue;
                };
                let (x1, x2) = (x_of(1.0), x_of(v));
                let (x, w) = if x2 >= x1 {
                    (x1, x2 - x1)
                } else {
                    (x2, x1 - x2)
                };
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                    w.max(1.0),
                    bar_h - 1.0,
                    COLORS[i % COLORS.len()]
                );
                // Values below 1 are printed right of the 1.0 line, clear of the labels.
                let (tx, anchor) = if v >= 1.0 {
                    (x + w + 3.0, "start")
                } else {
                    (x1 + 3.0, "start")
                };
                let clipped = if !(1.0 / SPAN..=SPAN).contains(&v) {
                    "…"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{tx:.1}" y="{:.1}" font-size="8" text-anchor="{anchor}">{v:.2}{clipped}</text>"#,
                    y + bar_h - 2.0
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}
