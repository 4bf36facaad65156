use sisk::prelude::*;

#[route(RouteMethod::Fetch, "/")]
async fn fetch(_req: HttpRequest) -> &'static str {
    "fetch"
}

#[route_get(42)]
async fn number(_req: HttpRequest) -> &'static str {
    "number"
}

#[route_get("/", cors = false)]
async fn misspelt(_req: HttpRequest) -> &'static str {
    "misspelt"
}

fn main() {}
