//! [`McpProvider`]: an MCP server (Sisk's `McpProvider`) — its name, title and version, its tools,
//! resources and prompts, and the answer to each method of the protocol's server side.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::mcp::context::{CallContext, Caller, McpToolContext};
use crate::mcp::input::{binding, capability_of, McpInputRequired, StateSeal, MAX_ROUNDS, MINIMUM_KEY_LENGTH};
use crate::mcp::json_rpc::{
    RpcError, INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, MISSING_CLIENT_CAPABILITY, RESOURCE_NOT_FOUND,
};
use crate::mcp::prompt::PromptOutcome;
use crate::mcp::session::Sessions;
use crate::mcp::{McpLogLevel, McpPromptCollection, McpResourceCollection, McpToolCollection};

/// The protocol revisions served, newest first: a client asking for one of them gets it; any other
/// gets the newest.
pub(crate) const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// The version a request without `MCP-Protocol-Version` is taken to speak (the transport's rule).
pub(crate) const DEFAULT_PROTOCOL_VERSION: &str = "2025-03-26";

type CompletionHandler = Arc<dyn Fn(&McpCompletionRequest) -> Vec<String> + Send + Sync>;

/// What `completion/complete` asks: the prompt or resource template, the argument, and what the user
/// typed so far.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct McpCompletionRequest {
    /// `"ref/prompt"` or `"ref/resource"`.
    pub reference_type: String,
    /// The prompt's name, or the resource template's URI template.
    pub reference: String,
    /// The argument being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// The values of the arguments already chosen (`context.arguments`).
    pub context: HashMap<String, String>,
}

/// An MCP server, served over Streamable HTTP by
/// [`HttpRequest::handle_mcp_request`](crate::http::HttpRequest::handle_mcp_request) (the builder's
/// one, set with [`use_mcp`](crate::http::HttpServerHostContextBuilder::use_mcp)) or by
/// [`handle_request`](Self::handle_request) on a provider of your own.
///
/// ```
/// use sisk::mcp::{JsonSchema, McpProvider, McpTool, McpToolContext, McpToolResult};
///
/// let mcp = McpProvider::new("math-server", "Mathematics server", "1.0");
///
/// mcp.tools.add(McpTool::new(
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
/// ));
/// # assert_eq!(mcp.tools.len(), 1);
/// ```
#[derive(Clone)]
pub struct McpProvider {
    /// The server's name (`serverInfo.name`).
    pub server_name: String,
    /// Its name for people (`serverInfo.title`).
    pub server_title: String,
    /// Its version (`serverInfo.version`).
    pub server_version: String,
    /// What the client's model should know to use the server well (`instructions`), if anything.
    pub instructions: Option<String>,
    /// The tools.
    pub tools: McpToolCollection,
    /// The resources and resource templates.
    pub resources: McpResourceCollection,
    /// The prompts.
    pub prompts: McpPromptCollection,
    /// How long a session may go unused before it ends (default 30 minutes); its client then gets
    /// `404` and initializes again.
    pub session_idle_timeout: Duration,
    /// The `retry` a stream's first event tells its client to wait before reconnecting (default 1 s).
    pub stream_retry: Duration,
    /// How often a long-lived stream (a session's GET stream, a `subscriptions/listen` stream) that
    /// carries nothing sends a comment, so that proxies and clients do not close it as idle (default
    /// 15 s; `None` sends none).
    pub stream_keep_alive: Option<Duration>,
    /// The `Origin`s (as `scheme://host[:port]`) allowed besides those of the loopback host; a request
    /// from a loopback client must also name a loopback `Host`. See the transport's security rules
    /// (DNS rebinding).
    pub allowed_origins: Vec<String>,
    /// How long a client may keep what `server/discover`, the lists and `resources/read` answer before
    /// asking again (`ttlMs`, revision 2026-07-28; default zero: ask each time).
    pub cache_ttl: Duration,
    /// Whether those answers may be shared between clients (`cacheScope: "public"`) or kept per
    /// client only (`"private"`, the default).
    pub cache_public: bool,
    completion: Option<CompletionHandler>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) seal: Arc<StateSeal>,
}

/// What a handler that may need input answers in one round.
pub(crate) enum Round {
    Done(Value),
    Needs(McpInputRequired),
}

