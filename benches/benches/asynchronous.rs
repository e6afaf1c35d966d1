//! Criterion benchmarks for verisync's async operations (`send_async`/`recv_async` on the
//! channels, `Semaphore::acquire_async`) against their async peers: one group per workload,
//! peers in the same group, every task on one shared tokio runtime of two worker threads (see
//! `benches/src/asynchronous.rs` for what each case does; the compare program,
//! `benches/src/bin/compare/`, runs the same code in a quick table).
//!
//! `cargo bench -p verisync-benches --bench asynchronous` takes about a minute
//! (`benches/src/bench.rs` says how the groups are sampled); `... --bench asynchronous --
//! async_fanin_1000` runs one group.

use criterion::{Criterion, criterion_group, criterion_main};
use verisync_benches::{asynchronous, bench};

fn asynchronous_benches(c: &mut Criterion) {
    bench::run(c, asynchronous::workloads());
}

criterion_group! {
    name = benches;
    config = bench::criterion_config();
    targets = asynchronous_benches
}
criterion_main!(benches);
