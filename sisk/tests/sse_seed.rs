//! One test per code block of the seed page (`shared/seed-server-sent-events.pt-BR.md`), written as the
//! book prints them, checked end to end over real sockets. (The `#[route_get("/sse")]` form of the ping
//! snippet is exercised by the attribute-route tests.)

mod support;

use sisk::prelude::*;
use support::{eventually, open_events, Events, TestServer};

/// "Criando uma Conexão SSE"
#[tokio::test]
async fn creating_a_connection() {
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("Olá, mundo!");
        sse.close()
    });
    let server = TestServer::start(r);

    let response = open_events(&server.url("/")).await;
    assert_eq!(response.headers()["cache-control"], "no-store, no-cache");
    assert_eq!(response.text().await.unwrap(), "data: Olá, mundo!\n\n", "exact bytes, then the stream ends");
}

/// "Anexando Cabeçalhos"
#[tokio::test]
async fn appending_headers() {
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.append_header("Header-Key", "Header-value")?;
        sse.send("Olá!");
        Ok(sse.close())
    });
    let server = TestServer::start(r);

    let response = open_events(&server.url("/")).await;
    assert_eq!(response.headers()["header-key"], "Header-value");
    assert_eq!(Events::new(response).rest().await, ["Olá!"]);
}

/// "Observe que é necessário enviar os cabeçalhos antes de enviar qualquer mensagem": afterwards it is
/// an error, never a silent no-op, and a header value cannot smuggle a line break.
#[tokio::test]
async fn appending_headers_after_the_first_message_is_an_error() {
    let (action, mut errors) = support::reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        let injected = sse.append_header("X-Evil", "a\r\nSet-Cookie: owned=1").unwrap_err();
        let bad_name = sse.append_header("Bad Name:", "value").unwrap_err();
        sse.send("Olá!");
        let late = sse.append_header("Header-Key", "Header-value").unwrap_err();
        report.report((injected, bad_name, late));
        sse.close()
    });
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", action);
    let server = TestServer::start(r);
    let response = open_events(&server.url("/")).await;
    assert!(response.headers().get("header-key").is_none());
    assert!(response.headers().get("set-cookie").is_none());
    let (injected, bad_name, late) = errors.next().await;
    assert_eq!(injected.kind(), sisk::ErrorKind::InvalidHeader, "{injected}");
    assert_eq!(bad_name.kind(), sisk::ErrorKind::InvalidHeader, "{bad_name}");
    assert_eq!(late.kind(), sisk::ErrorKind::HeadersAlreadySent, "{late}");
}

/// "Conexões de Espera por Falha": the handler waits; the server finds the connection by identifier
/// from outside the route and sends to it; when the client leaves, the wait returns and the
/// connection leaves the collection.
#[tokio::test]
async fn wait_for_fail_connections_found_by_identifier() {
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source("my-index-connection");
        sse.wait_for_fail(Duration::from_secs(15)).await; // 15 s without any message ends it
        sse.close()
    });
    let test_server = TestServer::start(r);
    let server = test_server.server.clone();

    let mut events = Events::new(open_events(&test_server.url("/")).await);
    eventually("the connection is registered", || server.event_sources().active_connections() == 1).await;

    if let Some(evs) = server.event_sources().get_by_identifier("my-index-connection") {
        // the connection is still alive
        evs.send("Olá novamente!");
    }
    assert_eq!(events.next().await.unwrap().data, "Olá novamente!");

    drop(events);
    eventually("the closed connection is removed", || server.event_sources().active_connections() == 0).await;
    assert!(server.event_sources().get_by_identifier("my-index-connection").is_none());
}

/// "Configurando a Política de Ping das Conexões" (the route as a closure; a short interval so the test
/// sees several pings).
#[tokio::test]
async fn ping_policy() {
    let mut r = Router::new();
    r += Route::get("/sse", |request: HttpRequest| async move {
        let sse = request.get_event_source(None);
        sse.with_ping(|ping| {
            ping.data_message = "ping-message".into();
            ping.interval = Duration::from_millis(50);
            ping.start();
        });
        sse.keep_alive().await;
        sse.close()
    });
    let server = TestServer::start(r);

    let mut response = open_events(&server.url("/sse")).await;
    let mut body = String::new();
    while body.matches(": ping-message\n\n").count() < 3 {
        let chunk = tokio::time::timeout(support::LIMIT, response.chunk()).await.unwrap().unwrap().unwrap();
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(body, ": ping-message\n\n".repeat(body.matches(": ping-message").count()), "only pings on the wire");
}

/// "Consultando Conexões"
#[tokio::test]
async fn querying_connections() {
    let mut r = Router::new();
    r += Route::get("/sse/<name>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("name"));
        sse.keep_alive().await;
        sse.close()
    });
    let test_server = TestServer::start(r);
    let server = test_server.server.clone();

    let mut matching = Vec::new();
    for name in ["my-connection-1", "my-connection-2"] {
        matching.push(Events::new(open_events(&test_server.url(&format!("/sse/{name}"))).await));
    }
    let mut other = Events::new(open_events(&test_server.url("/sse/other")).await);
    eventually("three connections", || server.event_sources().active_connections() == 3).await;

    let evs: Vec<HttpRequestEventSource> = server.event_sources().find(|es| es.starts_with("my-connection-"));
    assert_eq!(evs.len(), 2);
    for e in evs {
        e.send("Transmitindo para todas as fontes de eventos que começam com 'my-connection-'");
    }
    let everyone = server.event_sources().all();
    assert_eq!(everyone.len(), 3);

    for events in &mut matching {
        let event = events.next().await.unwrap();
        assert_eq!(event.data, "Transmitindo para todas as fontes de eventos que começam com 'my-connection-'");
    }
    server.event_sources().get_by_identifier("other").unwrap().send("only for other");
    assert_eq!(other.next().await.unwrap().data, "only for other", "the broadcast did not reach `other`");
}
