//! One node of a sisk cluster: run several on one Redis and they act as one server. A broadcast reaches
//! the clients of every node, a send to an identifier reaches it wherever it is connected, and a client
//! that reconnects to any node with `Last-Event-ID` gets every event it missed.
//!
//! ```sh
//! redis-server --port 6379 &
//! REDIS_URL=redis://127.0.0.1:6379/ SISK_LISTENING_PORT=http://127.0.0.1:5001/ cargo run --example cluster-node &
//! REDIS_URL=redis://127.0.0.1:6379/ SISK_LISTENING_PORT=http://127.0.0.1:5002/ cargo run --example cluster-node &
//! curl -N localhost:5001/sse/ana &
//! curl -d 'hello from node 2' 'localhost:5002/broadcast?prefix=a'
//! ```
//!
//! Without `REDIS_URL` it is one node on the built-in in-memory log; nothing else changes. A Redis over TLS
//! with an ACL user is `REDIS_URL=rediss://user:password@host:6380/`, with `REDIS_CA_FILE` naming the PEM
//! file of the CA that signed its certificate when the system does not trust it.
//! `IDENTIFIER_POLICY=replace` makes a new connection replace an open one with its identifier, on any node,
//! as Sisk does (`reject` refuses it; the default keeps both).
//!
//! - `GET /sse/<id>`: an identified event stream, kept open with pings, resumed with `Last-Event-ID`.
//! - `POST /broadcast?prefix=P`: the body, as one event, to every identifier starting with `P` on every
//!   node; answers the event's id.
//! - `POST /send/<id>`: the body to that identifier, on whichever node it is (or when it comes back);
//!   answers the event's id.
//! - Both answer `503` with the reason when the event could not be published (Redis unreachable).
//! - `POST /hello-again/<id>` runs the snippet of Sisk's documentation as it is — find the connection by
//!   its identifier, wherever it is, and send the body to it — and answers `404` if there is none.
//! - `POST /shout?prefix=P`: the documentation's other snippet, `find` and a loop that sends the body to
//!   each connection found; answers how many.
//! - `GET /stats`: `{"local": N, "cluster": M}`, the identified streams open here and on all nodes.

use sisk::backplane::RedisBackplane;
use sisk::http::streams::{Audience, IdentifierPolicy, Published};
use sisk::prelude::*;

/// Publishes the request's body to `audience` and answers with the event's id, or with the status and
/// the reason when it could not be published.
async fn publish(req: HttpRequest, audience: Audience) -> Result<HttpResponse, sisk::Error> {
    let body = req.body_string().await?;
    let event = Event::new().data(body);
    Ok(match req.server().event_sources().publish_async(audience, &event).await {
        Ok(Published { id, .. }) => HttpResponse::new().with_content(id.map(|id| id.to_string()).unwrap_or_default()),
        Err(err) => HttpResponse::from_status(err.status_code().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .with_content(err.to_string()),
    })
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.with_ping(|ping| ping.start());
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::post("/broadcast", |req: HttpRequest| async move {
        let prefix = req.query().get("prefix").unwrap_or_default().to_owned();
        publish(req, Audience::Prefix(prefix.into())).await
    });
    r += Route::post("/send/<id>", |req: HttpRequest| async move {
        let identifier = req.route_parameter("id").unwrap_or_default().to_owned();
        publish(req, Audience::Identifier(identifier.into())).await
    });
    r += Route::post("/hello-again/<id>", |req: HttpRequest| async move {
        let body = req.body_string().await?;
        let server = req.server();
        let identifier = req.route_parameter("id").unwrap_or_default();
        if let Some(evs) = server.event_sources().get_by_identifier(identifier) {
            // the connection is still alive
            evs.send(body);
            return Ok(HttpResponse::new().with_content("sent"));
        }
        Ok::<_, sisk::Error>(HttpResponse::from_status(StatusCode::NOT_FOUND).with_content("no such connection"))
    });
    r += Route::post("/shout", |req: HttpRequest| async move {
        let body = req.body_string().await?;
        let prefix = req.query().get("prefix").unwrap_or_default().to_owned();
        let evs: Vec<HttpRequestEventSource> = req.server().event_sources().find(|es| es.starts_with(&prefix));
        for e in &evs {
            e.send(&body);
        }
        Ok::<_, sisk::Error>(evs.len().to_string())
    });
    r += Route::get("/stats", |req: HttpRequest| async move {
        let sources = req.server().event_sources();
        let cluster = sources.cluster_active_connections().await?;
        Ok::<_, sisk::Error>(
            HttpResponse::new()
                .with_header("content-type", "application/json")
                .with_content(format!("{{\"local\": {}, \"cluster\": {cluster}}}", sources.active_connections())),
        )
    });

    let policy = match std::env::var("IDENTIFIER_POLICY").as_deref() {
        Ok("replace") => IdentifierPolicy::Replace,
        Ok("reject") => IdentifierPolicy::RejectNew,
        _ => IdentifierPolicy::AllowSeveral,
    };
    let mut builder = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_router(r)
        .use_configuration(|config| config.identifier_policy = policy);
    if let Ok(url) = std::env::var("REDIS_URL") {
        let mut backplane = RedisBackplane::new(url).key_prefix("cluster-node");
        if let Ok(path) = std::env::var("REDIS_CA_FILE") {
            let pem = std::fs::read(&path).map_err(|e| {
                sisk::Error::internal(std::io::Error::new(e.kind(), format!("REDIS_CA_FILE={path}: {e}")))
            })?;
            backplane = backplane.tls_root_certificate(pem);
        }
        builder = builder.use_backplane(backplane);
    }
    builder.build()?.start().await
}
