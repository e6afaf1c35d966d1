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

/// How long one case may run before the watchdog declares it hung. A case takes milliseconds;
/// this only has to be far above that on a loaded machine.
pub const CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Fails the whole test binary (exit status 101, with `test` and the case named on stderr) if
/// the case that holds the returned guard runs longer than [`CASE_LIMIT`]: a case that blocks
/// forever, as after a lost wake-up, then costs seconds instead of hanging the suite. Exiting
/// is the only way out, because the blocked thread cannot be unblocked from outside.
#[must_use = "the watchdog stops watching when the guard is dropped"]
pub fn watchdog(test: &'static str, case: &dyn std::fmt::Debug) -> Watchdog {
    use std::sync::mpsc::{RecvTimeoutError, channel};

    let case = format!("{case:?}");
    let (done, finished) = channel::<()>();
    let thread = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(CASE_LIMIT) {
            eprintln!(
                "{test}: a case ran for more than {CASE_LIMIT:?}, blocked forever (a lost \
                 wake-up?); failing the test binary.\ncase: {case}"
            );
            std::process::exit(101);
        }
    });
    Watchdog {
        done: Some(done),
        thread: Some(thread),
    }
}

/// The guard of [`watchdog`]: dropping it ends the watch.
pub struct Watchdog {
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Disconnecting the channel ends the watchdog's wait at once.
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
