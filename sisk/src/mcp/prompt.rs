//! Prompts: [`McpPrompt`] (a name, its arguments, and the function that writes its messages),
//! [`McpPromptMessage`], and the provider's [`McpPromptCollection`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde_json::{json, Value};

use crate::mcp::session::ListChanged;
use crate::mcp::tool::base64_of;
use crate::mcp::{McpInput, McpInputRequired};
use crate::sync::{read, write};

type PromptFuture = Pin<Box<dyn Future<Output = Result<McpPromptReply, crate::Error>> + Send>>;
type PromptHandler = Arc<dyn Fn(HashMap<String, String>, McpInput) -> PromptFuture + Send + Sync>;

/// What an [`interactive`](McpPrompt::interactive) prompt answers: its messages, or what it needs
/// from the client before it can write them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum McpPromptReply {
    /// The prompt's messages.
    Messages(Vec<McpPromptMessage>),
    /// Not yet: the client must answer these first; the handler runs again with the answers.
    InputRequired(McpInputRequired),
}

/// One message of a prompt: who says it and what.
#[derive(Debug, Clone, PartialEq)]
pub struct McpPromptMessage {
    role: &'static str,
    content: Value,
}

impl McpPromptMessage {
    /// The user says `text`.
    pub fn user_text(text: impl Into<String>) -> Self {
        McpPromptMessage { role: "user", content: json!({ "type": "text", "text": text.into() }) }
    }

    /// The assistant says `text`.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        McpPromptMessage { role: "assistant", content: json!({ "type": "text", "text": text.into() }) }
    }

    /// The user shows an image of type `mime_type`.
    pub fn user_image(data: &[u8], mime_type: &str) -> Self {
        McpPromptMessage {
            role: "user",
            content: json!({ "type": "image", "data": base64_of(data), "mimeType": mime_type }),
        }
    }

    /// The user gives a resource whole: its URI, type and text.
    pub fn user_resource(uri: &str, mime_type: &str, text: impl Into<String>) -> Self {
        McpPromptMessage {
            role: "user",
            content: json!({ "type": "resource", "resource": { "uri": uri, "mimeType": mime_type, "text": text.into() } }),
        }
    }

    fn to_value(&self) -> Value {
        json!({ "role": self.role, "content": self.content })
    }
}

/// A prompt a client may ask for.
///
/// ```
/// use sisk::mcp::{McpPrompt, McpPromptMessage};
///
/// let review = McpPrompt::new("code_review", "Asks for a review of some code", |arguments| async move {
///     let code = arguments.get("code").cloned().unwrap_or_default();
///     Ok(vec![McpPromptMessage::user_text(format!("Please review:\n{code}"))])
/// })
/// .with_argument("code", "The code to review", true);
/// assert_eq!(review.name(), "code_review");
/// ```
#[derive(Clone)]
pub struct McpPrompt {
    name: String,
    description: String,
    arguments: Vec<(String, String, bool)>,
    handler: PromptHandler,
}

