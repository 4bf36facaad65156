//! The MCP server the official conformance suite (`@modelcontextprotocol/conformance`) runs its server
//! scenarios against: the tools, resources and prompts those scenarios name, each answering what the
//! scenario expects, for revisions 2025-06-18 and 2025-11-25 (sessions) and 2026-07-28 (stateless; its
//! own fixtures are in `stateless.rs`).
//!
//! `cargo run --example mcp-conformance -- 3001` serves `http://127.0.0.1:3001/mcp`; `.ci/run` starts it
//! and runs the suite (`server --url http://127.0.0.1:3001/mcp --suite all`).

mod stateless;

use std::time::Duration;

use serde_json::json;
use sisk::mcp::{
    JsonSchema, McpLogLevel, McpPrompt, McpPromptMessage, McpProvider, McpResource, McpResourceContents,
    McpResourceTemplate, McpTool, McpToolContext, McpToolResult,
};
use sisk::prelude::*;

/// A 1×1 red PNG.
const RED_PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49,
    0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A WAV header with one silent 8-bit sample at 8 kHz.
const SILENT_WAV: &[u8] = &[
    b'R', b'I', b'F', b'F', 37, 0, 0, 0, b'W', b'A', b'V', b'E', b'f', b'm', b't', b' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x40,
    0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0, b'd', b'a', b't', b'a', 1, 0, 0, 0, 0x80,
];

fn no_arguments() -> JsonSchema {
    JsonSchema::empty()
}

