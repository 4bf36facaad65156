//! Many nodes acting as one, on a real `redis-server`: three `cluster-node` processes share one event log,
//! and clients that play the load balancer move between them. Every event reaches every client exactly
//! once, in one order, with the same ids; a send to an identifier finds it on any node, or after it
//! reconnects elsewhere; and each fault — Redis down, Redis back, Redis restarted empty, a node killed —
//! costs what the design says and nothing more. The checks that do not need several processes run twice:
//! on three nodes on Redis, and on one node with the built-in in-memory log.
//!
//! Without `redis-server` the Redis tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk_tests::events::{client, EventReader};
use sisk_tests::node::Node;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::LIMIT;

const NODE: &str = env!("CARGO_BIN_EXE_cluster-node");

/// Three nodes on `redis`.
fn three_nodes(redis: &RedisServer) -> [Node; 3] {
    three_nodes_with(redis, &[])
}

/// Three nodes on `redis`, with more environment variables.
fn three_nodes_with(redis: &RedisServer, environment: &[(&str, &str)]) -> [Node; 3] {
    let url = redis.url();
    let start = || Node::start_with(NODE, Some(&url), environment);
    [start(), start(), start()]
}

/// Node `k` of `nodes`, going round: on one node, every client and publisher meets on it.
fn on(nodes: &[Node], k: usize) -> &Node {
    &nodes[k % nodes.len()]
}

