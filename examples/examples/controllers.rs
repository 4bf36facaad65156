//! Controllers: `#[route_prefix]` on an `impl` block, with static routes (no `self`) and routes on `&self`
//! that share one instance holding the controller's state, plus routes from another crate.
//!
//! `cargo run --example controllers`, then try:
//! - `curl localhost:5000/api/users` and `curl -X POST localhost:5000/api/users -d ana`
//! - `curl localhost:5000/api/users/1` and `curl localhost:5000/api/users/events` (an SSE stream of new users)
//! - `curl localhost:5000/health/ready` and `curl localhost:5000/version` (routes of the `sisk_examples` crate)

use std::sync::Mutex;

use sisk::prelude::*;

/// The users, in memory where a real service would hold a database pool.
struct UserController {
    users: Mutex<Vec<String>>,
}

#[route_prefix("/api/users")]
impl UserController {
    /// `GET /api/users`: every user, one per line.
    #[route_get]
    async fn list(&self, _req: HttpRequest) -> String {
        self.users.lock().unwrap().join("\n")
    }

    /// `GET /api/users/<id>`: one user by its position, from 1.
    #[route_get("/<id>")]
    async fn get(&self, req: HttpRequest) -> Result<String, sisk::Error> {
        let not_found = || sisk::Error::with_status(StatusCode::NOT_FOUND, "no such user");
        let id: usize = req.route_parameter("id").and_then(|id| id.parse().ok()).ok_or_else(not_found)?;
        let users = self.users.lock().unwrap();
        users.get(id.wrapping_sub(1)).cloned().ok_or_else(not_found)
    }

    /// `POST /api/users`: adds the user named by the body, and tells every `users-` stream.
    #[route_post]
    async fn create(&self, req: HttpRequest) -> Result<(StatusCode, String), sisk::Error> {
        let name = req.body_string().await?.trim().to_owned();
        if name.is_empty() {
            return Err(sisk::Error::with_status(StatusCode::BAD_REQUEST, "send the user's name as the body"));
        }
        let id = {
            let mut users = self.users.lock().unwrap();
            users.push(name.clone());
            users.len()
        };
        // The server's event log gives the event its id, so a client that reconnects gets what it missed.
        let event = Event::new().event("user-created").data(&name);
        req.server().event_sources().broadcast_prefix("users-", &event)?;
        Ok((StatusCode::CREATED, format!("/api/users/{id}")))
    }

    /// `GET /api/users/events`: a stream of `user-created` events (a static route: no `self`).
    #[route_get("/events")]
    async fn events(req: HttpRequest) -> HttpResponse {
        let identifier = format!("users-{}", req.remote_address());
        let sse = req.get_event_source(identifier.as_str());
        sse.with_ping(|ping| ping.start());
        sse.keep_alive().await;
        sse.close()
    }
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r.auto_scan(); // every static route: `UserController::events`, and `version` from the sisk_examples crate
    r.set_object(UserController { users: Mutex::new(vec!["alice".into(), "bob".into()]) });
    r.set_object_type::<sisk_examples::Health>();

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
