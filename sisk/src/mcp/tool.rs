//! Tools: [`McpTool`] (a name, a description, the schema of its arguments and the function that runs
//! it), the provider's [`McpToolCollection`], and what a call answers, [`McpToolResult`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::mcp::{JsonSchema, McpInputRequired, McpToolContext};
use crate::sync::{read, write};

type ToolFuture = Pin<Box<dyn Future<Output = McpToolResult> + Send>>;
type ToolHandler = Arc<dyn Fn(McpToolContext) -> ToolFuture + Send + Sync>;

/// A tool an MCP client may call (Sisk's `McpTool`).
///
/// ```
/// use sisk::mcp::{JsonSchema, McpTool, McpToolContext, McpToolResult};
///
/// let tool = McpTool::new(
///     "math_sum",
///     "Sums one or more numbers.",
///     JsonSchema::create_object_schema([(
///         "numbers",
///         JsonSchema::create_array_schema(JsonSchema::create_number_schema())
///             .min_items(1)
///             .description("The numbers to sum."),
///     )])
///     .required_properties(["numbers"]),
///     |context: McpToolContext| async move {
///         let numbers: Vec<f64> = context.argument("numbers")?;
///         let sum: f64 = numbers.iter().sum();
///         Ok::<_, sisk::Error>(McpToolResult::create_text(format!("Sum result: {sum:.4}")))
///     },
/// );
/// assert_eq!(tool.name(), "math_sum");
/// ```
#[derive(Clone)]
pub struct McpTool {
    name: String,
    title: Option<String>,
    description: String,
    schema: JsonSchema,
    output_schema: Option<JsonSchema>,
    handler: ToolHandler,
}

impl McpTool {
    /// A tool named `name` that `execution_handler` runs with the call's arguments, once they fit
    /// `schema` (a call whose arguments do not fit is answered with a tool error, and the handler does
    /// not run). The handler returns an [`McpToolResult`], or a `Result` whose error becomes a tool
    /// error result (`isError: true`) carrying the error's text.
    pub fn new<F, Fut, R>(
        name: impl Into<String>,
        description: impl Into<String>,
        schema: JsonSchema,
        execution_handler: F,
    ) -> Self
    where
        F: Fn(McpToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let handler: ToolHandler = Arc::new(move |context| {
            let running = execution_handler(context);
            Box::pin(async move { running.await.into_tool_result() })
        });
        McpTool {
            name: name.into(),
            title: None,
            description: description.into(),
            schema,
            output_schema: None,
            handler,
        }
    }

    /// A typed tool (beyond Sisk, as rmcp's): its arguments are the type `A`, whose schema
    /// ([`JsonSchema::for_type`]) the tool declares and checks each call against; `execution_handler`
    /// receives them deserialized, with the call's context. Arguments that fit the schema but not the
    /// type (a number too large for its field, say) are a tool error, and the handler does not run.
    ///
    /// ```
    /// use sisk::mcp::{McpTool, McpToolContext, McpToolResult};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Sum {
    ///     /// The numbers to sum.
    ///     numbers: Vec<f64>,
    /// }
    ///
    /// let tool = McpTool::typed("math_sum", "Sums numbers.", |sum: Sum, _context: McpToolContext| async move {
    ///     McpToolResult::create_text(format!("Sum result: {:.4}", sum.numbers.iter().sum::<f64>()))
    /// });
    /// assert_eq!(tool.schema().to_value()["properties"]["numbers"]["type"], "array");
    /// ```
    pub fn typed<A, F, Fut, R>(name: impl Into<String>, description: impl Into<String>, execution_handler: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        F: Fn(A, McpToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let handler = Arc::new(execution_handler);
        McpTool::new(name, description, JsonSchema::for_type::<A>(), move |context: McpToolContext| {
            let handler = handler.clone();
            async move {
                match A::deserialize(context.arguments()) {
                    Ok(arguments) => handler(arguments, context).await.into_tool_result(),
                    Err(error) => McpToolResult::create_error(format!("invalid arguments: {error}")),
                }
            }
        })
    }

    /// A name for people, beside the tool's name.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The schema of the tool's structured output (see [`McpToolResult::with_structured_content`]).
    pub fn with_output_schema(mut self, schema: JsonSchema) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema its arguments must fit.
    pub fn schema(&self) -> &JsonSchema {
        &self.schema
    }

    /// The tool as `tools/list` describes it.
    pub(crate) fn describe(&self) -> Value {
        let mut tool = json!({
            "name": self.name,
            "description": self.description,
            "inputSchema": self.schema.to_value(),
        });
        if let Some(title) = &self.title {
            tool["title"] = json!(title);
        }
        if let Some(output) = &self.output_schema {
            tool["outputSchema"] = output.to_value();
        }
        tool
    }

    /// Runs the tool with `context`, once its arguments fit the schema.
    pub(crate) async fn call(&self, context: McpToolContext) -> McpToolResult {
        if let Err(problems) = self.schema.validate(context.arguments()) {
            return McpToolResult::create_error(format!("invalid arguments for tool {}:\n{problems}", self.name));
        }
        (self.handler)(context).await
    }
}

impl fmt::Debug for McpTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpTool").field("name", &self.name).field("schema", &self.schema).finish_non_exhaustive()
    }
}