impl McpProvider {
    /// A provider called `server_name` (Sisk's `new McpProvider(serverName, serverTitle, serverVersion)`).
    pub fn new(
        server_name: impl Into<String>,
        server_title: impl Into<String>,
        server_version: impl Into<String>,
    ) -> Self {
        let provider = McpProvider {
            server_name: server_name.into(),
            server_title: server_title.into(),
            server_version: server_version.into(),
            instructions: None,
            tools: McpToolCollection::default(),
            resources: McpResourceCollection::default(),
            prompts: McpPromptCollection::default(),
            session_idle_timeout: Duration::from_secs(30 * 60),
            stream_retry: Duration::from_secs(1),
            allowed_origins: Vec::new(),
            stream_keep_alive: Some(Duration::from_secs(15)),
            cache_ttl: Duration::ZERO,
            cache_public: false,
            completion: None,
            sessions: Arc::default(),
            seal: Arc::default(),
        };
        provider.tools.changes().tell(&provider.sessions);
        provider.resources.changes().tell(&provider.sessions);
        provider.prompts.changes().tell(&provider.sessions);
        provider
    }

    /// Completes the arguments of prompts and resource templates (`completion/complete`): `handler`
    /// returns the candidate values (at most 100 are sent).
    pub fn set_completion_handler(
        &mut self,
        handler: impl Fn(&McpCompletionRequest) -> Vec<String> + Send + Sync + 'static,
    ) {
        self.completion = Some(Arc::new(handler));
    }

    /// The key that seals the `requestState` of stateless requests that need input from their client
    /// (revision 2026-07-28): random by default, which is right for one node; the nodes behind one load
    /// balancer must share one, since the client's next round may reach any of them.
    ///
    /// The key must be at least 32 bytes (random ones, kept as a secret); a shorter one is refused.
    pub fn set_request_state_key(&mut self, key: &[u8]) -> Result<(), crate::Error> {
        if key.len() < MINIMUM_KEY_LENGTH {
            return Err(crate::Error::mcp_weak_state_key(key.len(), MINIMUM_KEY_LENGTH));
        }
        self.seal = Arc::new(StateSeal::with_key(key));
        Ok(())
    }

    /// How many sessions this node knows: those it opened and those of other nodes it served (on a
    /// backplane with shared records, a session is served by any node).
    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// How many `subscriptions/listen` streams (revision 2026-07-28) this node holds.
    pub fn open_subscription_streams(&self) -> usize {
        self.sessions.listeners.len()
    }

