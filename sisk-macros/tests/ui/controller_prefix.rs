use sisk::prelude::*;

struct Users;

#[route_prefix("api/users")]
impl Users {
    #[route_get]
    async fn list(_req: HttpRequest) -> &'static str {
        "list"
    }
}

struct Orders;

#[route_prefix("/orders/<id>")]
impl Orders {
    #[route_get("/lines/<id>")]
    async fn line(_req: HttpRequest) -> &'static str {
        "line"
    }

    #[route_get("/<*rest>")]
    async fn rest(_req: HttpRequest) -> &'static str {
        "rest"
    }
}

struct Files;

#[route_prefix("/files/<*path>")]
impl Files {
    #[route_get("/meta")]
    async fn meta(_req: HttpRequest) -> &'static str {
        "meta"
    }
}

fn main() {}
