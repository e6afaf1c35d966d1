//! Criterion benchmarks for `verisync::semaphore`, `verisync::fanout` and
//! `verisync::error_collector` against their peers: one group per workload, peers in the same
//! group (see `benches/src/coordination.rs` for what each case does; the compare program,
//! `benches/src/bin/compare/`, runs the same code in a quick table).
//!
//! `cargo bench -p verisync-benches --bench coordination -- fanout_200k` runs one group.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use verisync_benches::{bench, coordination};

fn coordination_benches(c: &mut Criterion) {
    bench::run_measuring(c, coordination::workloads(), Duration::from_secs(3));
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = coordination_benches
}
criterion_main!(benches);
