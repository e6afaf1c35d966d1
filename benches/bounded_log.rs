//! Criterion benchmarks for `verisync::bounded_log` against its peers: one group per workload,
//! peers in the same group, capacity 4096, `u64` and `String` payloads (see
//! `benches/workloads/bounded_log.rs` for what each case does; `examples/compare.rs` runs the
//! same code in a quick table).
//!
//! The writer groups report writer throughput (two writers, 1M pushes each, while a reader
//! snapshots in a loop, or with no reader in the `writers only` rows); the snapshot groups
//! report snapshots/s times 4096 (see the workload module). Flat sampling and few samples keep
//! the run short; `cargo bench --bench bounded_log -- bounded_log_writers` runs one group.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

#[path = "workloads/bounded_log.rs"]
mod bounded_log;
#[allow(
    dead_code,
    reason = "the bounded log workloads use the workload types, not the two-thread harness"
)]
#[path = "workloads/common.rs"]
mod common;

fn bounded_log_benches(c: &mut Criterion) {
    for workload in bounded_log::workloads() {
        let mut group = c.benchmark_group(workload.id);
        group
            .throughput(Throughput::Elements(workload.items))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
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
    targets = bounded_log_benches
}
criterion_main!(benches);
