//! Helpers shared by the proptest model suites (`tests/model_<prim>.rs`, which include this
//! file with `#[path]`).

use proptest::test_runner::Config;

/// A proptest configuration running `cases` cases, unless `PROPTEST_CASES` asks for another
/// number (a deeper hunt); failures print the minimal case and write no regression files into
/// the source tree.
pub fn config(cases: u32) -> Config {
    let default = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            cases
        },
        failure_persistence: None,
        ..default
    }
}
