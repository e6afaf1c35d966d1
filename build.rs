//! Three build-time switches.
//!
//! - loom: `--cfg loom`, loom's own convention, which a user sets for their whole build to
//!   model-check their code, turns on `cfg(verisync_loom)` here, so verisync's atomics, locks
//!   and threads are loom's too. `--cfg verisync_loom` alone does the same for verisync only:
//!   verisync's own loom tests use it, because `--cfg loom` reaches every crate of the build
//!   and some of the benchmark peers among verisync's dev-dependencies do not build under it.
//! - shuttle: `--cfg shuttle` (or `--cfg verisync_shuttle`) turns on `cfg(verisync_shuttle)`,
//!   shuttle's types. A cfg and not a Cargo feature: features are unified across a build, so a
//!   feature enabled for a user's shuttle tests would also switch the plain `#[test]`s of the
//!   same crate to shuttle's types, which only work inside `shuttle::check_*`.
//! - Seeded bugs: `VERISYNC_MUTANT=<name>` builds this crate with
//!   `cfg(verisync_mutant = "<name>")`. `RUSTFLAGS='--cfg verisync_mutant="<name>"'` does the
//!   same but rebuilds every dependency; the variable only rebuilds verisync, which keeps
//!   `.ci/mutants` fast.

fn main() {
    // Cargo sets `CARGO_CFG_<NAME>` for every cfg the build's `RUSTFLAGS` carry.
    let loom = is_set("CARGO_CFG_LOOM") || is_set("CARGO_CFG_VERISYNC_LOOM");
    let shuttle = is_set("CARGO_CFG_SHUTTLE") || is_set("CARGO_CFG_VERISYNC_SHUTTLE");
    assert!(
        !(loom && shuttle),
        "verisync: the build sets both a loom cfg and a shuttle cfg; a model-checking build \
         uses one checker, so set only `--cfg loom` or only `--cfg shuttle` in RUSTFLAGS"
    );
    if loom {
        println!("cargo::rustc-cfg=verisync_loom");
    }
    if shuttle {
        println!("cargo::rustc-cfg=verisync_shuttle");
    }
    println!("cargo::rerun-if-env-changed=VERISYNC_MUTANT");
    if let Ok(name) = std::env::var("VERISYNC_MUTANT")
        && !name.is_empty()
    {
        println!("cargo::rustc-cfg=verisync_mutant=\"{name}\"");
    }
}

fn is_set(variable: &str) -> bool {
    std::env::var_os(variable).is_some()
}
