//! The book (`book/src/*.md`) and the README as doctests, so that they cannot drift from the code.
//!
//! Each chapter is the documentation of one item below; `cargo test` then compiles and runs every Rust
//! block of the book as a doctest, hidden `#` lines included (they start a server on 127.0.0.1, make
//! real requests and check the answers with `sisk_test_support::support`, a dev-dependency). This module
//! exists only when rustdoc collects doctests.

#![cfg(doctest)]

/// The chapter "Server-Sent Events".
#[doc = include_str!("../../book/src/server-sent-events.md")]
pub struct ServerSentEvents;

/// The chapter "WebSockets".
#[cfg(feature = "websockets")]
#[doc = include_str!("../../book/src/websockets.md")]
pub struct WebSockets;

/// The chapter "Introduction".
#[doc = include_str!("../../book/src/introduction.md")]
pub struct Introduction;

/// The chapter "Getting started".
#[doc = include_str!("../../book/src/getting-started.md")]
pub struct GettingStarted;

/// The chapter "Routing".
#[doc = include_str!("../../book/src/routing.md")]
pub struct Routing;

/// The chapter "Requests".
#[doc = include_str!("../../book/src/requests.md")]
pub struct Requests;

/// The chapter "Responses".
#[doc = include_str!("../../book/src/responses.md")]
pub struct Responses;

/// The chapter "JSON".
#[cfg(feature = "json")]
#[doc = include_str!("../../book/src/json.md")]
pub struct Json;

/// The chapter "Forms and uploads".
#[cfg(feature = "multipart")]
#[doc = include_str!("../../book/src/forms.md")]
pub struct Forms;

/// The chapter "Streaming content".
#[doc = include_str!("../../book/src/content-streaming.md")]
pub struct ContentStreaming;

/// The chapter "File server".
#[doc = include_str!("../../book/src/file-server.md")]
pub struct FileServer;

/// The chapter "Request handlers".
#[doc = include_str!("../../book/src/request-handlers.md")]
pub struct RequestHandlers;

/// The chapter "Attribute routes and controllers".
#[doc = include_str!("../../book/src/attribute-routes.md")]
pub struct AttributeRoutes;

/// The chapter "Server handlers and logs" (its log sections need the `logging` feature).
#[doc = include_str!("../../book/src/server-handlers.md")]
pub struct ServerHandlersAndLogs;

/// The chapter "Resuming and scaling out".
#[doc = include_str!("../../book/src/resuming-and-scaling-out.md")]
pub struct ResumingAndScalingOut;

/// The chapter "Deploying Server-Sent Events".
#[doc = include_str!("../../book/src/deploying-sse.md")]
pub struct DeployingSse;

/// The chapter "Running behind a proxy".
#[doc = include_str!("../../book/src/forwarding-resolvers.md")]
pub struct RunningBehindAProxy;

/// The chapter "Working with SSL" (it needs the `tls` feature).
#[cfg(feature = "tls")]
#[doc = include_str!("../../book/src/https.md")]
pub struct WorkingWithSsl;

/// The chapter "Several hosts and ports".
#[doc = include_str!("../../book/src/several-hosts.md")]
pub struct SeveralHosts;

/// The chapter "A small live app, end to end" (it needs the `tls` and `json` features).
#[cfg(all(feature = "tls", feature = "json"))]
#[doc = include_str!("../../book/src/live-app.md")]
pub struct ALiveApp;

/// The chapter "Eventos Enviados pelo Servidor" (the Server-Sent Events chapter in Brazilian Portuguese).
#[doc = include_str!("../../book/src/pt-BR/server-sent-events.md")]
pub struct EventosEnviadosPeloServidor;

/// The README, whose example must compile too.
#[doc = include_str!("../../README.md")]
pub struct Readme;

/// The chapter "MCP servers".
#[cfg(feature = "mcp")]
#[doc = include_str!("../../book/src/mcp.md")]
pub struct McpServers;

/// The chapter "Streaming model output" (it needs the `json` feature).
#[cfg(feature = "json")]
#[doc = include_str!("../../book/src/chat-completions.md")]
pub struct StreamingModelOutput;
