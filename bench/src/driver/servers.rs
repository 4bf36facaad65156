//! [`ServerProcess`]: one server binary of the contract, started from the directory of the running driver
//! (`target/release`), read for its address, measured through `/proc`, and killed when dropped.

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
        let mut child = Command::new(binary)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e} (build it first)", binary.display()))
            })?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = sender.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        let announced = receiver.recv_timeout(START_TIMEOUT);
        let addr = match announced {
            Ok(Ok(line)) => line.trim().strip_prefix("listening on ").and_then(|a| a.parse().ok()),
            _ => None,
        };
        match addr {
            Some(addr) => Ok(ServerProcess { name, addr, child }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!("server-{name} did not announce its address within {START_TIMEOUT:?}")))
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

    /// Its resident memory in bytes.
    pub fn rss(&self) -> io::Result<u64> {
        rss_bytes(self.pid())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
