//! Behind a proxy, over real sockets: forwarding headers from a trusted peer set the client's address, the
//! scheme, the host and the full URL; from anyone else they are ignored, and malformed ones never fail a
//! request. The test client is 127.0.0.1.

mod support;

use sisk::http::ForwardingResolver;
use sisk::prelude::*;
use support::{client, TestServer};

fn serve(trusted: &[&str]) -> TestServer {
    let mut r = Router::new();
    r += Route::get("/where", |req: HttpRequest| async move {
        format!(
            "{}|{}|{}|{}|{}",
            req.remote_address().ip(),
            req.is_secure(),
            req.host().unwrap_or("-"),
            req.authority().unwrap_or("-"),
            req.full_url()
        )
    });
    let resolver = ForwardingResolver::trusting(trusted).unwrap();
    TestServer::start_with(HttpServer::create_builder().use_router(r).use_forwarding_resolver(resolver))
}

async fn ask(server: &TestServer, headers: &[(&str, &str)]) -> String {
    let mut request = client().get(server.url("/where?q=1"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_trusted_proxy_sets_client_scheme_host_and_url() {
    let server = serve(&["127.0.0.1", "10.0.0.0/8"]);
    let x_forwarded = [
        ("x-forwarded-for", "198.51.100.4, 203.0.113.9, 10.1.1.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "shop.example"),
    ];
    assert_eq!(
        ask(&server, &x_forwarded).await,
        "203.0.113.9|true|shop.example|shop.example|https://shop.example/where?q=1"
    );
    let forwarded = [("forwarded", r#"for="[2001:db8::7]:5000";proto=https;host="shop.example:8443", for=10.0.0.3"#)];
    assert_eq!(
        ask(&server, &forwarded).await,
        "2001:db8::7|true|shop.example|shop.example:8443|https://shop.example:8443/where?q=1"
    );
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let server = serve(&["192.0.2.1", "10.0.0.0/8"]);
    let authority = server.addr.to_string();
    let expected = format!("127.0.0.1|false|127.0.0.1|{authority}|http://{authority}/where?q=1");
    let headers = [
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "for=203.0.113.9;proto=https;host=evil.example"),
    ];
    assert_eq!(ask(&server, &headers).await, expected);
}

#[tokio::test]
async fn malformed_forwarding_headers_are_ignored_not_errors() {
    let server = serve(&["127.0.0.1"]);
    let authority = server.addr.to_string();
    let expected = format!("127.0.0.1|false|127.0.0.1|{authority}|http://{authority}/where?q=1");
    let cases: &[&[(&str, &str)]] = &[
        &[("x-forwarded-for", "not-an-address")],
        &[("x-forwarded-for", "1.2.3.4, ,garbage"), ("x-forwarded-proto", "ftp"), ("x-forwarded-host", "a b")],
        &[("forwarded", "for=\"unterminated")],
        &[("forwarded", "for=unknown;proto=gopher")],
    ];
    for headers in cases {
        assert_eq!(ask(&server, headers).await, expected, "{headers:?}");
    }
}

#[tokio::test]
async fn an_http2_request_takes_its_authority_from_the_pseudo_header() {
    let server = serve(&["192.0.2.1"]);
    let h2 = reqwest::Client::builder().http2_prior_knowledge().timeout(support::LIMIT).build().unwrap();
    let response = h2.get(server.url("/where?q=1")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let authority = server.addr.to_string();
    assert_eq!(
        response.text().await.unwrap(),
        format!("127.0.0.1|false|127.0.0.1|{authority}|http://{authority}/where?q=1")
    );
}