/// The tools of a provider (Sisk's `McpProvider.Tools`): added before or while the server runs; a
/// tool added or removed while sessions are open is announced to them (`notifications/tools/list_changed`).
#[derive(Clone, Default)]
pub struct McpToolCollection {
    /// Shared, so that a call holds its tool without copying its schema.
    tools: Arc<RwLock<Vec<Arc<McpTool>>>>,
    changed: Arc<crate::mcp::session::ListChanged>,
}

impl McpToolCollection {
    /// Adds `tool`, replacing a tool of the same name.
    pub fn add(&self, tool: McpTool) {
        {
            let mut tools = write(&self.tools);
            tools.retain(|existing| existing.name != tool.name);
            tools.push(Arc::new(tool));
        }
        self.changed.fire("notifications/tools/list_changed");
    }

    /// Removes the tool named `name`; false when there was none.
    pub fn remove(&self, name: &str) -> bool {
        let removed = {
            let mut tools = write(&self.tools);
            let before = tools.len();
            tools.retain(|tool| tool.name != name);
            tools.len() != before
        };
        if removed {
            self.changed.fire("notifications/tools/list_changed");
        }
        removed
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<McpTool> {
        self.shared(name).map(|tool| (*tool).clone())
    }

    /// The tool named `name`, shared (what a call holds while it runs).
    pub(crate) fn shared(&self, name: &str) -> Option<Arc<McpTool>> {
        read(&self.tools).iter().find(|tool| tool.name == name).cloned()
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        read(&self.tools).len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn describe(&self) -> Vec<Value> {
        read(&self.tools).iter().map(|tool| tool.describe()).collect()
    }

    pub(crate) fn changes(&self) -> &Arc<crate::mcp::session::ListChanged> {
        &self.changed
    }
}

impl fmt::Debug for McpToolCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(read(&self.tools).iter().map(|tool| &tool.name)).finish()
    }
}

/// What a tool call answers (Sisk's `McpToolResult`): one or more pieces of content, text, images,
/// audio, resources, and whether the call failed.
///
/// ```
/// use sisk::mcp::McpToolResult;
///
/// let screenshot: Vec<u8> = vec![0x89, b'P', b'N', b'G'];
/// let result = McpToolResult::combine([
///     McpToolResult::create_text("Heres the screenshot of the browser:"),
///     McpToolResult::create_image(&screenshot, "image/png"),
/// ]);
/// assert_eq!(result.to_value()["content"][1]["type"], "image");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpToolResult {
    content: Vec<Value>,
    structured: Option<Value>,
    is_error: bool,
    input: Option<McpInputRequired>,
}

