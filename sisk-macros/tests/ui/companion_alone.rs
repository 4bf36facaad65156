use sisk::prelude::*;

#[request_handler(RequestHandler::before(|_req| async { None }))]
async fn lonely(_req: HttpRequest) -> &'static str {
    "no route"
}

struct Admin;

#[route_prefix("/admin")]
impl Admin {
    #[bypass_global_request_handler(RequestHandler::before(|_req| async { None }))]
    async fn helper(_req: HttpRequest) -> &'static str {
        "not a route"
    }

    #[route_get]
    #[request_handler]
    async fn index(_req: HttpRequest) -> &'static str {
        "index"
    }
}

fn main() {
    let mut r = Router::new();
    r.set_object(Admin);
}
