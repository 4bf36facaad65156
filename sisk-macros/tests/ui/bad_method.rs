use sisk::prelude::*;

#[route(RouteMethod::Fetch, "/")]
async fn fetch(_req: HttpRequest) -> &'static str {
    "fetch"
}

#[route_get(42)]
async fn number(_req: HttpRequest) -> &'static str {
    "number"
}

#[route_get("/", usecors = false)]
async fn misspelt(_req: HttpRequest) -> &'static str {
    "misspelt"
}

#[route_get("/policy", cors = false)]
async fn not_a_policy(_req: HttpRequest) -> &'static str {
    "not a policy"
}

fn main() {}
