//! [`Process`]: a child started in its own process group, ready once a line of its stdout says so, and
//! stopped together with everything it started when dropped — on success and on a failed assertion alike.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running child process. Dropping it kills its whole process group, so a program it started (a
/// browser started by its driver) does not outlive the test.
#[derive(Debug)]
pub struct Process {
    /// The child itself.
    pub child: Child,
}

impl Process {
    /// Starts `command` in a new process group and waits, at most `limit`, for a line of its stdout from
    /// which `ready` extracts a value (an address, a port); returns the process and that value.
    ///
    /// # Panics
    /// When the program cannot be started, or says nothing `ready` accepts within `limit`.
    pub fn start(
        command: &mut Command,
        limit: Duration,
        ready: impl Fn(&str) -> Option<String> + Send + 'static,
    ) -> (Process, String) {
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut process = Process { child };
        let stdout = process.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads to the end, so a chatty child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(value) = ready(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        let value =
            rx.recv_timeout(limit).unwrap_or_else(|_| panic!("{program} did not say it was ready within {limit:?}"));
        (process, value)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The child leads its own group (`process_group(0)`), so the group id is its pid.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