impl McpPrompt {
    /// A prompt named `name`, whose messages `handler` writes from the arguments given.
    pub fn new<F, Fut>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Self
    where
        F: Fn(HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<McpPromptMessage>, crate::Error>> + Send + 'static,
    {
        McpPrompt::interactive(name, description, move |arguments, _| {
            let messages = handler(arguments);
            async move { messages.await.map(McpPromptReply::Messages) }
        })
    }

    /// A prompt whose handler may need input from the client first (an elicitation, say): it gets
    /// the answers so far with the arguments, and returns [`McpPromptReply::InputRequired`] to ask.
    ///
    /// ```
    /// use serde_json::json;
    /// use sisk::mcp::{McpInputRequired, McpPrompt, McpPromptMessage, McpPromptReply};
    ///
    /// let prompt = McpPrompt::interactive("briefing", "A briefing on a topic the user picks", |_, input| async move {
    ///     Ok(match input.response("topic") {
    ///         Some(answer) => McpPromptReply::Messages(vec![McpPromptMessage::user_text(format!(
    ///             "Brief me on {}",
    ///             answer["content"]["topic"]
    ///         ))]),
    ///         None => McpPromptReply::InputRequired(McpInputRequired::new().elicit(
    ///             "topic",
    ///             json!({ "message": "Which topic?", "requestedSchema": { "type": "object", "properties": { "topic": { "type": "string" } } } }),
    ///         )),
    ///     })
    /// });
    /// assert_eq!(prompt.name(), "briefing");
    /// ```
    pub fn interactive<F, Fut>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Self
    where
        F: Fn(HashMap<String, String>, McpInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<McpPromptReply, crate::Error>> + Send + 'static,
    {
        McpPrompt {
            name: name.into(),
            description: description.into(),
            arguments: Vec::new(),
            handler: Arc::new(move |arguments, input| Box::pin(handler(arguments, input))),
        }
    }

    /// Declares an argument; a required one missing from `prompts/get` is an invalid-params error.
    pub fn with_argument(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.arguments.push((name.into(), description.into(), required));
        self
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> Value {
        let arguments: Vec<Value> = self
            .arguments
            .iter()
            .map(|(name, description, required)| json!({ "name": name, "description": description, "required": required }))
            .collect();
        json!({ "name": self.name, "description": self.description, "arguments": arguments })
    }

    /// The names of the required arguments missing from `given`.
    fn missing(&self, given: &HashMap<String, String>) -> Vec<&str> {
        let required = self.arguments.iter().filter(|(_, _, required)| *required);
        required.filter(|(name, _, _)| !given.contains_key(name)).map(|(name, _, _)| name.as_str()).collect()
    }
}

impl fmt::Debug for McpPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpPrompt")
            .field("name", &self.name)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

/// What `prompts/get` found.
pub(crate) enum PromptOutcome {
    Messages(Value),
    InputRequired(McpInputRequired),
    Unknown,
    Missing(Vec<String>),
    Failed(crate::Error),
}

/// The prompts of a provider.
#[derive(Clone, Default)]
pub struct McpPromptCollection {
    prompts: Arc<RwLock<Vec<McpPrompt>>>,
    changed: Arc<ListChanged>,
}

impl McpPromptCollection {
    /// Adds `prompt`, replacing one of the same name.
    pub fn add(&self, prompt: McpPrompt) {
        {
            let mut prompts = write(&self.prompts);
            prompts.retain(|existing| existing.name != prompt.name);
            prompts.push(prompt);
        }
        self.changed.fire("notifications/prompts/list_changed");
    }

    pub(crate) fn describe(&self) -> Vec<Value> {
        read(&self.prompts).iter().map(McpPrompt::describe).collect()
    }

    /// The names of the prompt's declared arguments (for completion).
    pub(crate) fn has_argument(&self, prompt: &str, argument: &str) -> bool {
        read(&self.prompts).iter().any(|p| p.name == prompt && p.arguments.iter().any(|(name, _, _)| name == argument))
    }

    pub(crate) async fn get(&self, name: &str, arguments: HashMap<String, String>, input: McpInput) -> PromptOutcome {
        let Some(prompt) = read(&self.prompts).iter().find(|p| p.name == name).cloned() else {
            return PromptOutcome::Unknown;
        };
        let missing = prompt.missing(&arguments);
        if !missing.is_empty() {
            return PromptOutcome::Missing(missing.into_iter().map(str::to_owned).collect());
        }
        match (prompt.handler)(arguments, input).await {
            Ok(McpPromptReply::InputRequired(required)) => PromptOutcome::InputRequired(required),
            Ok(McpPromptReply::Messages(messages)) => {
                let messages: Vec<Value> = messages.iter().map(McpPromptMessage::to_value).collect();
                PromptOutcome::Messages(json!({ "description": prompt.description, "messages": messages }))
            }
            Err(error) => PromptOutcome::Failed(error),
        }
    }

    pub(crate) fn changes(&self) -> &Arc<ListChanged> {
        &self.changed
    }
}

impl fmt::Debug for McpPromptCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(read(&self.prompts).iter().map(|p| p.name.clone())).finish()
    }
}
