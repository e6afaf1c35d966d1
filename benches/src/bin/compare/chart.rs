//! The picture `compare` writes next to its table: one bar chart per workload, each bar an
//! implementation's throughput relative to the workload's std baseline, drawn from the 1x line
//! on a logarithmic axis (right: faster than std, left: slower; 2x and 0.5x are as long), so
//! that verisync (blue) and its peers (grey) read side by side at a glance, whether they differ
//! by 10% or by 60x. Plain SVG, no dependency.

use std::fmt::Write;

use crate::Row;

/// Width of the whole picture, and of the column of implementation names left of the bars
/// (room for 36 characters of 12-pixel text).
const WIDTH: f64 = 960.0;
const LABELS: f64 = 260.0;
/// Room right of the longest bar for its value.
const VALUE_ROOM: f64 = 70.0;
/// Room beyond the fastest and the slowest bar, as a factor on the axis.
const AXIS_PAD: f64 = 1.25;
const BAR: f64 = 16.0;
const GAP: f64 = 4.0;
const TITLE: f64 = 26.0;
const PANEL_GAP: f64 = 18.0;

/// The SVG document for `rows`, in table order; rows without a ratio (a workload whose baseline
/// did not run) are left out.
pub fn svg(rows: &[Row]) -> String {
    let mut body = String::new();
    let mut y = PANEL_GAP;
    let mut start = 0;
    while start < rows.len() {
        let workload = rows[start].workload;
        let end = start
            + rows[start..]
                .iter()
                .take_while(|row| row.workload == workload)
                .count();
        y = panel(&mut body, workload, &rows[start..end], y);
        start = end;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{y}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

/// Draws one workload's bars from height `y` down; returns where the next panel starts.
fn panel(out: &mut String, workload: &str, rows: &[Row], mut y: f64) -> f64 {
    let bars: Vec<(&str, f64)> = rows
        .iter()
        .filter_map(|row| Some((row.implementation, row.ratio?)))
        .collect();
    if bars.is_empty() {
        return y;
    }
    let slowest = bars.iter().map(|&(_, ratio)| ratio).fold(1.0, f64::min) / AXIS_PAD;
    let fastest = bars.iter().map(|&(_, ratio)| ratio).fold(1.0, f64::max) * AXIS_PAD;
    let per_decade = (WIDTH - LABELS - VALUE_ROOM) / (fastest / slowest).ln();
    let x = |ratio: f64| LABELS + (ratio / slowest).ln() * per_decade;
    let one = x(1.0);
    // Writing to a `String` cannot fail.
    let _ = writeln!(
        out,
        "<text x=\"8\" y=\"{}\" font-weight=\"bold\">{} (throughput vs std, log scale)</text>",
        y + 16.0,
        escape(workload)
    );
    y += TITLE;
    let top = y;
    for &(implementation, ratio) in &bars {
        let fill = if implementation.starts_with("verisync") {
            "#2b6cb0"
        } else {
            "#a0aec0"
        };
        let end = x(ratio.max(f64::MIN_POSITIVE));
        let (left, length) = (one.min(end), (end - one).abs().max(1.0));
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left:.1}\" y=\"{y}\" width=\"{length:.1}\" height=\"{BAR}\" \
             fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{}\">{ratio:.2}x</text>",
            LABELS - 6.0,
            y + BAR - 4.0,
            escape(implementation),
            one.max(end) + 4.0,
            y + BAR - 4.0,
        );
        y += BAR + GAP;
    }
    let _ = writeln!(
        out,
        "<line x1=\"{one:.1}\" y1=\"{}\" x2=\"{one:.1}\" y2=\"{}\" stroke=\"#c53030\" \
         stroke-dasharray=\"4 3\"/>",
        top - 3.0,
        y - GAP + 3.0
    );
    y + PANEL_GAP
}

/// `text` with the characters XML gives a meaning replaced by their entities.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
