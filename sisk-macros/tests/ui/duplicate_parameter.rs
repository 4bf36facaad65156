use sisk::prelude::*;

#[route_get("/a/<id>/b/<id>")]
async fn both(_req: HttpRequest) -> &'static str {
    "both"
}

fn main() {}