    /// What `initialize` answers (the version was chosen by the transport).
    pub(crate) fn initialize_result(&self, protocol_version: &str) -> Value {
        let mut result = json!({
            "protocolVersion": protocol_version,
            "capabilities": {
                "tools": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "prompts": { "listChanged": true },
                "logging": {},
                "completions": {},
            },
            "serverInfo": {
                "name": self.server_name,
                "title": self.server_title,
                "version": self.server_version,
            },
        });
        if let Some(instructions) = &self.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// The answer to request `method`.
    pub(crate) async fn answer(&self, method: &str, params: Value, call: CallContext) -> Result<Value, RpcError> {
        let session = || call.caller.session().ok_or_else(|| method_not_found(method));
        match method {
            "ping" => session().map(|_| json!({})),
            "tools/list" => Ok(json!({ "tools": self.tools.describe() })),
            "tools/call" => self.call_tool(params, call).await,
            "resources/list" => Ok(json!({ "resources": self.resources.describe() })),
            "resources/templates/list" => Ok(json!({ "resourceTemplates": self.resources.describe_templates() })),
            "resources/read" => self.read_resource(&params, &call.caller).await,
            "resources/subscribe" => {
                session()?.subscribe(string_param(&params, "uri")?).await;
                Ok(json!({}))
            }
            "resources/unsubscribe" => {
                session()?.unsubscribe(string_param(&params, "uri")?).await;
                Ok(json!({}))
            }
            "prompts/list" => Ok(json!({ "prompts": self.prompts.describe() })),
            "prompts/get" => self.get_prompt(&params, call).await,
            "completion/complete" => self.complete(&params),
            "logging/setLevel" => {
                let session = session()?;
                let name = string_param(&params, "level")?;
                let level = McpLogLevel::parse(name)
                    .ok_or_else(|| RpcError::invalid_params(format!("unknown logging level {name:?}")))?;
                session.set_log_level(level).await;
                Ok(json!({}))
            }
            other => Err(method_not_found(other)),
        }
    }

    /// Runs a handler that may ask the client for input, round after round, until it answers. On a
    /// stateless request the first round it asks ends the request with an `InputRequiredResult` (its
    /// state sealed, the answers so far inside); in a session the framework asks the client itself on
    /// the call's stream and runs the handler again.
    async fn with_input<F, Fut>(
        &self,
        name: &str,
        params: &Value,
        mut call: CallContext,
        run: F,
    ) -> Result<Value, RpcError>
    where
        F: Fn(CallContext) -> Fut,
        Fut: std::future::Future<Output = Result<Round, RpcError>>,
    {
        // What a requestState is bound to, computed only where one is opened or sealed.
        let call_binding = || binding(&self.server_name, name, params.get("arguments").unwrap_or(&Value::Null));
        if matches!(call.caller, Caller::Stateless(_)) {
            call.input = self.seal.open(call_binding, params)?;
        }
        for _ in 0..MAX_ROUNDS {
            let required = match run(call.clone()).await? {
                Round::Done(result) => return Ok(result),
                Round::Needs(required) => required,
            };
            if required.requests_nothing() {
                return Err(RpcError::new(INTERNAL_ERROR, format!("{name} asked for input but named none")));
            }
            if let Some(missing) = required.missing_capabilities(|capability| call.caller.client_can(capability)) {
                return Err(RpcError {
                    data: Some(json!({ "requiredCapabilities": missing })),
                    ..RpcError::new(
                        MISSING_CLIENT_CAPABILITY,
                        "the request needs client capabilities it did not declare",
                    )
                });
            }
            if matches!(call.caller, Caller::Stateless(_)) {
                let state = self.seal.seal(&call_binding(), &call.input, &required)?;
                return Ok(json!({
                    "resultType": "input_required",
                    "inputRequests": required.requests(),
                    "requestState": state,
                }));
            }
            let mut answers = serde_json::Map::new();
            for (key, request) in required.requests() {
                let method = request["method"].as_str().unwrap_or_default();
                let params = request.get("params").cloned().unwrap_or_else(|| json!({}));
                let answer = call.ask_client(capability_of(method), method, params).await;
                let answer = answer.map_err(|error| RpcError::new(INTERNAL_ERROR, error.message().to_owned()))?;
                answers.insert(key.clone(), answer);
            }
            call.input.answered(answers, required.state().cloned());
        }
        Err(RpcError::new(INTERNAL_ERROR, format!("{name} asked for input more than {MAX_ROUNDS} times")))
    }

    async fn call_tool(&self, params: Value, call: CallContext) -> Result<Value, RpcError> {
        let name = string_param(&params, "name")?;
        let tool = self.tools.shared(name).ok_or_else(|| RpcError::invalid_params(format!("unknown tool: {name}")))?;
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => json!({}),
            Some(arguments @ Value::Object(_)) => arguments.clone(),
            Some(_) => return Err(RpcError::invalid_params("the tool's arguments must be an object")),
        };
        self.with_input(&format!("tool:{name}"), &params, call, |call| {
            let (tool, arguments) = (tool.clone(), arguments.clone());
            async move {
                let result = tool.call(McpToolContext::new(arguments, call)).await;
                Ok(match result.required_input() {
                    Some(required) => Round::Needs(required.clone()),
                    None => Round::Done(result.to_value()),
                })
            }
        })
        .await
    }

    async fn read_resource(&self, params: &Value, caller: &Caller) -> Result<Value, RpcError> {
        let uri = string_param(params, "uri")?;
        match self.resources.read(uri).await {
            None => Err(RpcError {
                data: Some(json!({ "uri": uri })),
                ..RpcError::new(
                    // Revision 2026-07-28 answers an unknown resource as invalid params (SEP-2164).
                    if matches!(caller, Caller::Stateless(_)) { INVALID_PARAMS } else { RESOURCE_NOT_FOUND },
                    format!("resource not found: {uri}"),
                )
            }),
            Some(Ok(contents)) => {
                let contents: Vec<Value> = contents.iter().map(|c| c.to_value()).collect();
                Ok(json!({ "contents": contents }))
            }
            Some(Err(error)) => Err(RpcError::new(crate::mcp::json_rpc::INTERNAL_ERROR, error.message().to_owned())),
        }
    }

