//! The Redis backplane over TLS with an ACL user, against a real `redis-server` with `--tls-port` and a CA
//! made for the test: the log goes between two nodes over `rediss://`, with the user in the URL or given
//! apart; a client certificate where Redis asks for one; and each way of failing to get in — a wrong
//! password, a certificate signed by a CA the node does not trust, a client certificate missing, a host
//! that does not exist — is told by its cause when publishing fails, never a bare "unreachable".
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::tls_files::TlsFiles;
use sisk_tests::{hello_and_streams, TestServer, LIMIT};

/// Publishes `data` until the backplane takes it.
async fn broadcast(server: &HttpServer, data: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while server.event_sources().publish(Audience::All, &Event::new().data(data)).is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the backplane never took an event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A node on `backplane`.
fn node(backplane: RedisBackplane) -> TestServer {
    TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane))
}

/// Publishes until publishing fails with a message that says `cause`; returns the message.
async fn refusal_saying(server: &HttpServer, cause: &str) -> String {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let published = server.event_sources().publish_async(Audience::All, &Event::new().data("x")).await;
        match published {
            Err(err) if err.to_string().contains(cause) => {
                assert_eq!(err.kind(), sisk::ErrorKind::BrokerUnavailable);
                return err.to_string();
            }
            other => {
                let seen = format!("{other:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "publishing never failed saying {cause:?}; last: {seen}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_goes_between_nodes_over_tls_with_an_acl_user() {
    let files = TlsFiles::make();
    let Some(redis) = RedisServer::start_tls(&files, false, "alice", "s3cret") else { return };
    // The user in the URL on one node, given apart on the other.
    let a = node(
        RedisBackplane::new(redis.tls_url("alice:s3cret")).key_prefix("tls").tls_root_certificate(files.ca.clone()),
    );
    let b = node(
        RedisBackplane::new(redis.tls_url(""))
            .key_prefix("tls")
            .credentials("alice", "s3cret")
            .tls_root_certificate(files.ca.clone()),
    );
    let mut reader = EventReader::open(&b.url("/sse/ivo"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    broadcast(&a.server, "over tls").await;
    assert_eq!(reader.data(1).await, ["over tls"], "from node a to node b through Redis over TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_shown_where_redis_asks_for_one() {
    let files = TlsFiles::make();
    let Some(redis) = RedisServer::start_tls(&files, true, "alice", "s3cret") else { return };
    let without = node(RedisBackplane::new(redis.tls_url("alice:s3cret")).tls_root_certificate(files.ca.clone()));
    let said = refusal_saying(&without.server, "TLS handshake with Redis failed").await;
    assert!(said.contains("client certificate"), "{said}");
    assert!(!said.contains("s3cret"), "the password never shows: {said}");

    let with = node(
        RedisBackplane::new(redis.tls_url("alice:s3cret"))
            .key_prefix("mtls")
            .tls_root_certificate(files.ca.clone())
            .tls_client_certificate(files.client_certificate.clone(), files.client_key.clone()),
    );
    let mut reader = EventReader::open(&with.url("/sse/ivo"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    broadcast(&with.server, "mutual").await;
    assert_eq!(reader.data(1).await, ["mutual"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_to_get_in_is_told_by_its_cause() {
    let files = TlsFiles::make();
    let Some(redis) = RedisServer::start_tls(&files, false, "alice", "s3cret") else { return };

    let wrong_password = node(RedisBackplane::new(redis.tls_url("alice:wrong")).tls_root_certificate(files.ca.clone()));
    let said = refusal_saying(&wrong_password.server, "refused the user or password").await;
    assert!(said.contains("rediss://alice:***@127.0.0.1"), "the URL, without the password: {said}");
    assert!(!said.contains("wrong@"), "{said}");

    let untrusted =
        node(RedisBackplane::new(redis.tls_url("alice:s3cret")).tls_root_certificate(files.other_ca.clone()));
    let said = refusal_saying(&untrusted.server, "TLS handshake with Redis failed").await;
    assert!(said.to_ascii_lowercase().contains("certificate"), "{said}");

    let unknown_host = node(RedisBackplane::new("rediss://no-such-host.invalid:6380/"));
    refusal_saying(&unknown_host.server, "host name is unknown").await;

    let plain_to_tls_port = node(RedisBackplane::new(format!("redis://127.0.0.1:{}/", redis.tls_port.unwrap())));
    refusal_saying(&plain_to_tls_port.server, "Redis at redis://127.0.0.1").await;
}
