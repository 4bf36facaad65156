//! MCP servers (the Model Context Protocol) over Streamable HTTP, in the shape of Sisk's
//! `Sisk.ModelContextProtocol`: an [`McpProvider`] with its [`tools`](McpProvider::tools),
//! [`resources`](McpProvider::resources) and [`prompts`](McpProvider::prompts), set on the builder with
//! [`use_mcp`](crate::http::HttpServerHostContextBuilder::use_mcp) and served by
//! [`req.handle_mcp_request()`](crate::http::HttpRequest::handle_mcp_request) on a route that takes
//! any method (`router.map_any`, Sisk's `MapAny`).
//!
//! ```no_run
//! use sisk::prelude::*;
//! use sisk::mcp::{JsonSchema, McpTool, McpToolContext, McpToolResult};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), sisk::Error> {
//!     let mut router = Router::new();
//!     router.map_any("/mcp", |req: HttpRequest| async move {
//!         req.handle_mcp_request().await
//!     });
//!
//!     let host = HttpServer::create_builder()
//!         .use_mcp(|mcp| {
//!             mcp.server_name = "math-server".into();
//!             mcp.server_title = "Mathematics server".into();
//!
//!             mcp.tools.add(McpTool::new(
//!                 "math_sum",
//!                 "Sums one or more numbers.",
//!                 JsonSchema::create_object_schema([(
//!                     "numbers",
//!                     JsonSchema::create_array_schema(JsonSchema::create_number_schema())
//!                         .min_items(1)
//!                         .description("The numbers to sum."),
//!                 )])
//!                 .required_properties(["numbers"]),
//!                 |context: McpToolContext| async move {
//!                     let numbers: Vec<f64> = context.argument("numbers")?;
//!                     let sum: f64 = numbers.iter().sum();
//!                     Ok::<_, sisk::Error>(McpToolResult::create_text(format!("Sum result: {sum:.4}")))
//!                 },
//!             ));
//!         })
//!         .use_listening_port("http://127.0.0.1:5000/")
//!         .use_router(router)
//!         .build()?;
//!     host.start().await
//! }
//! ```
//!
//! Beyond Sisk's provider (tools only, JSON answers), the whole server side of the protocol: resources
//! with templates and subscriptions, prompts, completions, logging, progress, cancellation, and the
//! server's own requests to the client (sampling, elicitation) sent on the call's stream with their
//! answers routed back. Every stream is a stream of the server's event log, so a client that loses one
//! — the network, or the server closing it to make it poll — resumes it with `Last-Event-ID` and is sent
//! what it missed, and nothing of another stream. The same endpoint serves the stateless revision
//! 2026-07-28, chosen per request by its `MCP-Protocol-Version`.
//!
//! The parts: `json_rpc` (the messages), `schema` ([`JsonSchema`]), `tool`, `resource` and `prompt`
//! (what a provider offers), `context` ([`McpToolContext`]), `input` (what a handler asks the client
//! for: [`McpInputRequired`], [`McpInput`]), `session` (what the server keeps of each client, and the
//! streams of the log its messages go on), `provider` (the answer to each method), `transport` (the
//! HTTP side of the session revisions: `POST`, `GET`, `DELETE`, the headers, the security checks), and
//! for revision 2026-07-28 `stateless` (its requests), `request_headers` (the headers that mirror the
//! body) and `listen` (its `subscriptions/listen` streams).

mod context;
mod input;
mod json_rpc;
mod listen;
mod prompt;
mod provider;
mod request_headers;
mod resource;
mod schema;
mod session;
mod stateless;
mod tool;
mod transport;

pub use context::McpToolContext;
pub use input::{McpInput, McpInputRequired};
pub use prompt::{McpPrompt, McpPromptCollection, McpPromptMessage, McpPromptReply};
pub use provider::{McpCompletionRequest, McpProvider};
pub use resource::{McpResource, McpResourceCollection, McpResourceContents, McpResourceTemplate};
pub use schema::JsonSchema;
pub use session::McpLogLevel;
pub use tool::{IntoToolResult, McpTool, McpToolCollection, McpToolResult};

use crate::http::{HttpRequest, HttpResponse, IntoResponse};

impl HttpRequest {
    /// Serves this request with the server's MCP provider, the one set with
    /// [`use_mcp`](crate::http::HttpServerHostContextBuilder::use_mcp) (Sisk's
    /// `HandleMcpRequestAsync`); without one, a `500` whose logged message says to set it.
    pub async fn handle_mcp_request(&self) -> HttpResponse {
        match self.state::<McpProvider>() {
            Ok(provider) => provider.clone().handle_request(self).await,
            Err(_) => crate::Error::mcp_provider_missing().into_response(),
        }
    }
}