impl McpToolResult {
    fn one(content: Value) -> Self {
        McpToolResult { content: vec![content], ..McpToolResult::default() }
    }

    /// Text (Sisk's `CreateText`).
    pub fn create_text(text: impl Into<String>) -> Self {
        Self::one(json!({ "type": "text", "text": text.into() }))
    }

    /// An image of type `mime_type` (Sisk's `CreateImage`), sent in base64.
    pub fn create_image(data: &[u8], mime_type: &str) -> Self {
        Self::one(json!({ "type": "image", "data": base64_of(data), "mimeType": mime_type }))
    }

    /// Audio of type `mime_type` (Sisk's `CreateAudio`), sent in base64.
    pub fn create_audio(data: &[u8], mime_type: &str) -> Self {
        Self::one(json!({ "type": "audio", "data": base64_of(data), "mimeType": mime_type }))
    }

    /// A resource embedded whole: its `uri`, type and text.
    pub fn create_embedded_text_resource(uri: &str, mime_type: &str, text: impl Into<String>) -> Self {
        Self::one(json!({
            "type": "resource",
            "resource": { "uri": uri, "mimeType": mime_type, "text": text.into() },
        }))
    }

    /// A link to a resource the client may read.
    pub fn create_resource_link(uri: &str, name: &str, mime_type: Option<&str>) -> Self {
        let mut link = json!({ "type": "resource_link", "uri": uri, "name": name });
        if let Some(mime_type) = mime_type {
            link["mimeType"] = json!(mime_type);
        }
        Self::one(link)
    }

    /// A failed call: the text says why (the model reads it and may try again).
    pub fn create_error(text: impl Into<String>) -> Self {
        McpToolResult { is_error: true, ..Self::create_text(text) }
    }

    /// The contents of several results, in order, as one (Sisk's `Combine`); it failed if any did, and
    /// needs input if any does (the first one's; the contents then wait for the round that answers).
    pub fn combine(results: impl IntoIterator<Item = McpToolResult>) -> Self {
        let mut combined = McpToolResult::default();
        for result in results {
            combined.content.extend(result.content);
            combined.is_error |= result.is_error;
            combined.structured = result.structured.or(combined.structured);
            combined.input = combined.input.or(result.input);
        }
        combined
    }

    /// Adds structured output (the tool's `outputSchema` describes it); its JSON text is kept as text
    /// content too, for clients that read only content.
    pub fn with_structured_content(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    /// Not an answer yet: the call needs `required` from the client first (an elicitation, a sampling,
    /// its roots). The handler runs again with the answers in
    /// [`context.input()`](McpToolContext::input): on a stateless request the client sends them with
    /// the call again; in a session the framework asks the client on the call's stream.
    pub fn input_required(required: McpInputRequired) -> Self {
        McpToolResult { input: Some(required), ..McpToolResult::default() }
    }

    /// What the call needs from the client before it can answer, if it does.
    pub fn required_input(&self) -> Option<&McpInputRequired> {
        self.input.as_ref()
    }

    /// True for a failed call.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The result as `tools/call` answers it.
    pub fn to_value(&self) -> Value {
        let mut result = json!({ "content": self.content });
        if self.is_error {
            result["isError"] = json!(true);
        }
        if let Some(structured) = &self.structured {
            result["structuredContent"] = structured.clone();
        }
        result
    }
}

pub(crate) fn base64_of(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// What a tool's handler may return: an [`McpToolResult`], or a `Result` whose error is a failed call.
pub trait IntoToolResult {
    /// The result.
    fn into_tool_result(self) -> McpToolResult;
}

impl IntoToolResult for McpToolResult {
    fn into_tool_result(self) -> McpToolResult {
        self
    }
}

impl<E: fmt::Display> IntoToolResult for Result<McpToolResult, E> {
    fn into_tool_result(self) -> McpToolResult {
        self.unwrap_or_else(|error| McpToolResult::create_error(error.to_string()))
    }
}
