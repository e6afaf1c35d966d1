//! Criterion benchmarks for `verisync::semaphore`, `verisync::fanout` and
//! `verisync::error_collector` against their peers: one group per workload, peers in the same group
//! (see `benches/src/coordination.rs` for what each case does; the compare program (`benches/src/bin/compare/main.rs`) runs
//! the same code in a quick table).
//!
//! `cargo bench -p verisync-benches --bench coordination -- fanout_200k` runs one group.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use verisync_benches::coordination;

fn coordination_benches(c: &mut Criterion) {
    for workload in coordination::workloads() {
        let mut group = c.benchmark_group(workload.id);
        group
            .throughput(Throughput::Elements(workload.items))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1000))
            .measurement_time(Duration::from_secs(3));
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
    targets = coordination_benches
}
criterion_main!(benches);
