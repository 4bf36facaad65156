//! The math server of Sisk's MCP page: its tool `math_sum`, and beside it a typed tool, `math_mean`, whose
//! schema comes from its arguments' type, on `http://localhost:5000/mcp`.
//!
//! `cargo run --example mcp-server`, then point an MCP client (MCP Inspector, Claude Desktop, an SDK) at
//! `http://localhost:5000/mcp` over Streamable HTTP.

use sisk::mcp::{JsonSchema, McpTool, McpToolContext, McpToolResult};
use sisk::prelude::*;

/// The arguments of `math_mean`: its schema is derived from them.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Mean {
    /// The numbers to average.
    #[schemars(length(min = 1))]
    numbers: Vec<f64>,
}

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

            mcp.tools.add(McpTool::typed(
                "math_mean",
                "Averages one or more numbers.",
                |mean: Mean, _context: McpToolContext| async move {
                    let average = mean.numbers.iter().sum::<f64>() / mean.numbers.len() as f64;
                    McpToolResult::create_text(format!("Mean: {average:.4}"))
                },
            ));
        })
        .use_listening_port("http://localhost:5000/")
        .use_router(router)
        .build()?;
    host.start().await
}
