//! Test support for the whole workspace: [`support`], what the book's examples and the suites run a
//! server with, [`raw`], a TCP client for the requests an HTTP library refuses to send, and
//! [`mcp_client`], an MCP client for the book's MCP chapter, and [`web_socket`], a WebSocket client (tokio-tungstenite's) for the book's
//! WebSockets chapter. Where a new test goes is written in
//! `CONTRIBUTING.md`.

pub mod mcp_client;
pub mod raw;
pub mod support;
pub mod web_socket;
