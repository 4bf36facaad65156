//! Mounting a file server on a router: [`HttpFileServer::create_serving_route`] (Sisk's
//! `HttpFileServer.CreateServingRoute`) and [`Router::map_file_system`] (Sisk's `Router.MapFileSystem`).

use std::sync::Arc;

use super::HttpFileServerHandler;
use crate::routing::{Route, RouteMethod, Router};

/// Creates the routes that serve a directory (Sisk's static `HttpFileServer` class).
#[derive(Debug)]
pub struct HttpFileServer;

impl HttpFileServer {
    /// A `GET` route (which answers `HEAD` too) serving the files under `root_directory_path` at the
    /// paths below `route_prefix`: the route's path is `<route_prefix>/<*path>`.
    ///
    /// A catch-all matches at least one segment, so this route does not answer `route_prefix` itself
    /// (the root directory's index); [`Router::map_file_system`] adds both.
    ///
    /// ```
    /// use sisk::prelude::*;
    /// use sisk::http::file_system::HttpFileServer;
    ///
    /// let mut main_router = Router::new();
    /// // maps /assets to the "public/assets" folder
    /// main_router += HttpFileServer::create_serving_route("/assets", "public/assets");
    /// ```
    pub fn create_serving_route(route_prefix: &str, root_directory_path: impl Into<HttpFileServerHandler>) -> Route {
        let mut handler = root_directory_path.into();
        handler.route_prefix = route_prefix.to_owned();
        serving_route(&below(route_prefix), Arc::new(handler))
    }
}

impl Router {
    /// Serves a directory at `route_prefix` (Sisk's `MapFileSystem`): `route_prefix` itself (the root
    /// directory's index) and every path below it. Takes a root directory, or a configured
    /// [`HttpFileServerHandler`] (its `route_prefix` is set to this one).
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// let mut main_router = Router::new();
    /// // maps the root of the server to the current directory
    /// main_router.map_file_system("/", std::env::current_dir().unwrap());
    /// // maps /assets to the "public/assets" folder
    /// main_router.map_file_system("/assets", "public/assets");
    /// ```
    pub fn map_file_system(&mut self, route_prefix: &str, handler: impl Into<HttpFileServerHandler>) -> &mut Self {
        let mut handler = handler.into();
        handler.route_prefix = route_prefix.to_owned();
        let handler = Arc::new(handler);
        *self += serving_route(route_prefix, handler.clone());
        *self += serving_route(&below(route_prefix), handler);
        self
    }
}

/// The catch-all path below `route_prefix`.
fn below(route_prefix: &str) -> String {
    format!("{}/<*path>", route_prefix.trim_end_matches('/'))
}

fn serving_route(path: &str, handler: Arc<HttpFileServerHandler>) -> Route {
    Route::new(RouteMethod::Get, path, move |request| {
        let handler = handler.clone();
        async move { handler.handle_request(request).await }
    })
}
