use sisk::prelude::*;

#[route(RouteMethod::Fetch, "/")]
async fn fetch(_req: HttpRequest) -> &'static str {
    "fetch"
}

#[route_get(42)]
async fn number(_req: HttpRequest) -> &'static str {
    "number"
}

fn main() {}
