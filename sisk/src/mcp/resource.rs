//! Resources: [`McpResource`] (a fixed URI), [`McpResourceTemplate`] (a URI template such as
//! `test://template/{id}/data`), what reading one gives, [`McpResourceContents`], and the provider's
//! [`McpResourceCollection`], which also tells subscribed sessions that a resource changed.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde_json::{json, Value};

use crate::mcp::session::ListChanged;
use crate::mcp::tool::base64_of;
use crate::sync::{read, write};

type ReadFuture = Pin<Box<dyn Future<Output = Result<Vec<McpResourceContents>, crate::Error>> + Send>>;
type ReadHandler = Arc<dyn Fn(String, HashMap<String, String>) -> ReadFuture + Send + Sync>;

/// What reading a resource gives: text or bytes, with the URI and type they are of.
#[derive(Debug, Clone, PartialEq)]
pub struct McpResourceContents {
    uri: String,
    mime_type: Option<String>,
    body: Body,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    Text(String),
    Blob(Vec<u8>),
}

impl McpResourceContents {
    /// Text contents of `uri`.
    pub fn text(uri: impl Into<String>, mime_type: &str, text: impl Into<String>) -> Self {
        McpResourceContents { uri: uri.into(), mime_type: Some(mime_type.into()), body: Body::Text(text.into()) }
    }

    /// Binary contents of `uri` (sent in base64).
    pub fn blob(uri: impl Into<String>, mime_type: &str, data: impl Into<Vec<u8>>) -> Self {
        McpResourceContents { uri: uri.into(), mime_type: Some(mime_type.into()), body: Body::Blob(data.into()) }
    }

    /// The contents as `resources/read` sends them.
    pub fn to_value(&self) -> Value {
        let mut value = json!({ "uri": self.uri });
        if let Some(mime_type) = &self.mime_type {
            value["mimeType"] = json!(mime_type);
        }
        match &self.body {
            Body::Text(text) => value["text"] = json!(text),
            Body::Blob(data) => value["blob"] = json!(base64_of(data)),
        }
        value
    }
}

fn boxed_reader<F, Fut>(read: F) -> ReadHandler
where
    F: Fn(String, HashMap<String, String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<McpResourceContents>, crate::Error>> + Send + 'static,
{
    Arc::new(move |uri, parameters| Box::pin(read(uri, parameters)))
}

/// A resource at a fixed URI.
///
/// ```
/// use sisk::mcp::{McpResource, McpResourceContents};
///
/// let readme = McpResource::new("docs://readme", "readme", |uri| async move {
///     Ok(vec![McpResourceContents::text(uri, "text/markdown", "# Hello")])
/// })
/// .with_description("The project's README")
/// .with_mime_type("text/markdown");
/// assert_eq!(readme.uri(), "docs://readme");
/// ```
#[derive(Clone)]
pub struct McpResource {
    uri: String,
    name: String,
    description: Option<String>,
    mime_type: Option<String>,
    read: ReadHandler,
}

impl McpResource {
    /// A resource at `uri` called `name`, whose contents `read` gives (it is passed the URI).
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<McpResourceContents>, crate::Error>> + Send + 'static,
    {
        McpResource {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: None,
            read: boxed_reader(move |uri, _| read(uri)),
        }
    }

    /// What the resource is.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The type of its contents.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Its URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn describe(&self) -> Value {
        let mut value = json!({ "uri": self.uri, "name": self.name });
        if let Some(description) = &self.description {
            value["description"] = json!(description);
        }
        if let Some(mime_type) = &self.mime_type {
            value["mimeType"] = json!(mime_type);
        }
        value
    }
}

impl fmt::Debug for McpResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpResource").field("uri", &self.uri).field("name", &self.name).finish_non_exhaustive()
    }
}

/// Resources under a URI template (RFC 6570 level 1: `{name}` stands for one path segment's worth of
/// text): reading `test://template/42/data` from the template `test://template/{id}/data` passes
/// `id = "42"` to the reader.
///
/// ```
/// use sisk::mcp::{McpResourceContents, McpResourceTemplate};
///
/// let users = McpResourceTemplate::new("users://{id}/profile", "user profile", |uri, parameters| async move {
///     let id = parameters["id"].clone();
///     Ok(vec![McpResourceContents::text(uri, "application/json", format!("{{\"id\":\"{id}\"}}"))])
/// });
/// assert!(users.matches("users://7/profile").is_some());
/// assert!(users.matches("users://7/friends").is_none());
/// ```
#[derive(Clone)]
pub struct McpResourceTemplate {
    template: String,
    name: String,
    description: Option<String>,
    mime_type: Option<String>,
    read: ReadHandler,
}

