//! The Redis backplane through Sentinel, with real `redis-server` processes — a master, a replica and a
//! Sentinel (`redis-server --sentinel`) — on loopback ports: the node finds the master through the
//! Sentinel and follows a failover, the log going on, moving to the new master as soon as the Sentinel
//! announces it (`+switch-master`), not when the old one is demoted, also when the announcement was
//! made while the node's subscription was broken or had gone silent; and when a failover loses entries
//! the old master had acknowledged (the replica was paused while they were written, then the master
//! was killed), the node that delivered them finds its last entry gone, starts a new epoch, and its
//! clients get the stale signal — never a silent gap or an id given twice. `wait_for_replicas` makes a publisher wait for a replica, and
//! says so when none has the event in time.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::{Duration, Instant};

use sisk_tests::redis_cluster::{cli, until};

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::proxy::Proxy;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{hello_and_streams, published, TestServer, LIMIT};

const MASTER: &str = "sisk-main";

/// A master, its replica (in sync), and a Sentinel watching them.
fn replicated() -> Option<(RedisServer, RedisServer, RedisServer)> {
    let master = RedisServer::start()?;
    let replica = RedisServer::start_replica_of(master.port)?;
    let sentinel = RedisServer::start_sentinel(&master, MASTER, Duration::from_millis(1000))?;
    Some((master, replica, sentinel))
}

fn node(backplane: RedisBackplane) -> TestServer {
    TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane))
}

fn sentinel_backplane(sentinel: &RedisServer, prefix: &str) -> RedisBackplane {
    RedisBackplane::sentinel([sentinel.url()], MASTER).key_prefix(prefix)
}

/// A backplane that reaches its Sentinel through `link`.
fn backplane_through(link: &Proxy, prefix: &str) -> RedisBackplane {
    RedisBackplane::sentinel([format!("redis://{}/", link.address())], MASTER).key_prefix(prefix)
}

