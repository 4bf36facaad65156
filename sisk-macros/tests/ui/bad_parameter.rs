use sisk::prelude::*;

#[route_get("/users/<id")]
async fn user(_req: HttpRequest) -> &'static str {
    "user"
}

fn main() {}
