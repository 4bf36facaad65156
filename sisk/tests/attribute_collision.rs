//! Two attribute routes that answer the same requests: the server refuses to build, naming both functions.

use sisk::prelude::*;

#[route_get("/twice/<id>")]
async fn first(_req: HttpRequest) -> &'static str {
    "first"
}

#[route_get("/twice/<name>/")]
async fn second(_req: HttpRequest) -> &'static str {
    "second"
}

#[test]
fn colliding_attribute_routes_fail_the_build_naming_both_functions() {
    let mut r = Router::new();
    r.auto_scan();
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    assert_eq!(err.kind(), sisk::ErrorKind::RouteCollision, "{err}");
    let message = err.message();
    assert!(message.contains("attribute_collision::first") && message.contains("attribute_collision::second"), "{err}");
}