/// Opens `/sse/ivo` on `node` and publishes "before" there, read back through Redis.
async fn reader_past_before(node: &TestServer) -> EventReader {
    let mut reader = EventReader::open(&node.url("/sse/ivo"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    published(&node.server, "before").await;
    assert_eq!(reader.data(1).await, ["before"]);
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_finds_the_master_through_sentinel_and_follows_a_failover() {
    let Some((master, replica, sentinel)) = replicated() else { return };
    until("the replica is in sync", LIMIT, || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    let a = node(sentinel_backplane(&sentinel, "sentinel"));
    let mut reader = reader_past_before(&a).await;

    // A Sentinel learns of a replica, and whether it can be promoted, from INFO every few seconds: until
    // then it answers NOGOODSLAVE.
    let mut asked = Instant::now();
    until("the Sentinel starts a failover", LIMIT * 4, || {
        asked = Instant::now();
        cli(sentinel.port, &["SENTINEL", "FAILOVER", MASTER]).starts_with("OK")
    })
    .await;
    until("the replica is the master", LIMIT * 2, || cli(replica.port, &["ROLE"]).starts_with("master")).await;
    // Until the old master is told to follow the new one, both take writes: a write to it then is lost
    // when it resyncs (and a node that delivered it tells its clients they are stale, as the next test
    // shows). Here the publish waits for the end of the failover.
    until("the old master follows the new one", LIMIT * 2, || cli(master.port, &["ROLE"]).starts_with("slave")).await;
    published(&a.server, "after").await;
    assert_eq!(reader.data(1).await, ["after"], "the log goes on after the failover, on the new master");
    eprintln!("failover asked → first event delivered after it: {:?}", asked.elapsed());
    let stream = cli(replica.port, &["XRANGE", "{sentinel}:log", "-", "+"]);
    assert!(stream.contains("before") && stream.contains("after"), "both are in the new master's stream:\n{stream}");
}

/// The count of open connections on every node, as `server` reads it from Redis, once it is `expected`
/// or a few seconds passed (each node reports its count every second).
async fn cluster_count(server: &HttpServer, expected: usize) -> usize {
    let deadline = Instant::now() + LIMIT;
    loop {
        let count = server.event_sources().cluster_active_connections().await.unwrap_or(0);
        if count == expected || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes probes on `server` until one is in `stream` on `new_master`, for a few seconds at most (one
/// probe may still reach the old master, if sent before the node heard of the switch).
async fn appends_reach(server: &HttpServer, new_master: &RedisServer, stream: &str) {
    let deadline = Instant::now() + LIMIT * 2;
    for probe in 0.. {
        let data = format!("after {probe}");
        published(server, &data).await;
        if cli(new_master.port, &["XRANGE", stream, "-", "+"]).lines().any(|line| line == data) {
            return;
        }
        assert!(Instant::now() < deadline, "the node never appended to the new master");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A master, its replica (in sync), and a Sentinel watching them, the master one a Sentinel cannot
/// demote (see [`RedisServer::start_refusing_demotion`]): after a failover both take writes, and only
/// what the Sentinel says tells a node to leave the old one.
async fn replicated_undemotable() -> Option<(RedisServer, RedisServer, RedisServer)> {
    let master = RedisServer::start_refusing_demotion()?;
    let replica = RedisServer::start_replica_of(master.port)?;
    let sentinel = RedisServer::start_sentinel(&master, MASTER, Duration::from_millis(1000))?;
    until("the replica is in sync", LIMIT, || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    Some((master, replica, sentinel))
}

/// Asks the Sentinel for a failover and waits until it names the replica the master.
async fn fail_over(sentinel: &RedisServer, replica: &RedisServer) {
    until("the Sentinel starts a failover", LIMIT * 4, || {
        cli(sentinel.port, &["SENTINEL", "FAILOVER", MASTER]).starts_with("OK")
    })
    .await;
    let new_master = replica.port.to_string();
    until("the Sentinel names the new master", LIMIT * 2, || {
        cli(sentinel.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER]).ends_with(&new_master)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_moves_to_the_new_master_when_a_sentinel_announces_it() {
    let Some((master, replica, sentinel)) = replicated_undemotable().await else { return };
    let (a, b) = (node(sentinel_backplane(&sentinel, "switch")), node(sentinel_backplane(&sentinel, "switch")));
    let _ivo = reader_past_before(&a).await;
    // A's query connection opens, on this master (B reports no connection).
    assert_eq!(cluster_count(&a.server, 1).await, 1);

    fail_over(&sentinel, &replica).await;
    // What the node appends from now on goes to the new master, and its stream reads on from there.
    appends_reach(&a.server, &replica, "{switch}:log").await;
    assert!(cli(master.port, &["ROLE"]).starts_with("master"), "the old master was not demoted");
    // The reading connection moved too: a new stream is sent what is appended to the new master now.
    // (The first one may have been told it is stale, had a probe landed on the old master.)
    let mut reader = EventReader::open(&a.url("/sse/lena"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    // So did the query connection: A reads the count B now reports to the new master.
    let mut on_b = EventReader::open(&b.url("/sse/ana"), None).await;
    assert_eq!(on_b.data(1).await, ["open"]);
    assert_eq!(cluster_count(&a.server, 3).await, 3, "A read B's count on the old master");
    published(&a.server, "moved").await;
    let deadline = Instant::now() + LIMIT * 2;
    while reader.next_data().await.data.as_deref() != Some("moved") {
        assert!(Instant::now() < deadline, "the stream never read \"moved\" from the new master");
    }
    let old = cli(master.port, &["XRANGE", "{switch}:log", "-", "+"]);
    assert!(!old.lines().any(|line| line == "moved"), "\"moved\" went to the old master:\n{old}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_announced_while_the_node_was_not_listening_is_found_when_it_listens_again() {
    let Some((_master, replica, sentinel)) = replicated_undemotable().await else { return };
    // The node reaches the Sentinel through a link the test controls.
    let link = Proxy::start(([127, 0, 0, 1], sentinel.port).into()).await;
    let a = node(backplane_through(&link, "relisten"));
    let _reader = reader_past_before(&a).await;

    // The announcement is held by the partitioned link, then lost with the connection it was held on.
    link.partition();
    fail_over(&sentinel, &replica).await;
    link.cut();
    link.heal();
    appends_reach(&a.server, &replica, "{relisten}:log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_connection_gone_silent_is_noticed_and_listened_to_again() {
    let Some((_master, replica, sentinel)) = replicated_undemotable().await else { return };
    let link = Proxy::start(([127, 0, 0, 1], sentinel.port).into()).await;
    let a = node(backplane_through(&link, "silent"));
    let _reader = reader_past_before(&a).await;

    // The node's subscription hears nothing more, and is not closed; new connections get through.
    link.strand();
    fail_over(&sentinel, &replica).await;
    appends_reach(&a.server, &replica, "{silent}:log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_a_failover_lost_are_a_stale_signal_not_a_silent_gap() {
    // The replica replicates through a link the test can partition, so that what the master writes
    // meanwhile never reaches it.
    let Some(mut master) = RedisServer::start() else { return };
    let link = Proxy::start(([127, 0, 0, 1], master.port).into()).await;
    let Some(replica) = RedisServer::start_replica_of(link.address().port()) else { return };
    let Some(sentinel) = RedisServer::start_sentinel(&master, MASTER, Duration::from_millis(1000)) else { return };
    until("the replica is in sync", LIMIT, || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    let a = node(sentinel_backplane(&sentinel, "lossy"));
    let mut reader = EventReader::open(&a.url("/sse/ivo"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    published(&a.server, "kept").await;
    until("the replica has it", LIMIT, || cli(replica.port, &["XLEN", "{lossy}:log"]).trim() != "0").await;
    assert_eq!(reader.data(1).await, ["kept"]);

    // The replica falls behind; the master acknowledges two more, which the client receives.
    link.partition();
    published(&a.server, "lost 1").await;
    published(&a.server, "lost 2").await;
    assert_eq!(reader.data(2).await, ["lost 1", "lost 2"]);
    // The master dies before the replica has them (what the link held goes with it); the Sentinel
    // promotes the replica.
    master.kill();
    drop(link);
    until("the Sentinel promotes the replica", LIMIT * 4, || cli(replica.port, &["ROLE"]).starts_with("master")).await;

    let signal = reader.next_data().await;
    assert_eq!(
        (signal.event.as_deref(), signal.data.as_deref()),
        (Some("stale"), Some("other-epoch")),
        "what the client saw is gone: it is told so"
    );
    // The log goes on under the new epoch, with ids after the lost ones (none given twice).
    published(&a.server, "new").await;
    let next = reader.next_data().await;
    assert_eq!(next.data.as_deref(), Some("new"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_replica_answers_once_it_has_the_event_and_says_when_none_does() {
    let Some((_master, replica, sentinel)) = replicated() else { return };
    until("the replica is in sync", LIMIT, || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    let backplane = sentinel_backplane(&sentinel, "wait").wait_for_replicas(1, Duration::from_millis(500));
    let a = node(backplane);
    published(&a.server, "replicated").await;
    assert!(
        cli(replica.port, &["XRANGE", "{wait}:log", "-", "+"]).contains("replicated"),
        "on the replica when answered"
    );

    replica.pause();
    let refused = a.server.event_sources().publish_async(Audience::All, &Event::new().data("alone")).await.unwrap_err();
    replica.resume();
    assert_eq!(refused.kind(), sisk::ErrorKind::NotReplicated, "{refused}");
    assert!(refused.to_string().contains("only 0 of the 1 replicas"), "{refused}");
}
