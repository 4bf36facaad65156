//! A program the tests run to its end (a client script, the conformance suite), its output captured,
//! and killed if it takes longer than the bound given.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` to its end, at most `limit`: its output, or a panic naming it when it takes longer.
pub fn run_to_end(command: &mut Command, limit: Duration) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the program starts");
    let started = Instant::now();
    while child.try_wait().expect("the program can be waited on").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("the program's output")
}
