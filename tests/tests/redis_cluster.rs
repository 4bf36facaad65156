//! The Redis backplane on a real Redis Cluster — three masters with a replica each, started by the test on
//! loopback ports and joined with `redis-cli --cluster create` — through the moves a cluster makes under a
//! running app: the slot of the app's hash tag migrating to another master (`ASK` while it moves, `MOVED`
//! after), then a failover of its new master to that master's replica. Events published on one sisk node
//! reach a client of the other through all of it, in order, once. And `wait_for_replicas` there: the
//! `WAIT` goes with the append, to the master of the app's slot, and counts that master's replica.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_replica_counts_the_replica_of_the_apps_master() {
    let Some(servers) = start_cluster().await else { return };
    let entry = servers[0].port;
    let backplane = RedisBackplane::cluster([format!("redis://127.0.0.1:{entry}/")])
        .key_prefix("wait")
        .wait_for_replicas(1, Duration::from_millis(500));
    let a =
        TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane));
    let slot: u16 = cli(entry, &["CLUSTER", "KEYSLOT", "{wait}"]).parse().unwrap();
    let nodes = cluster_nodes(entry);
    let owner = nodes.iter().find(|n| n.master && n.serves(slot)).expect("a master holds the slot");
    let replica_of = |master: &str| {
        let node = nodes.iter().find(|n| n.replica_of.as_deref() == Some(master)).expect("a replica");
        servers.iter().find(|server| server.port == node.port).expect("started by the test")
    };
    let (its_replica, another) = (replica_of(&owner.id), nodes.iter().find(|n| n.master && n.id != owner.id).unwrap());
    let another_replica = replica_of(&another.id);
    for replica in [its_replica, another_replica] {
        until("the replica is in sync", LIMIT, || {
            cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
        })
        .await;
    }
    published(&a.server, "replicated").await;

    // Another shard's replica has nothing to do with it.
    another_replica.pause();
    let answered = a.server.event_sources().publish_async(Audience::All, &Event::new().data("elsewhere")).await;
    another_replica.resume();
    assert!(answered.is_ok(), "{answered:?}");
    // The replica of the app's master does.
    its_replica.pause();
    let refused = a.server.event_sources().publish_async(Audience::All, &Event::new().data("alone")).await.unwrap_err();
    its_replica.resume();
    assert_eq!(refused.kind(), sisk::ErrorKind::NotReplicated, "{refused}");
    assert!(refused.to_string().contains("only 0 of the 1 replicas"), "{refused}");
}
