//! What goes over the wire, in the shapes of OpenAI's chat-completions API: the request a client sends,
//! the `chat.completion` answer, the `chat.completion.chunk` objects of a stream (the role, the content
//! deltas, the stop, the usage chunk), and the error body a refused request gets.

use serde::{Deserialize, Serialize};
use sisk::prelude::*;

/// `POST /v1/chat/completions`, as far as this server reads it: unknown fields (`temperature`,
/// `max_tokens`, …) are accepted and ignored, as many compatible servers do.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// The model asked for; answered back as it is.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// True for a stream of chunks rather than one `chat.completion`.
    pub stream: Option<bool>,
    /// Options of a stream; `include_usage` adds the usage chunk.
    pub stream_options: Option<StreamOptions>,
    /// How many answers to make: only 1 here.
    pub n: Option<u32>,
}

/// One message of the conversation.
#[derive(Debug, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said: a string or a list of parts (`null` for an assistant's tool call).
    pub content: Option<Content>,
}

/// The roles OpenAI defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions (older models).
    System,
    /// Instructions (newer models).
    Developer,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A message's content.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Parts: the text ones are read, the others (images, audio) skipped.
    Parts(Vec<Part>),
}

/// One part of a message's content.
#[derive(Debug, Deserialize)]
pub struct Part {
    /// `text`, `image_url`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    pub text: Option<String>,
}

impl Message {
    /// The text of the message: a string, or its text parts one after the other.
    pub fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(text)) => text.clone(),
            Some(Content::Parts(parts)) => {
                let texts = parts.iter().filter(|part| part.kind == "text").filter_map(|part| part.text.as_deref());
                texts.collect::<Vec<_>>().join(" ")
            }
        }
    }
}

/// `stream_options`.
#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    /// True for a last chunk with the usage, and `"usage": null` on every other.
    pub include_usage: Option<bool>,
}

impl ChatRequest {
    /// Reads the body, then checks what the types cannot say; every refusal is an [`ApiError`].
    pub async fn read(req: &HttpRequest) -> Result<ChatRequest, ApiError> {
        let request: ChatRequest = req.get_json_content().await.map_err(|err| ApiError {
            status: err.status_code().unwrap_or(StatusCode::BAD_REQUEST),
            message: err.to_string(),
            param: None,
        })?;
        if request.model.trim().is_empty() {
            return Err(ApiError::invalid("model", "'model' must name a model"));
        }
        if request.messages.is_empty() {
            return Err(ApiError::invalid("messages", "'messages' must hold at least one message"));
        }
        if !request.messages.iter().any(|message| message.role == Role::User) {
            return Err(ApiError::invalid("messages", "'messages' must hold a user message for this model to answer"));
        }
        if request.n.is_some_and(|n| n != 1) {
            return Err(ApiError::invalid("n", "this server makes one choice per request: 'n' must be 1"));
        }
        if request.stream_options.is_some() && !request.streams() {
            // OpenAI's own words for this mistake.
            return Err(ApiError::invalid(
                "stream_options",
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            ));
        }
        Ok(request)
    }

    /// True when the client asked for a stream.
    pub fn streams(&self) -> bool {
        self.stream == Some(true)
    }

    /// True when the client asked for the usage chunk.
    pub fn includes_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|options| options.include_usage) == Some(true)
    }
}

/// A request this server refuses, answered as OpenAI answers one:
/// `{"error": {"message", "type": "invalid_request_error", "param", "code"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// The status of the answer (`400`, or what sisk gave a body it could not read: `415`, `413`, …).
    pub status: StatusCode,
    /// What was wrong.
    pub message: String,
    /// The field at fault, when there is one.
    pub param: Option<&'static str>,
}

impl ApiError {
    /// A `400` for the field `param`.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into(), param: Some(param) }
    }

    /// The error object, as the answer's body or as the data of a stream's event.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorObject { message: &self.message, kind: "invalid_request_error", param: self.param, code: None },
        }
    }
}

/// `{"error": …}`, the body of a refusal.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorObject<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> HttpResponse {
        (self.status, Json(self.body())).into_response()
    }
}

/// Token counts, in `chat.completion` and in the usage chunk.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Usage {
    /// The prompt's tokens.
    pub prompt_tokens: usize,
    /// The answer's tokens.
    pub completion_tokens: usize,
    /// Both.
    pub total_tokens: usize,
}

/// What every object of one completion shares.
#[derive(Debug, Clone)]
pub struct Completion {
    /// `chatcmpl-…`.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The model, as the client named it.
    pub model: String,
    /// Whether the stream carries `usage` (`null` but on the usage chunk).
    pub include_usage: bool,
}

/// A `chat.completion`: the whole answer at once.
#[derive(Debug, Serialize)]
pub struct ChatCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: Usage,
}

#[derive(Debug, Serialize)]
struct Choice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
struct AssistantMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// A `chat.completion.chunk`: one event of a stream.
#[derive(Debug, Serialize)]
pub struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChunkChoice<'a>>,
    /// Left out unless the client asked for usage; then `null` on every chunk but the usage chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Debug, Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

impl Completion {
    /// The whole answer, `content`, as one `chat.completion`.
    pub fn whole<'a>(&'a self, content: &'a str, usage: Usage) -> ChatCompletion<'a> {
        let message = AssistantMessage { role: "assistant", content };
        let choice = Choice { index: 0, message, logprobs: None, finish_reason: "stop" };
        ChatCompletion {
            id: &self.id,
            object: "chat.completion",
            created: self.created,
            model: &self.model,
            choices: [choice],
            usage,
        }
    }

    /// The first chunk: the role, and empty content.
    pub fn role_chunk(&self) -> Chunk<'_> {
        self.chunk(Delta { role: Some("assistant"), content: Some("") }, None)
    }

    /// A chunk with the next piece of the answer.
    pub fn content_chunk<'a>(&'a self, token: &'a str) -> Chunk<'a> {
        self.chunk(Delta { role: None, content: Some(token) }, None)
    }

    /// The chunk that ends the choice: an empty delta and `finish_reason: "stop"`.
    pub fn stop_chunk(&self) -> Chunk<'_> {
        self.chunk(Delta::default(), Some("stop"))
    }

    /// The usage chunk, after the stop chunk when the client asked for it: no choices, the counts.
    pub fn usage_chunk(&self, usage: Usage) -> Chunk<'_> {
        Chunk { choices: Vec::new(), usage: Some(Some(usage)), ..self.chunk(Delta::default(), None) }
    }

    fn chunk<'a>(&'a self, delta: Delta<'a>, finish_reason: Option<&'static str>) -> Chunk<'a> {
        Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: vec![ChunkChoice { index: 0, delta, logprobs: None, finish_reason }],
            usage: self.include_usage.then_some(None),
        }
    }
}
