//! The MCP benchmark (`mcp-compare`): sisk's `McpProvider` against rmcp, the official Rust SDK, on axum,
//! each a server process of its own (`mcp-sisk`, `mcp-rmcp`) serving the same [`fixtures`].
//!
//! Split by measurement: [`client`] is the raw HTTP/1.1 and SSE client, [`protocol`] the MCP messages
//! on it, [`calls`] measures `tools/call` round trips, [`sessions`] memory per idle session, [`resume`]
//! the time to resume a call's stream, and [`report`] prints.

pub mod calls;
pub mod client;
pub mod fixtures;
pub mod protocol;
pub mod report;
pub mod resume;
pub mod sessions;

use std::io;
use std::path::Path;
use std::process::Command;

use crate::driver::servers::ServerProcess;

/// The `channel_capacity` of [`McpServer::RmcpLargeCache`]: room for the priming event, 1,000
/// notifications and the answer, so that rmcp's cache can resume them all.
pub const LARGE_CHANNEL_CAPACITY: usize = 1024;

/// An MCP server binary of the benchmark, with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpServer {
    /// `mcp-sisk`.
    Sisk,
    /// `mcp-rmcp` as configured by default.
    Rmcp,
    /// `mcp-rmcp --channel-capacity` [`LARGE_CHANNEL_CAPACITY`]: each stream's cache holds that many
    /// events (rmcp's default is 16).
    RmcpLargeCache,
}

impl McpServer {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            McpServer::Sisk => "sisk",
            McpServer::Rmcp => "rmcp",
            McpServer::RmcpLargeCache => "rmcp, channel_capacity 1024",
        }
    }

    /// Starts it from `directory` (where the binaries are) on `127.0.0.1:0`.
    pub fn start_in(self, directory: &Path) -> io::Result<ServerProcess> {
        let binary = match self {
            McpServer::Sisk => "mcp-sisk",
            McpServer::Rmcp | McpServer::RmcpLargeCache => "mcp-rmcp",
        };
        let mut command = Command::new(directory.join(binary));
        command.arg("127.0.0.1:0");
        if self == McpServer::RmcpLargeCache {
            command.arg("--channel-capacity").arg(LARGE_CHANNEL_CAPACITY.to_string());
        }
        ServerProcess::start_command(self.name(), command)
    }

    /// Starts it from the running driver's own directory (`target/release`).
    pub fn start(self) -> io::Result<ServerProcess> {
        let exe = std::env::current_exe()?;
        let directory = exe.parent().ok_or_else(|| io::Error::other("the driver has no directory"))?;
        self.start_in(directory)
    }
}
