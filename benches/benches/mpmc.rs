//! Criterion benchmarks for `verisync::mpmc` against its peers: one group per workload, peers
//! in the same group, `u64` payloads, capacity 1024 (see `benches/src/mpmc.rs` for what each
//! case does; the compare program, `benches/src/bin/compare/`, runs the same code in a quick
//! table).
//!
//! `cargo bench -p verisync-benches --bench mpmc` takes two to three minutes
//! (`benches/src/bench.rs` says how the groups are sampled); `... --bench mpmc -- mpmc_4p4c`
//! runs one group.

use criterion::{Criterion, criterion_group, criterion_main};
use verisync_benches::{bench, mpmc};

fn mpmc_benches(c: &mut Criterion) {
    bench::run(c, mpmc::workloads());
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = mpmc_benches
}
criterion_main!(benches);