fn add_tools(mcp: &McpProvider) {
    mcp.tools.add(McpTool::new("test_simple_text", "Returns simple text", no_arguments(), |_| async {
        McpToolResult::create_text("This is a simple text response for testing.")
    }));
    mcp.tools.add(McpTool::new("test_image_content", "Returns an image", no_arguments(), |_| async {
        McpToolResult::create_image(RED_PIXEL_PNG, "image/png")
    }));
    mcp.tools.add(McpTool::new("test_audio_content", "Returns audio", no_arguments(), |_| async {
        McpToolResult::create_audio(SILENT_WAV, "audio/wav")
    }));
    mcp.tools.add(McpTool::new("test_embedded_resource", "Returns an embedded resource", no_arguments(), |_| async {
        McpToolResult::create_embedded_text_resource(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        )
    }));
    mcp.tools.add(McpTool::new(
        "test_multiple_content_types",
        "Returns text, an image and a resource",
        no_arguments(),
        |_| async {
            McpToolResult::combine([
                McpToolResult::create_text("Multiple content types test:"),
                McpToolResult::create_image(RED_PIXEL_PNG, "image/png"),
                McpToolResult::create_embedded_text_resource(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                ),
            ])
        },
    ));
    mcp.tools.add(McpTool::new(
        "test_tool_with_logging",
        "Logs while it runs",
        no_arguments(),
        |context: McpToolContext| async move {
            context.log(McpLogLevel::Info, "Tool execution started");
            tokio::time::sleep(Duration::from_millis(50)).await;
            context.log(McpLogLevel::Info, "Tool processing data");
            tokio::time::sleep(Duration::from_millis(50)).await;
            context.log(McpLogLevel::Info, "Tool execution completed");
            McpToolResult::create_text("Tool with logging executed successfully")
        },
    ));
    mcp.tools.add(McpTool::new("test_error_handling", "Always fails", no_arguments(), |_| async {
        Err::<McpToolResult, _>("This tool intentionally returns an error for testing")
    }));
    mcp.tools.add(McpTool::new(
        "test_tool_with_progress",
        "Reports its progress",
        no_arguments(),
        |context: McpToolContext| async move {
            for progress in [0.0, 50.0, 100.0] {
                context.notify_progress(progress, Some(100.0), None);
                if progress < 100.0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            McpToolResult::create_text("Tool with progress executed successfully")
        },
    ));
    let prompt = JsonSchema::create_object_schema([("prompt", JsonSchema::create_string_schema())])
        .required_properties(["prompt"]);
    mcp.tools.add(McpTool::new(
        "test_sampling",
        "Asks the client's model",
        prompt,
        |context: McpToolContext| async move {
            let prompt: String = context.argument("prompt")?;
            let answer = context
                .create_message(json!({
                    "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
                    "maxTokens": 100,
                }))
                .await?;
            let text = answer["content"]["text"].as_str().unwrap_or_default().to_owned();
            Ok::<_, sisk::Error>(McpToolResult::create_text(format!("LLM response: {text}")))
        },
    ));
    let message = JsonSchema::create_object_schema([("message", JsonSchema::create_string_schema())])
        .required_properties(["message"]);
    mcp.tools.add(McpTool::new("test_elicitation", "Asks the user", message, |context: McpToolContext| async move {
        let message: String = context.argument("message")?;
        let answer = context
            .elicit(json!({
                "message": message,
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" },
                    },
                    "required": ["username", "email"],
                },
            }))
            .await?;
        Ok::<_, sisk::Error>(McpToolResult::create_text(format!("User response: {answer}")))
    }));
    mcp.tools.add(McpTool::new("test_elicitation_sep1034_defaults", "Asks with defaults", no_arguments(), |context: McpToolContext| async move {
        let answer = context
            .elicit(json!({
                "message": "Please review and update the form fields with defaults",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "description": "User name", "default": "John Doe" },
                        "age": { "type": "integer", "description": "User age", "default": 30 },
                        "score": { "type": "number", "description": "User score", "default": 95.5 },
                        "status": { "type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active" },
                        "verified": { "type": "boolean", "description": "Verification status", "default": true },
                    },
                },
            }))
            .await?;
        Ok::<_, sisk::Error>(McpToolResult::create_text(format!(
            "Elicitation completed: action={}, content={}",
            answer["action"].as_str().unwrap_or_default(),
            answer["content"]
        )))
    }));
    mcp.tools.add(McpTool::new("test_elicitation_sep1330_enums", "Asks with every kind of enum", no_arguments(), |context: McpToolContext| async move {
        let answer = context
            .elicit(json!({
                "message": "Please select options from the enum fields",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "untitledSingle": { "type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"] },
                        "titledSingle": { "type": "string", "description": "Select one option with titles", "oneOf": [
                            { "const": "value1", "title": "First Option" },
                            { "const": "value2", "title": "Second Option" },
                            { "const": "value3", "title": "Third Option" },
                        ] },
                        "legacyEnum": { "type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                        "untitledMulti": { "type": "array", "description": "Select multiple options", "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                        "titledMulti": { "type": "array", "description": "Select multiple options with titles", "items": { "anyOf": [
                            { "const": "value1", "title": "First Choice" },
                            { "const": "value2", "title": "Second Choice" },
                            { "const": "value3", "title": "Third Choice" },
                        ] } },
                    },
                },
            }))
            .await?;
        Ok::<_, sisk::Error>(McpToolResult::create_text(format!(
            "Elicitation completed: action={}, content={}",
            answer["action"].as_str().unwrap_or_default(),
            answer["content"]
        )))
    }));
    let schema_2020_12 = JsonSchema::from_value(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } },
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" },
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    }))
    .expect("the schema is a JSON object");
    mcp.tools.add(McpTool::new("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", schema_2020_12, |context: McpToolContext| async move {
        McpToolResult::create_text(format!("Received: {}", context.arguments()))
    }));
    mcp.tools.add(McpTool::new(
        "test_reconnection",
        "Closes its stream mid-call; the client resumes it",
        no_arguments(),
        |context: McpToolContext| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            context.close_sse_stream();
            tokio::time::sleep(Duration::from_millis(200)).await;
            McpToolResult::create_text("Reconnection test completed successfully")
        },
    ));
}

