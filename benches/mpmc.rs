//! Criterion benchmarks for `verisync::mpmc` against its peers: one group per workload, peers
//! in the same group, `u64` payloads, capacity 1024 (see `benches/workloads/mpmc.rs` for what
//! each case does; `examples/compare.rs` runs the same code in a quick table).
//!
//! `cargo bench --bench mpmc` takes two to three minutes (`benches/workloads/bench.rs` says how
//! the groups are sampled). `cargo bench --bench mpmc -- mpmc_4p4c` runs one group.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "workloads/bench.rs"]
mod bench;
#[path = "workloads/common.rs"]
mod common;
#[path = "workloads/mpmc.rs"]
mod mpmc;

fn mpmc_benches(c: &mut Criterion) {
    bench::run(c, mpmc::workloads());
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = mpmc_benches
}
criterion_main!(benches);
