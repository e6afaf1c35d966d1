//! Criterion benchmarks for `verisync::spsc` against its peers: one group per workload, peers
//! in the same group, `u64` payloads, capacity 1024 (see `benches/src/spsc.rs` for what each
//! case does; the compare program, `benches/src/bin/compare/`, runs the same code in a quick
//! table).
//!
//! `cargo bench -p verisync-benches --bench spsc` takes about two minutes (`benches/src/bench.rs`
//! says how the groups are sampled); `... --bench spsc -- spsc_floor` runs one group.
//!
//! The `spsc_blocking_one_cpu` group pins both threads to one CPU with `sched_setaffinity`
//! (Linux only; elsewhere the threads run unpinned and the group says so when it starts).

use criterion::{Criterion, criterion_group, criterion_main};
use verisync_benches::{bench, common, spsc};

fn spsc_benches(c: &mut Criterion) {
    if !common::PINNING_SUPPORTED {
        eprintln!("note: CPU pinning is not supported here; the one-CPU group runs unpinned");
    }
    bench::run(c, spsc::workloads());
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = spsc_benches
}
criterion_main!(benches);
