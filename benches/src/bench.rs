//! How the criterion benches run a list of [`Workload`]s: one group per workload, its cases in
//! the same group, throughput in items.
//!
//! Every case moves 2^20 values per iteration, so a few iterations per sample are plenty, flat
//! sampling keeps slow peers from stretching the run, and plots are off (see
//! [`criterion_config`]). Included by each `benches/<prim>.rs` next to `common.rs`.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

use crate::common::Workload;

/// The configuration every bench passes to `criterion_group!`.
pub fn criterion_config() -> Criterion {
    // Plots and the default 100k bootstrap resamples cost more time than the measurements.
    Criterion::default().without_plots().nresamples(10_000)
}

/// Runs every workload as a criterion group, measuring each case for 2 s. Single-thread
/// workloads (ids ending in `_floor`) warm up for less time, since they have no threads to
/// settle.
pub fn run(c: &mut Criterion, workloads: Vec<Workload>) {
    run_measuring(c, workloads, Duration::from_secs(2));
}

/// As [`run`], measuring each case for `measurement` (longer for workloads whose runs vary
/// more, such as the coordination ones).
pub fn run_measuring(c: &mut Criterion, workloads: Vec<Workload>, measurement: Duration) {
    for workload in workloads {
        let single_thread = workload.id.ends_with("_floor");
        let mut group = c.benchmark_group(workload.id);
        group
            .throughput(Throughput::Elements(workload.items))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(if single_thread {
                500
            } else {
                1000
            }))
            .measurement_time(measurement);
        let items = workload.items;
        for case in &workload.cases {
            let run = case.run;
            group.bench_function(case.name, |b| {
                b.iter_custom(|iters| (0..iters).map(|_| run(items)).sum())
            });
        }
        group.finish();
    }
}
