//! The main job: a quick side-by-side table of verisync against its peers.
//!
//! ```text
//! cargo run --release -p verisync-benches            # every workload
//! cargo run --release -p verisync-benches -- mpmc    # workloads whose name contains "mpmc"
//! cargo run --release -p verisync-benches -- mpmc kanal   # ... and only their kanal rows
//! ```
//!
//! Also writes the same numbers as a picture, `target/compare.svg`: a bar chart per workload,
//! each implementation's throughput relative to the std baseline (see `chart.rs`).
//!
//! Runs a short version of every workload of the criterion benches (`benches/src/`, the
//! same code), printing progress to stderr (a line per workload, its rounds as they finish,
//! then its rows), then one table on stdout: Mops/s (the median of a few short runs, taken in
//! rounds over the workload's rows so that the machine's phases fall on every row alike) and
//! the ratio to the workload's std baseline
//! (`std::sync::mpsc::sync_channel`, also in the single-thread floor, where `VecDeque` is listed
//! as a reference). Takes under a minute on a 2-core machine; numbers from a busy machine are
//! noisy, so compare ratios within one run, take the median of several runs, and use
//! `cargo bench` for careful measurements.
//!
//! To add a primitive: include its workload module below and append its `workloads()` in
//! [`all_workloads`]; every row follows from the [`Workload`] list.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

mod chart;

use common::Workload;
use verisync_benches::{asynchronous, bounded_log, common, coordination, mpmc, spsc};

/// Timed runs per row, taken in rounds over the rows of a workload (after one untimed warm-up
/// run of each, see [`median_mops`]); the row reports their median. A run moves as many items
/// as one criterion iteration; the bench just repeats it far more often. Three keep a full run
/// under a minute on a 2-core machine; for steadier figures, take the median of several
/// `compare` runs or use `cargo bench`.
const RUNS: usize = 3;

/// The warm-up run of a row moves this fraction of the workload's items: enough to start what
/// a case starts once (a runtime, a thread pool) and to fault its memory in, without the time
/// of a timed run.
const WARM_UP_DIVISOR: u64 = 4;

/// Every workload of every primitive, in table order.
fn all_workloads() -> Vec<Workload> {
    let mut workloads = Vec::new();
    workloads.extend(spsc::workloads());
    workloads.extend(coordination::workloads());
    workloads.extend(mpmc::workloads());
    workloads.extend(asynchronous::workloads());
    workloads.extend(bounded_log::workloads());
    workloads
}

/// One line of the table.
struct Row {
    workload: &'static str,
    implementation: &'static str,
    mops: f64,
    /// `mops` over the baseline's `mops`, once the baseline of the workload has run.
    ratio: Option<f64>,
}

fn main() {
    if !common::PINNING_SUPPORTED {
        eprintln!("note: CPU pinning is not supported here; one-CPU rows run unpinned");
    }
    // An optional argument keeps the workloads whose name contains it; a second, the rows
    // whose implementation contains it (for profiling one row).
    let filter = std::env::args().nth(1).unwrap_or_default();
    let rows_filter = std::env::args().nth(2).unwrap_or_default();
    let workloads: Vec<Workload> = all_workloads()
        .into_iter()
        .filter(|workload| workload.id.contains(filter.as_str()))
        .map(|mut workload| {
            workload
                .cases
                .retain(|case| case.name.contains(rows_filter.as_str()));
            workload
        })
        .collect();
    let total = workloads.len();
    let mut rows = Vec::new();
    for (done, workload) in workloads.iter().enumerate() {
        eprint!(
            "[{}/{total}] {} ({} rows): round",
            done + 1,
            workload.id,
            workload.cases.len()
        );
        let first_row = rows.len();
        for (case, mops) in workload.cases.iter().zip(median_mops(workload)) {
            rows.push(Row {
                workload: workload.id,
                implementation: case.name,
                mops,
                ratio: None,
            });
        }
        eprintln!();
        let baseline = rows[first_row..]
            .iter()
            .find(|row| row.implementation == workload.baseline)
            .map(|row| row.mops);
        for row in &mut rows[first_row..] {
            eprintln!("    {}: {:.1} Mops/s", row.implementation, row.mops);
            row.ratio = baseline.map(|base| row.mops / base);
        }
    }
    print_table(&rows);
    write_chart(&rows);
}

/// Writes the bar charts to `target/compare.svg` in the workspace, and says where on stderr.
fn write_chart(rows: &[Row]) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "target", "compare.svg"]
        .iter()
        .collect();
    match std::fs::write(&path, chart::svg(rows)) {
        Ok(()) => {
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            eprintln!("chart: {}", path.display());
        }
        Err(err) => eprintln!("chart not written to {}: {err}", path.display()),
    }
}

/// Runs every case of `workload` once untimed on a [`WARM_UP_DIVISOR`]th of its items, then
/// [`RUNS`] rounds of one run of each; the median throughput of each case, in case order.
///
/// Each round starts one case later than the round before, and every other round goes through
/// the cases backwards, so that no case always runs first, last, or right after the same other
/// one, and the machine's slow and fast phases fall on every case alike (a row can move 3x
/// between runs here): the ratios between rows are the point of the table.
fn median_mops(workload: &Workload) -> Vec<f64> {
    let (cases, items) = (&workload.cases, workload.items);
    for case in cases {
        (case.run)(items / WARM_UP_DIVISOR);
    }
    let mut samples = vec![Vec::with_capacity(RUNS); cases.len()];
    for round in 0..RUNS {
        eprint!(" {}", round + 1);
        // The line stays open while the rounds run; a failed flush only delays it.
        let _ = std::io::stderr().flush();
        for offset in 0..cases.len() {
            let step = if round % 2 == 0 {
                offset
            } else {
                cases.len() - offset
            };
            let index = (round + step) % cases.len();
            samples[index].push(mops(items, (cases[index].run)(items)));
        }
    }
    samples
        .into_iter()
        .map(|mut runs| {
            runs.sort_by(f64::total_cmp);
            runs[runs.len() / 2]
        })
        .collect()
}

/// Throughput in millions of items per second.
fn mops(items: u64, elapsed: Duration) -> f64 {
    items as f64 / elapsed.as_secs_f64() / 1e6
}

/// Prints `rows` as a Markdown table with aligned columns.
fn print_table(rows: &[Row]) {
    let header = ["workload", "implementation", "Mops/s", "vs std"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.workload.to_owned(),
                row.implementation.to_owned(),
                format!("{:.1}", row.mops),
                row.ratio
                    .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}x")),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    let [w0, w1, w2, w3] = widths;
    println!(
        "| {:<w0$} | {:<w1$} | {:>w2$} | {:>w3$} |",
        header[0], header[1], header[2], header[3]
    );
    println!(
        "|{}|{}|{}:|{}:|",
        "-".repeat(w0 + 2),
        "-".repeat(w1 + 2),
        "-".repeat(w2 + 1),
        "-".repeat(w3 + 1)
    );
    for [workload, implementation, mops, ratio] in &cells {
        println!("| {workload:<w0$} | {implementation:<w1$} | {mops:>w2$} | {ratio:>w3$} |");
    }
}
