//! Routes in another module, to show that `auto_scan` finds them too.

use sisk::prelude::*;

#[route_post("/more/echo")]
pub async fn echo(req: HttpRequest) -> Result<String, sisk::Error> {
    Ok(req.body_string().await?.to_uppercase())
}

#[route(RouteMethod::Delete, "/more/<id>")]
pub async fn remove(req: HttpRequest) -> (StatusCode, String) {
    (StatusCode::ACCEPTED, format!("removed {}", req.route_parameter("id").unwrap_or_default()))
}
