use sisk::prelude::*;

#[route_get("/borrowed")]
async fn borrowed(_req: &HttpRequest) -> &'static str {
    "borrowed"
}

#[route_post("/string")]
async fn string(body: String) -> String {
    body
}

struct Users;

#[route_prefix("/users")]
impl Users {
    #[route_get("/<id>")]
    async fn get(&self, _req: &HttpRequest) -> &'static str {
        "user"
    }
}

fn main() {}
