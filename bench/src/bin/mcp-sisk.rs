//! The MCP fixtures of the benchmark ([`sisk_bench::mcp::fixtures`]) served by sisk as its book shows:
//! `use_mcp` fills the server's `McpProvider` with two typed tools, and `map_any("/mcp")` serves it with
//! `req.handle_mcp_request()`. Everything else is sisk's default: sessions in memory, streams on the
//! in-memory event log (10,000 events, replay of up to 1,000).
//!
//! `mcp-sisk [address]` (default `127.0.0.1:0`); prints `listening on <address>`.

use sisk::mcp::{McpTool, McpToolContext, McpToolResult};
use sisk::prelude::*;
use sisk_bench::contract::{announce, server_address};
use sisk_bench::mcp::fixtures::{count_answer, CountArguments, EchoArguments, COUNT, ECHO, ENDPOINT};

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    let mut router = Router::new();
    router.map_any(ENDPOINT, |req: HttpRequest| async move { req.handle_mcp_request().await });

    let url = format!("http://{}/", server_address());
    let app = HttpServer::create_builder()
        .use_listening_port(url.as_str())
        .use_mcp(|mcp| {
            mcp.server_name = "mcp-bench".into();
            mcp.tools.add(McpTool::typed(
                ECHO,
                "Answers its text.",
                |echo: EchoArguments, _: McpToolContext| async move { McpToolResult::create_text(echo.text) },
            ));
            mcp.tools.add(McpTool::typed(
                COUNT,
                "Sends n progress notifications, then answers.",
                |count: CountArguments, context: McpToolContext| async move {
                    if let Some(refusal) = count.refusal() {
                        return McpToolResult::create_error(refusal);
                    }
                    for done in 1..=count.n {
                        context.notify_progress(done as f64, Some(count.n as f64), None);
                    }
                    tokio::time::sleep(count.hold()).await;
                    McpToolResult::create_text(count_answer(count.n))
                },
            ));
        })
        .use_router(router)
        .build()?;
    announce(app.local_addr());
    app.start().await
}
