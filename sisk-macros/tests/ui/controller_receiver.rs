use sisk::prelude::*;

struct Counter;

#[route_prefix("/counter")]
impl Counter {
    #[route_post("/add")]
    async fn add(&mut self, _req: HttpRequest) -> &'static str {
        "added"
    }

    #[route_get]
    async fn take(self, _req: HttpRequest) -> &'static str {
        "taken"
    }

    #[route_get("/two")]
    async fn two(&self) -> &'static str {
        "no request"
    }
}

fn main() {}