/// Waits until `/stats` of `node` says `cluster` streams are open on all nodes together.
async fn wait_for_cluster_count(node: &Node, cluster: usize) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    let wanted = format!("\"cluster\": {cluster}}}");
    loop {
        let stats = client().get(node.url("/stats")).send().await.unwrap().text().await.unwrap();
        if stats.ends_with(&wanted) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the cluster never counted {cluster}: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes until it is accepted (a node that just started may not have reached Redis yet).
async fn publish(node: &Node, path: &str, body: &str) -> String {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let (status, answer) = node.post(path, body).await;
        if status == 200 {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "publishing failed: {status} {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checked on three nodes on Redis, and on one node on the in-memory log.
async fn every_event_reaches_every_client_once_in_one_order(nodes: &[Node]) {
    // Two clients per node, on three nodes or on one.
    let mut readers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for k in 0..2 {
            readers.push(EventReader::open(&node.url(&format!("/sse/c-{n}-{k}")), None).await);
        }
    }
    wait_for_cluster_count(on(nodes, 0), readers.len()).await;

    // Three publishers at once, one per node (all on the one node, on one), 30 events each.
    const EACH: usize = 30;
    let mut publishers = Vec::new();
    for n in 0..3 {
        let url = on(nodes, n).url("/broadcast?prefix=c-");
        publishers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let response = client().post(&url).body(format!("{n}:{i}")).send().await.unwrap();
                assert_eq!(response.status(), 200);
                ids.push(response.text().await.unwrap());
            }
            ids
        }));
    }
    let mut published_ids = Vec::new();
    for publisher in publishers {
        published_ids.extend(publisher.await.unwrap());
    }

    let mut sequences = Vec::new();
    for reader in &mut readers {
        let mut seen = Vec::new();
        for _ in 0..3 * EACH {
            let frame = reader.next_data().await;
            seen.push((frame.id.unwrap(), frame.data.unwrap()));
        }
        sequences.push(seen);
    }
    let first = &sequences[0];
    for (reader, sequence) in sequences.iter().enumerate() {
        assert_eq!(sequence, first, "client {reader} saw another order or other ids");
    }
    let positions: Vec<sisk::http::streams::EventId> = first.iter().map(|(id, _)| id.parse().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0].position() < w[1].position()), "ids increase");
    let mut data: Vec<&str> = first.iter().map(|(_, data)| data.as_str()).collect();
    for n in 0..3 {
        let from_n: Vec<&&str> = data.iter().filter(|d| d.starts_with(&format!("{n}:"))).collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{n}:{i}")).collect();
        assert_eq!(from_n, expected.iter().collect::<Vec<_>>(), "publisher {n}'s events, each once, in its order");
    }
    data.sort_unstable();
    data.dedup();
    assert_eq!(data.len(), 3 * EACH, "no duplicate");
    published_ids.sort();
    let mut received_ids: Vec<String> = first.iter().map(|(id, _)| id.clone()).collect();
    received_ids.sort();
    assert_eq!(published_ids, received_ids, "every publisher was answered the id its event was sent with");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_client_once_in_one_order_on_three_nodes() {
    let Some(redis) = RedisServer::start() else { return };
    every_event_reaches_every_client_once_in_one_order(&three_nodes(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_client_once_in_one_order_on_one_node_in_memory() {
    every_event_reaches_every_client_once_in_one_order(&[Node::start(NODE, None)]).await;
}

/// Checked on three nodes on Redis, and on one node on the in-memory log.
async fn a_send_to_an_identifier_finds_it_and_after_it_moved(nodes: &[Node]) {
    let mut ana = EventReader::open(&on(nodes, 0).url("/sse/ana"), None).await;
    let mut bob = EventReader::open(&on(nodes, 1).url("/sse/bob"), None).await;
    wait_for_cluster_count(on(nodes, 2), 2).await;

    publish(on(nodes, 2), "/send/ana", "for ana, from C").await;
    assert_eq!(ana.data(1).await, ["for ana, from C"]);
    publish(on(nodes, 2), "/send/bob", "for bob").await;
    assert_eq!(bob.data(1).await, ["for bob"], "bob got his own and not ana's");

    // ana goes away; what is sent to her meanwhile waits in the log; she comes back on node B.
    let cursor = ana.last_event_id.clone();
    drop(ana);
    wait_for_cluster_count(on(nodes, 2), 1).await;
    publish(on(nodes, 2), "/send/ana", "while you were away").await;
    publish(on(nodes, 0), "/broadcast?prefix=", "to everyone").await;
    let mut ana = EventReader::open(&on(nodes, 1).url("/sse/ana"), cursor.as_deref()).await;
    assert_eq!(ana.data(2).await, ["while you were away", "to everyone"]);
    assert_eq!(bob.data(1).await, ["to everyone"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_to_an_identifier_finds_it_and_after_it_moved_on_three_nodes() {
    let Some(redis) = RedisServer::start() else { return };
    a_send_to_an_identifier_finds_it_and_after_it_moved(&three_nodes(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_to_an_identifier_finds_it_and_after_it_moved_on_one_node_in_memory() {
    a_send_to_an_identifier_finds_it_and_after_it_moved(&[Node::start(NODE, None)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_of_a_killed_node_resume_on_another_and_miss_nothing() {
    let Some(redis) = RedisServer::start() else { return };
    let mut nodes = three_nodes(&redis);
    let mut reader = EventReader::open(&nodes[0].url("/sse/dora"), None).await;
    wait_for_cluster_count(&nodes[1], 1).await;
    for i in 0..5 {
        publish(&nodes[1], "/broadcast?prefix=dora", &format!("before {i}")).await;
    }
    assert_eq!(reader.data(5).await, (0..5).map(|i| format!("before {i}")).collect::<Vec<_>>());
    nodes[0].kill();
    assert!(reader.next_within(LIMIT).await.is_none(), "the killed node's stream ends");
    for i in 0..5 {
        publish(&nodes[2], "/broadcast?prefix=dora", &format!("after {i}")).await;
    }
    // The load balancer sends the reconnecting browser to another node, with its Last-Event-ID.
    let cursor = reader.last_event_id.clone();
    let mut resumed = EventReader::open(&nodes[1].url("/sse/dora"), cursor.as_deref()).await;
    let expected: Vec<String> = (0..5).map(|i| format!("after {i}")).collect();
    assert_eq!(resumed.data(5).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_publishing_fails_at_once_streams_stay_and_nothing_committed_is_lost() {
    let Some(mut redis) = RedisServer::start() else { return };
    let nodes = three_nodes(&redis);
    let mut reader = EventReader::open(&nodes[0].url("/sse/eve"), None).await;
    wait_for_cluster_count(&nodes[0], 1).await;
    publish(&nodes[1], "/broadcast?prefix=eve", "committed").await;
    assert_eq!(reader.data(1).await, ["committed"]);

    redis.kill();
    let deadline = tokio::time::Instant::now() + LIMIT;
    let refusal = loop {
        let (status, answer) = nodes[1].post("/broadcast?prefix=eve", "lost?").await;
        if status == 503 {
            break answer;
        }
        assert_eq!(status, 200);
        assert!(tokio::time::Instant::now() < deadline, "publishing never failed with Redis down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refusal.contains("could not be published"), "{refusal}");
    // The open stream stays open, and a new connection still resumes from the node's own window.
    let stats = client().get(nodes[0].url("/stats")).send().await.unwrap();
    assert_eq!(stats.status(), 503, "the cluster count needs Redis");
    let cursor = reader.last_event_id.clone();
    let mut second = EventReader::open(&nodes[0].url("/sse/eve-2"), Some("bogus")).await;
    assert_eq!(second.next_within(LIMIT).await.unwrap().event.as_deref(), Some("stale"));
    let mut again = EventReader::open(&nodes[0].url("/sse/eve-3"), cursor.as_deref()).await;

    redis.restart();
    // Redis came back empty: a new epoch, and every open stream is told it is stale.
    for stream in [&mut reader, &mut again] {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let frame = stream.next_within(LIMIT).await.expect("the stream stayed open through the outage");
            if frame.event.as_deref() == Some("stale") {
                assert_eq!(frame.data.as_deref(), Some("other-epoch"));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline);
        }
    }
    publish(&nodes[2], "/broadcast?prefix=eve", "after the restart").await;
    assert_eq!(reader.data(1).await, ["after the restart"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_back_with_its_data_every_node_goes_on_from_its_last_id() {
    let Some(mut redis) = RedisServer::start_persistent() else { return };
    let nodes = three_nodes(&redis);
    let mut reader = EventReader::open(&nodes[0].url("/sse/finn"), None).await;
    wait_for_cluster_count(&nodes[0], 1).await;
    publish(&nodes[1], "/broadcast?prefix=finn", "one").await;
    assert_eq!(reader.data(1).await, ["one"]);
    redis.restart();
    publish(&nodes[1], "/broadcast?prefix=finn", "two").await;
    publish(&nodes[2], "/broadcast?prefix=finn", "three").await;
    let frames = [reader.next_data().await, reader.next_data().await];
    let data: Vec<&str> = frames.iter().map(|f| f.data.as_deref().unwrap()).collect();
    assert_eq!(data, ["two", "three"], "same epoch, nothing stale, nothing lost or repeated");
}

/// Checked on three nodes on Redis, and on one node on the in-memory log.
async fn the_documentation_s_snippets_find_connections_unchanged(nodes: &[Node]) {
    let mut ana = EventReader::open(&on(nodes, 0).url("/sse/my-connection-ana"), None).await;
    let mut bob = EventReader::open(&on(nodes, 1).url("/sse/my-connection-bob"), None).await;
    let mut other = EventReader::open(&on(nodes, 1).url("/sse/other"), None).await;
    wait_for_cluster_count(on(nodes, 2), 3).await;

    // get_by_identifier on node C finds ana on node A (once C has read A's presence from the log).
    let deadline = tokio::time::Instant::now() + LIMIT;
    while on(nodes, 2).post("/hello-again/my-connection-ana", "Olá novamente!").await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "node C never found ana");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ana.data(1).await, ["Olá novamente!"]);
    assert_eq!(on(nodes, 2).post("/hello-again/nobody", "?").await.0, 404);

    // find + a loop, on node C, reaches the two connections whose identifiers match, on A and B.
    assert_eq!(on(nodes, 2).post("/shout?prefix=my-connection-", "to my-connection-*").await, (200, "2".into()));
    assert_eq!(ana.data(1).await, ["to my-connection-*"]);
    assert_eq!(bob.data(1).await, ["to my-connection-*"]);
    publish(on(nodes, 2), "/send/other", "only other").await;
    assert_eq!(other.data(1).await, ["only other"], "the loop did not reach `other`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentation_s_snippets_find_connections_unchanged_on_three_nodes() {
    let Some(redis) = RedisServer::start() else { return };
    the_documentation_s_snippets_find_connections_unchanged(&three_nodes(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentation_s_snippets_find_connections_unchanged_on_one_node_in_memory() {
    the_documentation_s_snippets_find_connections_unchanged(&[Node::start(NODE, None)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_replace_policy_a_new_connection_replaces_the_one_on_another_node() {
    let Some(redis) = RedisServer::start() else { return };
    let nodes = three_nodes_with(&redis, &[("IDENTIFIER_POLICY", "replace")]);
    let mut first = EventReader::open(&nodes[0].url("/sse/gil"), None).await;
    wait_for_cluster_count(&nodes[0], 1).await;
    // The first connection's own presence entry is read back before the second one opens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = EventReader::open(&nodes[1].url("/sse/gil"), None).await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match first.next_within(LIMIT).await {
            None => break,
            Some(_) => assert!(tokio::time::Instant::now() < deadline, "the older connection was not closed"),
        }
    }
    wait_for_cluster_count(&nodes[2], 1).await;
    publish(&nodes[2], "/send/gil", "to the newer one").await;
    assert_eq!(second.data(1).await, ["to the newer one"]);
}

/// Checked on three nodes on Redis, and on one node on the in-memory log.
async fn by_default_one_user_s_two_tabs_both_stay_and_both_receive(nodes: &[Node]) {
    let mut tab_a = EventReader::open(&on(nodes, 0).url("/sse/hana"), None).await;
    let mut tab_b = EventReader::open(&on(nodes, 1).url("/sse/hana"), None).await;
    wait_for_cluster_count(on(nodes, 2), 2).await;
    publish(on(nodes, 2), "/send/hana", "to every tab").await;
    assert_eq!(tab_a.data(1).await, ["to every tab"]);
    assert_eq!(tab_b.data(1).await, ["to every tab"]);
    // find on node C sees both tabs (once C has read both presence entries), and the loop's sends reach
    // each tab once: a remote handle's send is for its one connection, not every one with the identifier.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut attempt = 0;
    while on(nodes, 2).post("/shout?prefix=hana", &format!("shout {attempt}")).await != (200, "2".into()) {
        assert!(tokio::time::Instant::now() < deadline, "node C never found both tabs");
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = format!("shout {attempt}");
    for tab in [&mut tab_a, &mut tab_b] {
        while tab.next_data().await.data.as_deref() != Some(last.as_str()) {}
        let after = tab.next_within(Duration::from_millis(300)).await;
        assert!(after.is_none(), "a tab got more than its one event: {after:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_user_s_two_tabs_both_stay_and_both_receive_on_three_nodes() {
    let Some(redis) = RedisServer::start() else { return };
    by_default_one_user_s_two_tabs_both_stay_and_both_receive(&three_nodes(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_user_s_two_tabs_both_stay_and_both_receive_on_one_node_in_memory() {
    by_default_one_user_s_two_tabs_both_stay_and_both_receive(&[Node::start(NODE, None)]).await;
}

/// The ids a client gets are the ids its publisher was answered, and its cursor resumes it — on one node
/// and the built-in log, with no Redis at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_on_the_in_memory_log_answers_ids_and_resumes() {
    let node = Node::start(NODE, None);
    let mut ana = EventReader::open(&node.url("/sse/ana"), None).await;
    wait_for_cluster_count(&node, 1).await;
    let id = publish(&node, "/send/ana", "hello").await;
    let frame = ana.next_data().await;
    assert_eq!((frame.id.as_deref(), frame.data.as_deref()), (Some(id.as_str()), Some("hello")));
    let cursor = ana.last_event_id.clone();
    drop(ana);
    wait_for_cluster_count(&node, 0).await;
    publish(&node, "/broadcast?prefix=a", "missed").await;
    let mut ana = EventReader::open(&node.url("/sse/ana"), cursor.as_deref()).await;
    assert_eq!(ana.data(1).await, ["missed"]);
}
