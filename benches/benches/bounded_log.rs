//! Criterion benchmarks for `verisync::bounded_log` against its peers: one group per workload,
//! peers in the same group, capacity 4096, `u64` and `String` payloads (see
//! `benches/src/bounded_log.rs` for what each case does; the compare program,
//! `benches/src/bin/compare/`, runs the same code in a quick table).
//!
//! The writer groups report writer throughput (two writers, 1M pushes each, while a reader
//! snapshots in a loop, or with no reader in the `writers only` rows); the snapshot groups
//! report snapshots/s times 4096 (see the workload module). `benches/src/bench.rs` says
//! how the groups are sampled; `cargo bench -p verisync-benches --bench bounded_log --
//! bounded_log_writers` runs one group.

use criterion::{Criterion, criterion_group, criterion_main};
use verisync_benches::{bench, bounded_log};

fn bounded_log_benches(c: &mut Criterion) {
    bench::run(c, bounded_log::workloads());
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = bounded_log_benches
}
criterion_main!(benches);
