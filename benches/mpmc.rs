//! Criterion benchmarks for `verisync::mpmc` against its peers: one group per workload, peers
//! in the same group, `u64` payloads, capacity 1024 (see `benches/workloads/mpmc.rs` for what
//! each case does; `examples/compare.rs` runs the same code in a quick table).
//!
//! `cargo bench --bench mpmc` takes two to three minutes: every case moves 2^20 values per
//! iteration, so a few iterations per sample are plenty, flat sampling keeps slow peers from
//! stretching the run, and plots are off. `cargo bench --bench mpmc -- mpmc_4p4c` runs one
//! group.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

#[path = "workloads/common.rs"]
mod common;
#[path = "workloads/mpmc.rs"]
mod mpmc;

fn mpmc_benches(c: &mut Criterion) {
    for workload in mpmc::workloads() {
        let single_thread = workload.id == "mpmc_floor";
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
            .measurement_time(Duration::from_secs(2));
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

criterion_group! {
    name = benches;
    // Plots and the default 100k bootstrap resamples cost more time than the measurements.
    config = Criterion::default().without_plots().nresamples(10_000);
    targets = mpmc_benches
}
criterion_main!(benches);
