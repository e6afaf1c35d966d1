//! verisync's benchmark workloads, shared by the criterion benches (`benches/<prim>.rs` in
//! this crate) and the compare program (`src/bin/compare/main.rs`, the README's main job): each
//! module lists a primitive's workloads, each workload verisync and its peers side by side.

pub mod asynchronous;
pub mod bench;
pub mod bounded_log;
pub mod common;
pub mod coordination;
pub mod mpmc;
pub mod spsc;
