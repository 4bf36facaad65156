//! [`Example`]: one of the example binaries running as its own process on 127.0.0.1, port 0 (through
//! `SISK_LISTENING_PORT`, `http://` or `https://`), found at the address it logs.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::process::Process;

/// How long an example may take to log its address.
const START_LIMIT: Duration = Duration::from_secs(15);

/// A running example, killed when dropped.
#[derive(Debug)]
pub struct Example {
    /// The example's process. Some tests signal it; the others only need it stopped on drop, so for them the
    /// field is never read.
    #[allow(dead_code)]
    pub process: Process,
    base: String,
}

// Each test binary compiles this module, and each uses only some of the ways to start an example.
#[allow(dead_code)]
impl Example {
    /// Starts the example `name` (built by cargo next to the test binary) and waits for its address.
    pub fn start(name: &str) -> Example {
        Self::start_on(name, "http://127.0.0.1:0/")
    }

    /// [`start`](Self::start) with `listening_port` (`http://` or `https://`, port 0) instead.
    pub fn start_on(name: &str, listening_port: &str) -> Example {
        Self::launch(name, listening_port, &[])
    }

    /// [`start`](Self::start) with the environment variables `variables` set for the example (an
    /// example's settings, such as how fast a fake model answers).
    pub fn start_with_env(name: &str, variables: &[(&str, &str)]) -> Example {
        Self::launch(name, "http://127.0.0.1:0/", variables)
    }

    fn launch(name: &str, listening_port: &str, variables: &[(&str, &str)]) -> Example {
        let exe = std::env::current_exe().unwrap();
        let binary = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
        let mut command = Command::new(&binary);
        command.env("SISK_LISTENING_PORT", listening_port).env("NO_COLOR", "1").stderr(Stdio::null());
        command.envs(variables.iter().copied());
        let (process, base) = Process::start(&mut command, START_LIMIT, |line| {
            let at = line.find("listening on ")? + "listening on ".len();
            Some(line[at..].trim_end().trim_end_matches('/').to_owned())
        });
        Example { process, base }
    }

    /// The example's address followed by `path`, e.g. `http://127.0.0.1:40123/events` (`https://` for
    /// an example started on an `https://` port).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
