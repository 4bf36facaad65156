//! The MCP fixtures of the benchmark ([`sisk_bench::mcp::fixtures`]) served by rmcp, the official Rust
//! MCP SDK, as its documentation and tests show: a `#[tool_router]` handler, `StreamableHttpService`
//! with a `LocalSessionManager` nested in an axum `Router` at `/mcp`, served by `axum::serve` with
//! `TCP_NODELAY` (as `server-axum`).
//!
//! Its configuration is rmcp's default (sessions on, SSE keep-alive every 15 s, priming events with a
//! 3 s retry) but for `json_response`, which makes a request of revision 2026-07-28 that sends nothing
//! before its answer be answered with JSON, as sisk answers it; a request of a session is answered on an
//! event stream either way.
//!
//! `mcp-rmcp [address] [--channel-capacity N]` (default `127.0.0.1:0`); prints `listening on <address>`.
//! `--channel-capacity` sets the session manager's `SessionConfig::channel_capacity` (default 16): the
//! size of each stream's channel and of the cache a stream resumes from.

use axum::serve::ListenerExt;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ProgressNotificationParam, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use sisk_bench::contract::{announce, server_address};
use sisk_bench::mcp::fixtures::{count_answer, CountArguments, EchoArguments, ENDPOINT};

/// The tools, as a handler of rmcp's.
#[derive(Debug, Clone)]
struct Fixtures {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Fixtures {
    fn new() -> Self {
        Fixtures { tool_router: Self::tool_router() }
    }

    /// `echo` (the method's name is the tool's).
    #[tool(description = "Answers its text.")]
    fn echo(&self, Parameters(echo): Parameters<EchoArguments>) -> String {
        echo.text
    }

    /// `count`.
    #[tool(description = "Sends n progress notifications, then answers.")]
    async fn count(
        &self,
        Parameters(count): Parameters<CountArguments>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        if let Some(refusal) = count.refusal() {
            return Err(ErrorData::invalid_params(refusal, None));
        }
        if let Some(token) = context.meta.get_progress_token() {
            for done in 1..=count.n {
                let progress = ProgressNotificationParam::new(token.clone(), done as f64).with_total(count.n as f64);
                if let Err(error) = context.peer.notify_progress(progress).await {
                    return Err(ErrorData::internal_error(error.to_string(), None));
                }
            }
        }
        tokio::time::sleep(count.hold()).await;
        Ok(count_answer(count.n))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Fixtures {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// `--channel-capacity N` after the address, if given.
fn channel_capacity() -> Option<usize> {
    let arguments: Vec<String> = std::env::args().skip(2).collect();
    match arguments.as_slice() {
        [] => None,
        [flag, value] if flag == "--channel-capacity" => {
            Some(value.parse().unwrap_or_else(|_| panic!("--channel-capacity takes a number, not `{value}`")))
        }
        other => panic!("unknown arguments {other:?}: mcp-rmcp [address] [--channel-capacity N]"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Checked before binding, so that a mistake is not announced as a running server.
    let capacity = channel_capacity();
    let address = server_address();
    let mut sessions = LocalSessionManager::default();
    if let Some(capacity) = capacity {
        sessions.session_config.channel_capacity = capacity;
    }
    let service = StreamableHttpService::new(
        || Ok(Fixtures::new()),
        sessions.into(),
        StreamableHttpServerConfig::default().with_json_response(true),
    );
    let app = axum::Router::new().nest_service(ENDPOINT, service);
    let listener = tokio::net::TcpListener::bind(address).await?;
    announce(listener.local_addr()?);
    let listener = listener.tap_io(|socket| {
        let _ = socket.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