impl McpResourceTemplate {
    /// Resources under `uri_template` called `name`; `read` is passed the URI read and the values of
    /// the template's variables.
    pub fn new<F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(String, HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<McpResourceContents>, crate::Error>> + Send + 'static,
    {
        McpResourceTemplate {
            template: uri_template.into(),
            name: name.into(),
            description: None,
            mime_type: None,
            read: boxed_reader(read),
        }
    }

    /// What the resources are.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The type of their contents.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The template's variables for `uri`, or `None` when `uri` is not one of its resources.
    pub fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        let mut parameters = HashMap::new();
        let mut rest = uri;
        let mut pattern = self.template.as_str();
        while !pattern.is_empty() {
            match pattern.find('{') {
                None => return (rest == pattern).then_some(parameters),
                Some(open) => {
                    rest = rest.strip_prefix(&pattern[..open])?;
                    let close = open + pattern[open..].find('}')?;
                    let name = &pattern[open + 1..close];
                    pattern = &pattern[close + 1..];
                    let literal_after = pattern.split('{').next().unwrap_or("");
                    let end = match literal_after.chars().next() {
                        None => rest.find('/').unwrap_or(rest.len()),
                        Some(_) => rest.find(literal_after)?,
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    parameters.insert(name.to_owned(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(parameters)
    }

    fn describe(&self) -> Value {
        let mut value = json!({ "uriTemplate": self.template, "name": self.name });
        if let Some(description) = &self.description {
            value["description"] = json!(description);
        }
        if let Some(mime_type) = &self.mime_type {
            value["mimeType"] = json!(mime_type);
        }
        value
    }
}

impl fmt::Debug for McpResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpResourceTemplate")
            .field("template", &self.template)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The resources and resource templates of a provider.
#[derive(Clone, Default)]
pub struct McpResourceCollection {
    resources: Arc<RwLock<Vec<McpResource>>>,
    templates: Arc<RwLock<Vec<McpResourceTemplate>>>,
    changed: Arc<ListChanged>,
}

impl McpResourceCollection {
    /// Adds `resource`, replacing one at the same URI.
    pub fn add(&self, resource: McpResource) {
        {
            let mut resources = write(&self.resources);
            resources.retain(|existing| existing.uri != resource.uri);
            resources.push(resource);
        }
        self.changed.fire("notifications/resources/list_changed");
    }

    /// Adds a resource template.
    pub fn add_template(&self, template: McpResourceTemplate) {
        write(&self.templates).push(template);
        self.changed.fire("notifications/resources/list_changed");
    }

    /// Tells every session subscribed to `uri` that it changed (`notifications/resources/updated`,
    /// on its GET stream); returns how many this node told. On a backplane with shared records every
    /// node tells the subscribed sessions whose GET stream it holds, so each is told once, wherever
    /// it listens; the count is this node's.
    pub fn notify_updated(&self, uri: &str) -> usize {
        self.changed.sessions().map_or(0, |sessions| sessions.notify_updated(uri))
    }

    pub(crate) fn describe(&self) -> Vec<Value> {
        read(&self.resources).iter().map(McpResource::describe).collect()
    }

    pub(crate) fn describe_templates(&self) -> Vec<Value> {
        read(&self.templates).iter().map(McpResourceTemplate::describe).collect()
    }

    /// Reads `uri`: `None` when no resource or template has it.
    pub(crate) async fn read(&self, uri: &str) -> Option<Result<Vec<McpResourceContents>, crate::Error>> {
        let fixed = read(&self.resources).iter().find(|r| r.uri == uri).map(|r| r.read.clone());
        let reader = match fixed {
            Some(reader) => Some((reader, HashMap::new())),
            None => read(&self.templates).iter().find_map(|t| t.matches(uri).map(|p| (t.read.clone(), p))),
        };
        let (reader, parameters) = reader?;
        Some(reader(uri.to_owned(), parameters).await)
    }

    pub(crate) fn changes(&self) -> &Arc<ListChanged> {
        &self.changed
    }
}

impl fmt::Debug for McpResourceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpResourceCollection")
            .field("resources", &read(&self.resources).iter().map(|r| r.uri.clone()).collect::<Vec<_>>())
            .field("templates", &read(&self.templates).iter().map(|t| t.template.clone()).collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> McpResourceTemplate {
        McpResourceTemplate::new(text, "t", |_, _| async { Ok(Vec::new()) })
    }

    #[test]
    fn a_template_gives_its_variables_for_its_own_uris_only() {
        let data = template("test://template/{id}/data");
        assert_eq!(data.matches("test://template/42/data").unwrap()["id"], "42");
        assert!(data.matches("test://template//data").is_none());
        assert!(data.matches("test://template/4/2/data").is_none());
        assert!(data.matches("test://template/42/data/more").is_none());
        let two = template("x://{a}-{b}");
        let found = two.matches("x://one-two").unwrap();
        assert_eq!((found["a"].as_str(), found["b"].as_str()), ("one", "two"));
        assert!(template("x://{name}").matches("x://").is_none());
    }
}
