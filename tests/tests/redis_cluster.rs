//! The Redis backplane on a real Redis Cluster — three masters with a replica each, started by the test on
//! loopback ports and joined with `redis-cli --cluster create` — through the moves a cluster makes under a
//! running app: the slot of the app's hash tag migrating to another master (`ASK` while it moves, `MOVED`
//! after), then a failover of its new master to that master's replica. Events published on one sisk node
//! reach a client of the other through all of it, in order, once.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::{Duration, Instant};

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{hello_and_streams, TestServer, LIMIT};

/// Asks the node on `port` `command` with redis-cli.
fn cli(port: u16, command: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(command)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Waits until `condition` holds, checking every 50 ms, for at most `within`.
async fn until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One line of `CLUSTER NODES`: id, port, whether it is a master, and its master's id for a replica.
#[derive(Debug, Clone)]
struct Node {
    id: String,
    port: u16,
    master: bool,
    replica_of: Option<String>,
    slots: String,
}

fn nodes(port: u16) -> Vec<Node> {
    cli(port, &["CLUSTER", "NODES"])
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields[1].split(['@', ':']).nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            Node {
                id: fields[0].to_owned(),
                port,
                master: fields[2].contains("master"),
                replica_of: (fields[3] != "-").then(|| fields[3].to_owned()),
                slots: fields[8..].join(" "),
            }
        })
        .collect()
}

/// Six nodes made a cluster of three masters with a replica each, once every node says it is ok.
async fn cluster() -> Option<Vec<RedisServer>> {
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

/// Publishes `data` and waits until Redis took it.
async fn published(server: &HttpServer, data: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT * 2;
    loop {
        match server.event_sources().publish_async(Audience::All, &Event::new().data(data)).await {
            Ok(_) => return,
            Err(err) => {
                assert!(tokio::time::Instant::now() < deadline, "the backplane never took {data:?}: {err}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_goes_on_through_a_slot_migration_and_a_failover() {
    let Some(servers) = cluster().await else { return };
    let entry = servers[0].port;
    let backplane = || RedisBackplane::cluster([format!("redis://127.0.0.1:{entry}/")]).key_prefix("app");
    let a =
        TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane()));
    let b =
        TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane()));
    let mut reader = EventReader::open(&b.url("/sse/ivo"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    let mut expected = Vec::new();
    let mut publish = |n: &str| {
        expected.push(n.to_owned());
        n.to_owned()
    };
    for n in 0..3 {
        published(&a.server, &publish(&format!("steady {n}"))).await;
    }

    // The slot of the hash tag `{app}` moves to another master, its keys with it.
    let slot = cli(entry, &["CLUSTER", "KEYSLOT", "{app}"]);
    let slot_number: u16 = slot.parse().unwrap();
    let owner = nodes(entry)
        .into_iter()
        .find(|n| {
            n.master
                && n.slots.split(' ').any(|range| {
                    let (from, to) = range.split_once('-').unwrap_or((range, range));
                    matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if f <= slot_number && slot_number <= t)
                })
        })
        .expect("a master holds the slot");
    let target = nodes(entry).into_iter().find(|n| n.master && n.id != owner.id).expect("another master");
    assert_eq!(cli(target.port, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &owner.id]), "OK");
    assert_eq!(cli(owner.port, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target.id]), "OK");
    published(&a.server, &publish("migrating")).await;
    let keys = cli(owner.port, &["CLUSTER", "GETKEYSINSLOT", &slot, "100"]);
    let keys: Vec<&str> = keys.lines().collect();
    assert!(keys.contains(&"{app}:log"), "the app's keys are in the slot: {keys:?}");
    let port = target.port.to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    migrate.extend(keys.iter().copied());
    assert_eq!(cli(owner.port, &migrate), "OK");
    // Keys moved, slot not yet: the old owner answers ASK.
    published(&a.server, &publish("asked")).await;
    for master in nodes(entry).iter().filter(|n| n.master) {
        assert_eq!(cli(master.port, &["CLUSTER", "SETSLOT", &slot, "NODE", &target.id]), "OK");
    }
    // The slot moved: the old owner answers MOVED.
    published(&a.server, &publish("moved")).await;

    // The new owner fails over to its replica.
    let replica =
        nodes(entry).into_iter().find(|n| n.replica_of.as_deref() == Some(target.id.as_str())).expect("a replica");
    until("the replica is in sync", LIMIT, || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    assert_eq!(cli(replica.port, &["CLUSTER", "FAILOVER"]), "OK");
    until("the replica is the master", LIMIT * 2, || cli(replica.port, &["ROLE"]).starts_with("master")).await;
    for n in 0..3 {
        published(&a.server, &publish(&format!("after failover {n}"))).await;
    }
    assert_eq!(reader.data(expected.len()).await, expected, "every event, in order, once, through all the moves");
    assert!(cli(replica.port, &["XLEN", "{app}:log"]).parse::<usize>().unwrap() >= expected.len());
}
