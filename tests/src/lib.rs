//! Support for the end-to-end suites of this crate: a sisk server on 127.0.0.1 that stops when dropped,
//! raw-socket clients that misbehave in the ways an HTTP library never would, and, for the cluster
//! suite, processes of their own: a `redis-server` ([`redis_server`], over TLS with the certificates of
//! [`tls_files`]; six of them a Redis Cluster, [`redis_cluster`]), sisk nodes ([`node`]), a
//! reader of their event streams ([`events`]), and a load balancer in front of them ([`proxy`]). Every
//! wait is bounded by [`LIMIT`].

pub mod events;
pub mod node;
pub mod process;
pub mod proxy;
pub mod redis_cluster;
pub mod redis_server;
pub mod tls_files;

use sisk::prelude::*;

pub use sisk_test_support::raw::{closed_within, exchange, read_to_close};
pub use sisk_test_support::support::{eventually, unique, TestServer, LIMIT};

/// The routes most suites start from: `GET /hello` answers `hello`; `GET /sse/<id>` opens an identified
/// event stream, sends `open`, and waits until the client leaves; `GET /flood/<id>` opens one and writes
/// 64 KiB events until its queue is full (a client that does not read is evicted), then waits.
pub fn hello_and_streams() -> Router {
    let mut r = Router::new();
    r += Route::get("/flood/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        let chunk = "z".repeat(64 * 1024);
        for _ in 0..1000 {
            if !sse.send(&chunk) {
                break;
            }
            tokio::task::yield_now().await;
        }
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::get("/hello", |_req| async { "hello" });
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r
}

/// Publishes `data` to every connection of `server`'s log and waits until the backplane took it (Redis
/// may not be reachable yet, or be failing over): tries again every 20 ms, for at most three times
/// [`LIMIT`].
pub async fn published(server: &HttpServer, data: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT * 3;
    loop {
        let event = Event::new().data(data);
        match server.event_sources().publish_async(sisk::http::streams::Audience::All, &event).await {
            Ok(_) => return,
            Err(err) => {
                assert!(tokio::time::Instant::now() < deadline, "the backplane never took {data:?}: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}
