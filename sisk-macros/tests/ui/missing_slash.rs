use sisk::prelude::*;

#[route_post("users")]
async fn create(_req: HttpRequest) -> &'static str {
    "created"
}

fn main() {}