fn add_resources(mcp: &McpProvider) {
    mcp.resources.add(
        McpResource::new("test://static-text", "Static text resource", |uri| async move {
            Ok(vec![McpResourceContents::text(uri, "text/plain", "This is the content of the static text resource.")])
        })
        .with_description("A static text resource for testing")
        .with_mime_type("text/plain"),
    );
    mcp.resources.add(
        McpResource::new("test://static-binary", "Static binary resource", |uri| async move {
            Ok(vec![McpResourceContents::blob(uri, "image/png", RED_PIXEL_PNG)])
        })
        .with_description("A static binary resource (a PNG) for testing")
        .with_mime_type("image/png"),
    );
    mcp.resources.add(
        McpResource::new("test://watched-resource", "Watched resource", |uri| async move {
            Ok(vec![McpResourceContents::text(uri, "text/plain", "Watched resource content")])
        })
        .with_description("A resource to subscribe to")
        .with_mime_type("text/plain"),
    );
    mcp.resources.add_template(
        McpResourceTemplate::new("test://template/{id}/data", "Resource template", |uri, parameters| async move {
            let id = parameters.get("id").cloned().unwrap_or_default();
            let text = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") }).to_string();
            Ok(vec![McpResourceContents::text(uri, "application/json", text)])
        })
        .with_description("A resource template with a parameter")
        .with_mime_type("application/json"),
    );
}

fn add_prompts(mcp: &McpProvider) {
    mcp.prompts.add(McpPrompt::new("test_simple_prompt", "A simple prompt without arguments", |_| async {
        Ok(vec![McpPromptMessage::user_text("This is a simple prompt for testing.")])
    }));
    mcp.prompts.add(
        McpPrompt::new("test_prompt_with_arguments", "A prompt with arguments", |arguments| async move {
            let (arg1, arg2) = (&arguments["arg1"], &arguments["arg2"]);
            Ok(vec![McpPromptMessage::user_text(format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"))])
        })
        .with_argument("arg1", "First test argument", true)
        .with_argument("arg2", "Second test argument", true),
    );
    mcp.prompts.add(
        McpPrompt::new(
            "test_prompt_with_embedded_resource",
            "A prompt with an embedded resource",
            |arguments| async move {
                let uri = arguments["resourceUri"].clone();
                Ok(vec![
                    McpPromptMessage::user_resource(&uri, "text/plain", "Embedded resource content for testing."),
                    McpPromptMessage::user_text("Please process the embedded resource above."),
                ])
            },
        )
        .with_argument("resourceUri", "URI of the resource to embed", true),
    );
    mcp.prompts.add(McpPrompt::new("test_prompt_with_image", "A prompt with an image", |_| async {
        Ok(vec![
            McpPromptMessage::user_image(RED_PIXEL_PNG, "image/png"),
            McpPromptMessage::user_text("Please analyze the image above."),
        ])
    }));
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())).init();
    // `SISK_LISTENING_PORT`, when set, takes the place of this port (the tests start it on port 0).
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(3001);

    let mut router = Router::new();
    router += Route::new(RouteMethod::Any, "/mcp", |req: HttpRequest| async move { req.handle_mcp_request().await });

    let host = HttpServer::create_builder()
        .use_mcp(|mcp| {
            mcp.server_name = "sisk-conformance".into();
            mcp.server_title = "sisk's conformance fixtures".into();
            mcp.server_version = env!("CARGO_PKG_VERSION").into();
            add_tools(mcp);
            add_resources(mcp);
            add_prompts(mcp);
            stateless::add(mcp);
            mcp.set_completion_handler(|request| {
                let candidates = ["paris", "park", "party", "pasta"];
                candidates.iter().filter(|c| c.starts_with(&request.value)).map(|c| c.to_string()).collect()
            });
        })
        .use_listening_port(format!("http://127.0.0.1:{port}/"))
        .use_router(router)
        .build()?;
    host.start().await
}
