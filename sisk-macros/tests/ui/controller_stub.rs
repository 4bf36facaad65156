use sisk::prelude::*;

struct Users;

// A mistake in the controller is reported once, at its token: `set_object` below still compiles.
#[route_prefix("/users")]
impl Users {
    #[route_get("no-slash")]
    async fn list(_req: HttpRequest) -> &'static str {
        "list"
    }
}

fn main() {
    let mut r = Router::new();
    r.set_object(Users);
}
