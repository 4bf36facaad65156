//! The fixtures of the suite's revision 2026-07-28 scenarios: tools and a prompt that need input from
//! the client (the `input-required-result-*` scenarios, answered with `McpInputRequired`), the
//! diagnostic tools of `server-stateless` (a capability the client lacks, a log without a level, list
//! changes for the listen streams), and a tool whose argument is mirrored into a header.

use serde_json::{json, Value};
use sisk::mcp::{
    JsonSchema, McpInputRequired, McpLogLevel, McpPrompt, McpPromptMessage, McpPromptReply, McpProvider, McpTool,
    McpToolContext, McpToolResult,
};

/// An elicitation of one string property.
fn ask_for(message: &str, property: &str) -> Value {
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": { property: { "type": "string" } },
            "required": [property],
        },
    })
}

/// A sampling of the client's model.
fn sample(text: &str, max_tokens: u32) -> Value {
    json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": text } }], "maxTokens": max_tokens })
}

/// What an accepted elicitation answered for `property`.
fn answered(context: &McpToolContext, key: &str, property: &str) -> Option<String> {
    let answer = context.input().response(key)?;
    Some(answer["content"][property].as_str().unwrap_or_default().to_owned())
}

/// A tool of no arguments.
fn tool<F, Fut>(mcp: &McpProvider, name: &str, description: &str, handler: F)
where
    F: Fn(McpToolContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = McpToolResult> + Send + 'static,
{
    mcp.tools.add(McpTool::new(name, description, JsonSchema::empty(), handler));
}

pub fn add(mcp: &McpProvider) {
    add_input_required(mcp);
    add_diagnostics(mcp);
    mcp.tools.add(McpTool::new(
        "test_header_mirroring",
        "Answers in a region its caller names in a header too",
        JsonSchema::create_object_schema([(
            "region",
            JsonSchema::create_string_schema().description("Where to run").mcp_header("Region"),
        )]),
        |context: McpToolContext| async move {
            McpToolResult::create_text(format!("Ran in {}", context.arguments()["region"]))
        },
    ));
}

fn add_input_required(mcp: &McpProvider) {
    tool(mcp, "test_input_required_result_elicitation", "Asks the user's name", |context| async move {
        match answered(&context, "user_name", "name") {
            Some(name) => McpToolResult::create_text(format!("Hello, {name}!")),
            None => McpToolResult::input_required(
                McpInputRequired::new().elicit("user_name", ask_for("What is your name?", "name")),
            ),
        }
    });
    tool(mcp, "test_input_required_result_sampling", "Asks the client's model", |context| async move {
        match context.input().response("capital_question") {
            Some(answer) => McpToolResult::create_text(format!("The model said: {}", answer["content"]["text"])),
            None => McpToolResult::input_required(
                McpInputRequired::new()
                    .create_message("capital_question", sample("What is the capital of France?", 100)),
            ),
        }
    });
    tool(mcp, "test_input_required_result_list_roots", "Asks for the client's roots", |context| async move {
        match context.input().response("client_roots") {
            Some(answer) => McpToolResult::create_text(format!("Roots: {}", answer["roots"])),
            None => McpToolResult::input_required(McpInputRequired::new().list_roots("client_roots")),
        }
    });
    let confirm = |context: McpToolContext, done: &'static str| async move {
        match context.input().response("confirm") {
            Some(_) if context.input().state() == Some(&json!({ "asked": "confirm" })) => {
                McpToolResult::create_text(done)
            }
            _ => McpToolResult::input_required(
                McpInputRequired::new()
                    .elicit(
                        "confirm",
                        json!({
                            "message": "Please confirm",
                            "requestedSchema": {
                                "type": "object",
                                "properties": { "ok": { "type": "boolean" } },
                                "required": ["ok"],
                            },
                        }),
                    )
                    .with_state(json!({ "asked": "confirm" })),
            ),
        }
    };
    tool(mcp, "test_input_required_result_request_state", "Keeps its state across rounds", move |context| {
        confirm(context, "Confirmed: state-ok")
    });
    tool(mcp, "test_input_required_result_tampered_state", "Refuses a state it did not seal", move |context| {
        confirm(context, "Confirmed with an intact state")
    });
    tool(mcp, "test_input_required_result_multiple_inputs", "Asks three things at once", |context| async move {
        let input = context.input();
        match (input.response("user_name"), input.response("greeting"), input.response("client_roots")) {
            (Some(name), Some(greeting), Some(roots)) => McpToolResult::create_text(format!(
                "{} {}, with {} roots",
                greeting["content"]["text"],
                name["content"]["name"],
                roots["roots"].as_array().map_or(0, Vec::len)
            )),
            _ => McpToolResult::input_required(
                McpInputRequired::new()
                    .elicit("user_name", ask_for("What is your name?", "name"))
                    .create_message("greeting", sample("Generate a greeting", 50))
                    .list_roots("client_roots")
                    .with_state(json!({ "round": 1 })),
            ),
        }
    });
    tool(mcp, "test_input_required_result_multi_round", "Asks one thing, then another", |context| async move {
        match (answered(&context, "step1", "name"), answered(&context, "step2", "color")) {
            (Some(name), Some(color)) => McpToolResult::create_text(format!("{name} likes {color}")),
            (Some(_), None) => McpToolResult::input_required(
                McpInputRequired::new()
                    .elicit("step2", ask_for("Step 2: What is your favorite color?", "color"))
                    .with_state(json!({ "round": 2 })),
            ),
            _ => McpToolResult::input_required(
                McpInputRequired::new()
                    .elicit("step1", ask_for("Step 1: What is your name?", "name"))
                    .with_state(json!({ "round": 1 })),
            ),
        }
    });
    tool(
        mcp,
        "test_input_required_result_capabilities",
        "Asks only what the client can answer",
        |context| async move {
            if !context.input().is_empty() {
                return McpToolResult::create_text(format!("Answered: {:?}", context.input().responses().keys()));
            }
            let mut required = McpInputRequired::new();
            if context.client_can("elicitation") {
                required = required.elicit("user_name", ask_for("What is your name?", "name"));
            }
            if context.client_can("sampling") {
                required = required.create_message("greeting", sample("Generate a greeting", 50));
            }
            if context.client_can("roots") {
                required = required.list_roots("client_roots");
            }
            McpToolResult::input_required(required)
        },
    );
    mcp.prompts.add(McpPrompt::interactive(
        "test_input_required_result_prompt",
        "A prompt that asks for its context first",
        |_, input| async move {
            Ok(match input.response("user_context") {
                Some(answer) => McpPromptReply::Messages(vec![McpPromptMessage::user_text(format!(
                    "Write with this context: {}",
                    answer["content"]["context"]
                ))]),
                None => McpPromptReply::InputRequired(
                    McpInputRequired::new()
                        .elicit("user_context", ask_for("What context should the prompt use?", "context")),
                ),
            })
        },
    ));
}

