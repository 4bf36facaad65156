//! [`ServerProcess`]: one server binary of the contract, started from the directory of the running driver
//! (`target/release`) — or any program that says where it listens — read for its address, measured
//! through `/proc`, and killed when dropped.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{cpu_time, rss_bytes};

/// The servers the driver compares, by the suffix of their binary (`server-<name>`); sisk first.
pub const SERVERS: [&str; 4] = ["sisk", "hyper", "axum", "tokio"];

/// How long a server is left alone before its CPU time is read at the end of a measurement.
const SETTLE: Duration = Duration::from_millis(50);

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    /// The suffix of its binary.
    pub name: &'static str,
    /// The address it listens on.
    pub addr: SocketAddr,
    child: Child,
}

impl ServerProcess {
    /// Starts `server-<name>` from the driver's own directory on `127.0.0.1:0` and waits for its address.
    pub fn start(name: &'static str) -> io::Result<Self> {
        let directory = std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| io::Error::other("the driver has no directory"))?;
        Self::start_binary(name, &directory.join(format!("server-{name}")))
    }

    /// Starts the server binary at `binary` on `127.0.0.1:0` and waits for its address.
    pub fn start_binary(name: &'static str, binary: &Path) -> io::Result<Self> {
        let mut command = Command::new(binary);
        command.arg("127.0.0.1:0");
        Self::start_command(name, command)
    }

    /// Starts `command` and waits for the line of its standard output that says `listening on <address>`,
    /// anywhere in the line (as a logger prints it), the address bare (`127.0.0.1:8080`) or as a URL
    /// (`http://127.0.0.1:8080/`). The rest of its standard output is read and dropped, so a chatty
    /// server never blocks on a full pipe.
    pub fn start_command(name: &'static str, mut command: Command) -> io::Result<Self> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {program}: {e} (build it first)")))?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = announced_address(&line) {
                    let _ = sender.send(addr);
                }
            }
        });
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(addr) => Ok(ServerProcess { name, addr, child }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!("{program} did not announce its address within {START_TIMEOUT:?}")))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time it has used so far.
    pub fn cpu(&self) -> io::Result<Duration> {
        cpu_time(self.pid())
    }

    /// CPU time it has used so far, read after its threads had a moment to go idle: the kernel brings a
    /// running thread's total up to date only when it is switched out or at a scheduler tick.
    pub async fn cpu_after_settling(&self) -> io::Result<Duration> {
        tokio::time::sleep(SETTLE).await;
        self.cpu()
    }

    /// Asks it to stop with `SIGTERM` (as a supervisor would; valgrind then writes its profile) and waits
    /// for it to exit.
    pub fn terminate(mut self) -> io::Result<()> {
        Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status()?;
        self.child.wait()?;
        Ok(())
    }

    /// Its resident memory in bytes.
    pub fn rss(&self) -> io::Result<u64> {
        rss_bytes(self.pid())
    }
}

/// The address in a `listening on <address>` line.
fn announced_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    let rest = rest.trim().strip_prefix("http://").unwrap_or(rest.trim());
    rest.split(|c: char| c == '/' || c.is_whitespace()).next()?.parse().ok()
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::announced_address;

    #[test]
    fn the_address_is_found_bare_or_as_a_logged_url() {
        let addr = Some("127.0.0.1:8080".parse().unwrap());
        assert_eq!(announced_address("listening on 127.0.0.1:8080"), addr);
        assert_eq!(announced_address("2026-01-01T00:00:00Z  INFO sisk: listening on http://127.0.0.1:8080/"), addr);
        assert_eq!(announced_address("starting"), None);
    }
}
