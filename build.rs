//! Two build-time switches.
//!
//! - The model checker: `--cfg loom`, loom's own convention, which a user sets for their whole
//!   build to model-check their code, turns on `cfg(verisync_loom)` here, so verisync's atomics,
//!   locks and threads are loom's too. `--cfg verisync_loom` alone does the same for verisync
//!   only: verisync's own loom tests use it, because `--cfg loom` reaches every crate of the
//!   build and some of the benchmark peers among verisync's dev-dependencies do not build
//!   under it.
//! - Seeded bugs: `VERISYNC_MUTANT=<name>` builds this crate with
//!   `cfg(verisync_mutant = "<name>")`. `RUSTFLAGS='--cfg verisync_mutant="<name>"'` does the
//!   same but rebuilds every dependency; the variable only rebuilds verisync, which keeps
//!   `.ci/mutants` fast.

fn main() {
    // Cargo sets `CARGO_CFG_LOOM` when the build's `RUSTFLAGS` carry `--cfg loom`.
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo::rustc-cfg=verisync_loom");
    }
    println!("cargo::rerun-if-env-changed=VERISYNC_MUTANT");
    if let Ok(name) = std::env::var("VERISYNC_MUTANT")
        && !name.is_empty()
    {
        println!("cargo::rustc-cfg=verisync_mutant=\"{name}\"");
    }
}
