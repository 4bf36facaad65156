//! HTTPS end to end (the `tls` feature): an `https://` listener with a development certificate,
//! HTTP/2 and HTTP/1.1 chosen by ALPN, an event stream over TLS, and the clients a TLS port must
//! turn away: one that speaks plain HTTP, and one that never says hello.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sisk::prelude::*;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// `GET /version` answers the request's version and full URL; `GET /sse` sends two events and ends.
fn router() -> Router {
    let mut r = Router::new();
    r += Route::get("/version", |req: HttpRequest| async move { format!("{:?} {}", req.version(), req.full_url()) });
    r += Route::get("/sse", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        sse.send("two");
        sse.close()
    });
    r
}

/// A server on an `https://` listener, and the development certificate it presents.
fn https_server(configure: impl FnOnce(&mut HttpServerConfiguration)) -> (TestServer, DevelopmentCertificate) {
    let certificate = DevelopmentCertificate::generate().unwrap();
    let builder =
        HttpServer::create_builder().use_router(router()).use_ssl(certificate.clone()).use_configuration(configure);
    (TestServer::start_with(builder), certificate)
}

/// A client configuration that trusts `certificate` and offers `alpn`.
fn tls_config(certificate: &DevelopmentCertificate, alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate.certificate_der().to_vec().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    config
}

/// An HTTPS client that trusts `certificate` and offers `alpn`.
fn https_client(certificate: &DevelopmentCertificate, alpn: &[&[u8]]) -> reqwest::Client {
    reqwest::Client::builder().use_preconfigured_tls(tls_config(certificate, alpn)).timeout(LIMIT).build().unwrap()
}

fn https_url(server: &TestServer, path: &str) -> String {
    format!("https://{}{path}", server.addr)
}

#[tokio::test]
async fn alpn_gives_http2_to_a_client_that_offers_it() {
    let (server, certificate) = https_server(|_| {});
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(&certificate, &[b"h2", b"http/1.1"])));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.expect("the handshake succeeds for localhost");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let client = https_client(&certificate, &[b"h2", b"http/1.1"]);
    let response = client.get(https_url(&server, "/version")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), format!("HTTP/2.0 {}", https_url(&server, "/version")));
}

#[tokio::test]
async fn a_client_that_offers_only_http1_gets_http1() {
    let (server, certificate) = https_server(|_| {});
    let client = https_client(&certificate, &[b"http/1.1"]);
    let response = client.get(https_url(&server, "/version")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.text().await.unwrap(), format!("HTTP/1.1 {}", https_url(&server, "/version")));
}

#[tokio::test]
async fn an_event_stream_flows_over_tls_on_both_protocols() {
    let (server, certificate) = https_server(|_| {});
    for (alpn, version) in
        [(&[&b"h2"[..]][..], reqwest::Version::HTTP_2), (&[&b"http/1.1"[..]], reqwest::Version::HTTP_11)]
    {
        let client = https_client(&certificate, alpn);
        let response =
            client.get(https_url(&server, "/sse")).header("Accept", "text/event-stream").send().await.unwrap();
        assert_eq!((response.status().as_u16(), response.version()), (200, version));
        assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
        assert_eq!(Events::new(response).rest().await, ["one", "two"]);
    }
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_answered_400_in_plain_text() {
    let (server, _certificate) = https_server(|_| {});
    let answer = exchange(server.addr, b"GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer:?}");
    assert!(answer.ends_with("This port speaks HTTPS: use an https:// URL.\n"), "{answer:?}");
    eventually("the refused connection is closed", || server.server.open_connections() == 0).await;
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_dropped_at_the_head_deadline() {
    let (server, _certificate) = https_server(|config| config.header_read_timeout = Duration::from_millis(300));
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut half_hello = TcpStream::connect(server.addr).await.unwrap();
    half_hello.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    for client in [&mut silent, &mut half_hello] {
        // Well before the default 10 s: the configured 300 ms is what cuts it.
        assert!(closed_within(client, Duration::from_secs(2)).await, "the server closes it");
    }
    eventually("both connections are given back", || server.server.open_connections() == 0).await;
}

#[test]
fn the_listening_port_and_the_certificate_must_agree() {
    let certificate = DevelopmentCertificate::generate().unwrap();
    let without = HttpServer::create_builder().use_listening_port("https://127.0.0.1:0/").build().unwrap_err();
    assert_eq!(without.kind(), sisk::ErrorKind::InvalidListeningPort, "{without}");
    let plain = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_ssl(certificate).build();
    assert!(plain.unwrap_err().message().contains("listen on https://"));
}

#[tokio::test]
async fn listening_hosts_mix_https_and_http_ports_with_the_one_certificate() {
    use sisk::http::ListeningHost;
    let certificate = DevelopmentCertificate::generate().unwrap();
    let builder = HttpServer::create_builder()
        .use_router(router())
        .use_ssl(certificate.clone())
        .add_listening_host(ListeningHost::new("http://127.0.0.1:0/", router()).with_port("https://127.0.0.1:0/"));
    let server = TestServer::start_with(builder);
    let addrs = server.server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 3);
    let https = https_client(&certificate, &[b"http/1.1"]);
    for addr in [addrs[0], addrs[2]] {
        let answer = https.get(format!("https://{addr}/version")).send().await.unwrap().text().await.unwrap();
        assert!(answer.ends_with(&format!("https://{addr}/version")), "{answer}");
    }
    let plain = client().get(format!("http://{}/version", addrs[1])).send().await.unwrap().text().await.unwrap();
    assert!(plain.starts_with("HTTP/1.1 http://"), "{plain}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = HttpServer::create_builder()
        .use_listening_port(format!("https://127.0.0.1:{port}/"))
        .ignore_listening_port_variable()
        .use_ssl(certificate)
        .add_listening_host(ListeningHost::new(format!("http://localhost:{port}/"), Router::new()))
        .build()
        .unwrap_err();
    assert_eq!(refused.kind(), sisk::ErrorKind::InvalidListeningPort);
    assert!(refused.to_string().contains("one address but not one scheme"), "{refused}");
}
