//! A real Redis Cluster for one test or benchmark: six `redis-server` nodes on loopback ports made three
//! masters with a replica each by `redis-cli --cluster create`, and what a test reads of it (`CLUSTER
//! NODES`); beside them, [`cli`] asks any of these servers a command, and [`until`] waits for what a
//! server says, as long as a cluster or a Sentinel may take.

use std::time::{Duration, Instant};

use crate::redis_server::RedisServer;
use crate::LIMIT;

/// Asks the server on 127.0.0.1:`port` `command` with redis-cli; its answer, trimmed.
pub fn cli(port: u16, command: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(command)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Waits until `condition` holds, checking every 50 ms, for at most `within`.
pub async fn until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    /// Its id.
    pub id: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// True for a master.
    pub master: bool,
    /// Its master's id, for a replica.
    pub replica_of: Option<String>,
    /// The slot ranges it serves (`0-5460 …`).
    pub slots: String,
}

impl ClusterNode {
    /// True when it serves `slot`.
    pub fn serves(&self, slot: u16) -> bool {
        self.slots.split(' ').any(|range| {
            let (from, to) = range.split_once('-').unwrap_or((range, range));
            matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(from), Ok(to)) if from <= slot && slot <= to)
        })
    }
}

/// The nodes of the cluster, as the node on `port` sees them.
pub fn cluster_nodes(port: u16) -> Vec<ClusterNode> {
    cli(port, &["CLUSTER", "NODES"])
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields[1].split(['@', ':']).nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            ClusterNode {
                id: fields[0].to_owned(),
                port,
                master: fields[2].contains("master"),
                replica_of: (fields[3] != "-").then(|| fields[3].to_owned()),
                slots: fields.get(8..).map(|slots| slots.join(" ")).unwrap_or_default(),
            }
        })
        .collect()
}

/// Six nodes made a cluster of three masters with a replica each, once every node says it is ok and
/// every replica is in sync; `None` without `redis-server` (see [`RedisServer::start`]).
pub async fn start_cluster() -> Option<Vec<RedisServer>> {
    let mut servers = Vec::new();
    for _ in 0..6 {
        servers.push(RedisServer::start_cluster_node()?);
    }
    let addresses: Vec<String> = servers.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect();
    let created = std::process::Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .output()
        .expect("redis-cli --cluster create runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stdout));
    until("the cluster is ok on every node", LIMIT * 2, || {
        servers.iter().all(|s| cli(s.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    })
    .await;
    until("every replica is in sync", LIMIT * 2, || {
        servers.iter().all(|s| {
            let info = cli(s.port, &["INFO", "replication"]);
            info.contains("role:master") || info.contains("master_link_status:up")
        })
    })
    .await;
    Some(servers)
}
