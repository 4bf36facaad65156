//! The math server of Sisk's MCP page: one tool, `math_sum`, on `http://localhost:5000/mcp`.
//!
//! `cargo run --example mcp-server`, then point an MCP client (MCP Inspector, Claude Desktop, an SDK) at
//! `http://localhost:5000/mcp` over Streamable HTTP.

use sisk::mcp::{JsonSchema, McpTool, McpToolContext, McpToolResult};
use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut router = Router::new();
    router.map_any("/mcp", |req: HttpRequest| async move { req.handle_mcp_request().await });

    let host = HttpServer::create_builder()
        .use_mcp(|mcp| {
            mcp.server_name = "math-server".into();
            mcp.server_title = "Mathematics server".into();

            mcp.tools.add(McpTool::new(
                "math_sum",
                "Sums one or more numbers.",
                JsonSchema::create_object_schema([(
                    "numbers",
                    JsonSchema::create_array_schema(JsonSchema::create_number_schema())
                        .min_items(1)
                        .description("The numbers to sum."),
                )])
                .required_properties(["numbers"]),
                |context: McpToolContext| async move {
                    let numbers: Vec<f64> = context.argument("numbers")?;
                    let sum: f64 = numbers.iter().sum();
                    Ok::<_, sisk::Error>(McpToolResult::create_text(format!("Sum result: {sum:.4}")))
                },
            ));
        })
        .use_listening_port("http://localhost:5000/")
        .use_router(router)
        .build()?;
    host.start().await
}
