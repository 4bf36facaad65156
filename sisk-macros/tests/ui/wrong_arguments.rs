use sisk::prelude::*;

#[route_get("/")]
async fn two(_req: HttpRequest, _extra: u32) -> &'static str {
    "two"
}

#[route_get("/generic")]
async fn generic<T>(_req: HttpRequest) -> &'static str {
    "generic"
}

fn main() {}
