//! One node of an MCP server that runs on many nodes as one: run several on one Redis, and a client may
//! send each request to any of them. A session opened on one node is served by all (its record is on
//! Redis, with its expiry); a tool call's stream, lost with its connection or with its node, resumes on
//! any node with `Last-Event-ID`, with every message the log committed and none twice.
//!
//! ```sh
//! redis-server --port 6379 &
//! REDIS_URL=redis://127.0.0.1:6379/ SISK_LISTENING_PORT=http://127.0.0.1:5001/ cargo run --example mcp-cluster-node &
//! REDIS_URL=redis://127.0.0.1:6379/ SISK_LISTENING_PORT=http://127.0.0.1:5002/ cargo run --example mcp-cluster-node &
//! ```
//!
//! Without `REDIS_URL` it is one node on the built-in in-memory log; nothing else changes.
//!
//! The endpoint is `/mcp`, with two tools:
//! - `count` (`to`, `every_ms`): one progress notification per step, each `every_ms` apart, then the
//!   text `counted to <to> on <node>`.
//! - `node`: the name of the node that ran it (`pid <n>`).
//! - `greet`: asks the user's name (`elicitation/create`), then answers `hello, <name>, from <node>`;
//!   the client may send its answer to any node.
//!
//! And one resource, `notes://board`, that a client may subscribe to: `POST /notes` (not MCP: any HTTP
//! client) tells its subscribers, on whichever node they listen, that it changed, and answers how many
//! sessions this node told.

use std::time::Duration;

use serde_json::json;
use sisk::backplane::RedisBackplane;
use sisk::mcp::{JsonSchema, McpProvider, McpResource, McpResourceContents, McpTool, McpToolContext, McpToolResult};
use sisk::prelude::*;

/// The name of this node in the tools' answers.
fn node_name() -> String {
    format!("pid {}", std::process::id())
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut router = Router::new();
    router.map_any("/mcp", |req: HttpRequest| async move { req.handle_mcp_request().await });
    router += Route::post("/notes", |req: HttpRequest| async move {
        let told = req.state::<McpProvider>()?.resources.notify_updated("notes://board");
        Ok::<_, sisk::Error>(told.to_string())
    });

    let mut builder = HttpServer::create_builder()
        .use_mcp(|mcp| {
            mcp.server_name = "mcp-cluster-node".into();
            mcp.server_title = "One node of an MCP cluster".into();
            mcp.tools.add(McpTool::new(
                "count",
                "Counts to `to`, one progress notification per step, `every_ms` apart.",
                JsonSchema::create_object_schema([
                    ("to", JsonSchema::create_integer_schema().description("Where to stop.")),
                    ("every_ms", JsonSchema::create_integer_schema().description("Milliseconds between steps.")),
                ])
                .required_properties(["to", "every_ms"]),
                |context: McpToolContext| async move {
                    let to: u64 = context.argument("to")?;
                    let every: u64 = context.argument("every_ms")?;
                    for step in 1..=to {
                        tokio::time::sleep(Duration::from_millis(every)).await;
                        context.notify_progress(step as f64, Some(to as f64), None);
                    }
                    Ok::<_, sisk::Error>(McpToolResult::create_text(format!("counted to {to} on {}", node_name())))
                },
            ));
            mcp.tools.add(McpTool::new(
                "node",
                "Names the node that runs it.",
                JsonSchema::empty(),
                |_context: McpToolContext| async move { McpToolResult::create_text(node_name()) },
            ));
            mcp.tools.add(McpTool::new(
                "greet",
                "Asks the user's name, and greets them.",
                JsonSchema::empty(),
                |context: McpToolContext| async move {
                    let schema = json!({ "type": "object", "properties": { "name": { "type": "string" } } });
                    let answer = context.elicit(json!({ "message": "Your name?", "requestedSchema": schema })).await?;
                    let name = answer["content"]["name"].as_str().unwrap_or("whoever you are").to_owned();
                    Ok::<_, sisk::Error>(McpToolResult::create_text(format!("hello, {name}, from {}", node_name())))
                },
            ));
            mcp.resources.add(McpResource::new("notes://board", "The board", |uri: String| async move {
                Ok(vec![McpResourceContents::text(uri, "text/plain", format!("read on {}", node_name()))])
            }));
        })
        .use_listening_port("http://localhost:5000/")
        .use_router(router);
    if let Ok(url) = std::env::var("REDIS_URL") {
        builder = builder.use_backplane(RedisBackplane::new(url).key_prefix("mcp-cluster-node"));
    }
    builder.build()?.start().await
}
