use sisk::prelude::*;

struct Users;

#[route_prefix("/users")]
impl Users {
    #[route_get("/a")]
    #[route_post("/a")]
    async fn both(_req: HttpRequest) -> &'static str {
        "both"
    }

    #[route(RouteMethod::Fetch, "/b")]
    async fn fetch(_req: HttpRequest) -> &'static str {
        "fetch"
    }
}

fn main() {}
