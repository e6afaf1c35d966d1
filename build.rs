//! Seeded bugs: `VERISYNC_MUTANT=<name>` builds this crate with `cfg(verisync_mutant = "<name>")`.
//!
//! `RUSTFLAGS='--cfg verisync_mutant="<name>"'` does the same but rebuilds every dependency;
//! the variable only rebuilds verisync, which keeps `.ci/mutants` fast.

fn main() {
    println!("cargo::rerun-if-env-changed=VERISYNC_MUTANT");
    if let Ok(name) = std::env::var("VERISYNC_MUTANT")
        && !name.is_empty()
    {
        println!("cargo::rustc-cfg=verisync_mutant=\"{name}\"");
    }
}
