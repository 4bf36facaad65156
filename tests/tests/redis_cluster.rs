//! The Redis backplane on a real Redis Cluster — three masters with a replica each, started by the test on
//! loopback ports and joined with `redis-cli --cluster create` — through the moves a cluster makes under a
//! running app: the slot of the app's hash tag migrating to another master (`ASK` while it moves, `MOVED`
//! after), then a failover of its new master to that master's replica. Events published on one sisk node
//! reach a client of the other through all of it, in order, once.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use sisk::backplane::RedisBackplane;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_cluster::{cli, cluster_nodes, start_cluster, until};
use sisk_tests::{hello_and_streams, published, TestServer, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_goes_on_through_a_slot_migration_and_a_failover() {
    let Some(servers) = start_cluster().await else { return };
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
    let owner =
        cluster_nodes(entry).into_iter().find(|n| n.master && n.serves(slot_number)).expect("a master holds the slot");
    let target = cluster_nodes(entry).into_iter().find(|n| n.master && n.id != owner.id).expect("another master");
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
    for master in cluster_nodes(entry).iter().filter(|n| n.master) {
        assert_eq!(cli(master.port, &["CLUSTER", "SETSLOT", &slot, "NODE", &target.id]), "OK");
    }
    // The slot moved: the old owner answers MOVED.
    published(&a.server, &publish("moved")).await;

    // The new owner fails over to its replica.
    let replica = cluster_nodes(entry)
        .into_iter()
        .find(|n| n.replica_of.as_deref() == Some(target.id.as_str()))
        .expect("a replica");
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
