use sisk::prelude::*;

struct Users;

impl Users {
    #[route_get("/users")]
    async fn list(&self, _req: HttpRequest) -> &'static str {
        "list"
    }
}

fn main() {}
