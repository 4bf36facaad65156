//! [`Node`]: the `cluster-node` example running as a process of its own on a free loopback port, so a
//! test can kill it as a crash would.

use std::process::Command;
use std::time::Duration;

use crate::process::Process;

/// How long a node may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(15);

/// A running node; dropping it kills it.
#[derive(Debug)]
pub struct Node {
    process: Option<Process>,
    base: String,
}

impl Node {
    /// Starts the node program `binary` on the Redis at `redis` (or on its own in-memory log).
    pub fn start(binary: &str, redis: Option<&str>) -> Node {
        Self::start_with(binary, redis, &[])
    }

    /// [`start`](Self::start) with more environment variables.
    pub fn start_with(binary: &str, redis: Option<&str>, environment: &[(&str, &str)]) -> Node {
        let mut command = Command::new(binary);
        command.env("SISK_LISTENING_PORT", "http://127.0.0.1:0/").env("NO_COLOR", "1").env_remove("REDIS_URL");
        command.envs(environment.iter().copied());
        if let Some(url) = redis {
            command.env("REDIS_URL", url);
        }
        let (process, base) = Process::start(&mut command, START_LIMIT, |line| {
            let at = line.find("listening on http://")?;
            Some(line[at + "listening on ".len()..].trim_end_matches('/').to_owned())
        });
        Node { process: Some(process), base }
    }

    /// The node's address followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The node's address on loopback.
    pub fn address(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().expect("a node listens on an IP address and port")
    }

    /// Kills the node at once (SIGKILL): its clients see their connections drop.
    pub fn kill(&mut self) {
        self.process.take();
    }

    /// `POST`s `body` to `path`; returns the status and the answer.
    pub async fn post(&self, path: &str, body: &str) -> (u16, String) {
        let response =
            crate::events::client().post(self.url(path)).body(body.to_owned()).send().await.expect("the node answers");
        (response.status().as_u16(), response.text().await.expect("a body"))
    }
}
