//! The server's handlers in the order they were given, and the calling of one hook on each of them with
//! its panic contained (Sisk's `HttpServerHandlerRepository`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::http::handlers::HttpServerHandler;
use crate::routing::pipeline::panic_message;

/// One handler, with the name of its type for the log of a panicking hook.
struct Registered {
    handler: Box<dyn HttpServerHandler>,
    name: &'static str,
}

/// The handlers of one server, in order.
#[derive(Clone, Default)]
pub(crate) struct ServerHandlers(Arc<[Registered]>);

impl std::fmt::Debug for ServerHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|registered| registered.name)).finish()
    }
}

/// Handlers being given to a builder.
#[derive(Default)]
pub(crate) struct HandlerList(Vec<Registered>);

impl std::fmt::Debug for HandlerList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|registered| registered.name)).finish()
    }
}

impl HandlerList {
    /// Adds `handler` after the ones already given.
    pub(crate) fn push<H: HttpServerHandler>(&mut self, handler: H) {
        self.0.push(Registered { handler: Box::new(handler), name: std::any::type_name::<H>() });
    }

    /// The list, fixed.
    pub(crate) fn freeze(self) -> ServerHandlers {
        ServerHandlers(self.0.into())
    }
}

impl ServerHandlers {
    /// True when there is at least one handler: only then is a request observed to its close.
    pub(crate) fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Calls `hook` on each handler in order; a panic is logged (naming the handler and `what` it was
    /// doing) and the next handler is called.
    pub(crate) fn each(&self, what: &str, mut hook: impl FnMut(&dyn HttpServerHandler)) {
        for registered in self.0.iter() {
            call(registered, what, &mut hook);
        }
    }
}

fn call(registered: &Registered, what: &str, hook: &mut impl FnMut(&dyn HttpServerHandler)) {
    let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| hook(registered.handler.as_ref()))) else {
        return;
    };
    let message = panic_message(&panic);
    let handler = registered.name;
    if crate::notice::unheard() {
        eprintln!("sisk error: the server handler {handler} panicked in {what} ({message}); it is skipped");
    }
    tracing::error!(handler, hook = what, panic = %message, "a server handler panicked; it is skipped");
}