    async fn get_prompt(&self, params: &Value, call: CallContext) -> Result<Value, RpcError> {
        let name = string_param(params, "name")?;
        let arguments = string_map(params.get("arguments"));
        self.with_input(&format!("prompt:{name}"), params, call, |call| {
            let arguments = arguments.clone();
            async move { self.prompt_round(name, arguments, call).await }
        })
        .await
    }

    async fn prompt_round(
        &self,
        name: &str,
        arguments: HashMap<String, String>,
        call: CallContext,
    ) -> Result<Round, RpcError> {
        match self.prompts.get(name, arguments, call.input).await {
            PromptOutcome::Messages(result) => Ok(Round::Done(result)),
            PromptOutcome::InputRequired(required) => Ok(Round::Needs(required)),
            PromptOutcome::Unknown => Err(RpcError::invalid_params(format!("unknown prompt: {name}"))),
            PromptOutcome::Missing(missing) => {
                Err(RpcError::invalid_params(format!("prompt {name} needs the arguments: {}", missing.join(", "))))
            }
            PromptOutcome::Failed(error) => {
                Err(RpcError::new(crate::mcp::json_rpc::INTERNAL_ERROR, error.message().to_owned()))
            }
        }
    }

    fn complete(&self, params: &Value) -> Result<Value, RpcError> {
        let reference = params.get("ref").ok_or_else(|| RpcError::invalid_params("completion/complete needs ref"))?;
        let reference_type = reference.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let reference_name = match reference_type.as_str() {
            "ref/prompt" => reference.get("name"),
            "ref/resource" => reference.get("uri"),
            _ => return Err(RpcError::invalid_params("ref.type is ref/prompt or ref/resource")),
        };
        let reference_name = reference_name.and_then(Value::as_str).unwrap_or_default().to_owned();
        let argument =
            params.get("argument").ok_or_else(|| RpcError::invalid_params("completion/complete needs argument"))?;
        let request = McpCompletionRequest {
            argument: string_param(argument, "name")?.to_owned(),
            value: argument.get("value").and_then(Value::as_str).unwrap_or_default().to_owned(),
            context: string_map(params.get("context").and_then(|c| c.get("arguments"))),
            reference: reference_name,
            reference_type,
        };
        if request.reference_type == "ref/prompt" && !self.prompts.has_argument(&request.reference, &request.argument) {
            return Err(RpcError::invalid_params(format!(
                "prompt {:?} has no argument {:?}",
                request.reference, request.argument
            )));
        }
        let mut values = self.completion.as_ref().map(|complete| complete(&request)).unwrap_or_default();
        let total = values.len();
        values.truncate(100);
        Ok(json!({ "completion": { "values": values, "total": total, "hasMore": total > 100 } }))
    }
}

fn method_not_found(method: &str) -> RpcError {
    RpcError::new(METHOD_NOT_FOUND, format!("method not found: {method}"))
}

fn string_param<'a>(params: &'a Value, name: &str) -> Result<&'a str, RpcError> {
    params.get(name).and_then(Value::as_str).ok_or_else(|| RpcError {
        code: INVALID_PARAMS,
        message: format!("the parameter {name:?} (a string) is missing"),
        data: None,
    })
}

fn string_map(value: Option<&Value>) -> HashMap<String, String> {
    let Some(Value::Object(map)) = value else {
        return HashMap::new();
    };
    map.iter()
        .map(|(name, value)| (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect()
}

impl fmt::Debug for McpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpProvider")
            .field("server_name", &self.server_name)
            .field("server_version", &self.server_version)
            .field("tools", &self.tools)
            .field("resources", &self.resources)
            .field("prompts", &self.prompts)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Default for McpProvider {
    /// A provider named after nothing in particular (`mcp-server`, version `1.0`): the builder's
    /// [`use_mcp`](crate::http::HttpServerHostContextBuilder::use_mcp) starts from it.
    fn default() -> Self {
        McpProvider::new("mcp-server", "MCP server", "1.0")
    }
}