fn add_diagnostics(mcp: &McpProvider) {
    tool(mcp, "test_missing_capability", "Needs the client's model, which it must declare", |context| async move {
        match context.input().response("completion") {
            Some(_) => McpToolResult::create_text("sampled"),
            None => McpToolResult::input_required(
                McpInputRequired::new().create_message("completion", sample("Say hello", 20)),
            ),
        }
    });
    tool(mcp, "test_streaming_elicitation", "Asks the user in its result, never on the stream", |context| async move {
        match answered(&context, "name", "name") {
            Some(name) => McpToolResult::create_text(format!("Hello, {name}!")),
            None => {
                McpToolResult::input_required(McpInputRequired::new().elicit("name", ask_for("Your name?", "name")))
            }
        }
    });
    tool(mcp, "test_logging_tool", "Logs at info", |context| async move {
        context.log(McpLogLevel::Info, "test_logging_tool ran");
        McpToolResult::create_text("logged")
    });
    let tools = mcp.tools.clone();
    tool(mcp, "test_trigger_tool_change", "Adds a tool and removes it (tools/list_changed twice)", move |_| {
        let tools = tools.clone();
        async move {
            tools.add(McpTool::new("test_transient_tool", "Here for a moment", JsonSchema::empty(), |_| async {
                McpToolResult::create_text("transient")
            }));
            tools.remove("test_transient_tool");
            McpToolResult::create_text("the tool list changed")
        }
    });
    let prompts = mcp.prompts.clone();
    tool(mcp, "test_trigger_prompt_change", "Adds a prompt (prompts/list_changed)", move |_| {
        let prompts = prompts.clone();
        async move {
            prompts.add(McpPrompt::new("test_transient_prompt", "Added by test_trigger_prompt_change", |_| async {
                Ok(vec![McpPromptMessage::user_text("transient")])
            }));
            McpToolResult::create_text("the prompt list changed")
        }
    });
}
