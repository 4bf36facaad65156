//! Memory per idle session: K sessions opened on a fresh server process, each initialized and holding
//! its `GET` stream open (its first event, the priming one, read, which shows the server holds the
//! stream), and the growth of the process's resident memory (`VmRSS`) divided by K.
//!
//! The sessions are opened through a few control connections, warmed up with one stateless
//! `tools/list` each before the first reading, so that what the control connections cost is not
//! counted; each `GET` stream has its own connection, which is counted, since a session's stream needs
//! one.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::driver::servers::ServerProcess;
use crate::mcp::client::{McpConnection, SseParser};
use crate::mcp::fixtures::ENDPOINT;
use crate::mcp::protocol::{initialize, open_get_stream, read_answer, STATELESS_VERSION};

/// Connections that open sessions at the same time.
const IN_FLIGHT: usize = 32;

/// How long opening every session may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the server is left alone before its memory is read.
const SETTLE: Duration = Duration::from_millis(300);

/// What one run measured.
#[derive(Debug, Clone)]
pub struct IdleResult {
    /// Sessions opened, each holding its `GET` stream.
    pub sessions: usize,
    /// Server RSS just before opening them.
    pub rss_before: u64,
    /// Server RSS with every session open.
    pub rss_after: u64,
    /// How long opening them took.
    pub opening: Duration,
}

impl IdleResult {
    /// Bytes of resident memory per session.
    pub fn per_session(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.sessions.max(1) as f64
    }
}

/// A control connection that has been used once, so its own buffers exist before the first reading.
async fn warmed_control(server: &ServerProcess) -> io::Result<McpConnection> {
    let mut connection = McpConnection::connect(server.addr).await?;
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": { "_meta": {
        "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
    } } });
    let headers = [("MCP-Protocol-Version", STATELESS_VERSION), ("Mcp-Method", "tools/list")];
    let (head, body) = connection.send("POST", ENDPOINT, &headers, request.to_string().as_bytes()).await?;
    let answer = read_answer(head, body).await?;
    if answer.head.status != 200 || answer.messages.first().map(|m| m["result"]["tools"].is_array()) != Some(true) {
        return Err(io::Error::other(format!("a stateless tools/list answered {:?}", answer.messages)));
    }
    Ok(connection)
}

/// Opens `count` sessions through `control`, each with its `GET` stream open on a connection of its own,
/// and returns those connections.
async fn open_sessions(server: SocketAddr, mut control: McpConnection, count: usize) -> io::Result<Vec<McpConnection>> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let session = initialize(&mut control).await?;
        let mut stream = McpConnection::connect(server).await?;
        let mut body = open_get_stream(&mut stream, &session, None).await?;
        let mut parser = SseParser::default();
        let mut bytes = Vec::new();
        loop {
            if let Some(event) = parser.next_event() {
                if event.id.is_none() && event.retry.is_none() {
                    return Err(io::Error::other(format!("the GET stream began with {event:?}, not a priming event")));
                }
                break;
            }
            bytes.clear();
            if !body.read(&mut bytes).await? {
                return Err(io::Error::other("a GET stream ended before its first event"));
            }
            parser.feed(&bytes);
        }
        streams.push(stream);
    }
    Ok(streams)
}

/// Opens `sessions` idle sessions on `server` (a fresh process) and measures its memory.
pub async fn run(server: &ServerProcess, sessions: usize) -> io::Result<IdleResult> {
    let mut controls = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT.min(sessions.max(1)) {
        controls.push(warmed_control(server).await?);
    }
    tokio::time::sleep(SETTLE).await;
    let rss_before = server.rss()?;

    let started = Instant::now();
    let mut opening = JoinSet::new();
    let share = sessions / controls.len();
    let extra = sessions % controls.len();
    for (index, control) in controls.into_iter().enumerate() {
        let count = share + usize::from(index < extra);
        opening.spawn(open_sessions(server.addr, control, count));
    }
    let mut open = Vec::with_capacity(sessions);
    let collected = tokio::time::timeout(OPEN_TIMEOUT, async {
        while let Some(joined) = opening.join_next().await {
            open.extend(joined.map_err(io::Error::other)??);
        }
        Ok::<_, io::Error>(())
    })
    .await;
    collected.map_err(|_| io::Error::other(format!("{sessions} sessions did not open within {OPEN_TIMEOUT:?}")))??;
    let opening = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let rss_after = server.rss()?;
    drop(open);
    Ok(IdleResult { sessions, rss_before, rss_after, opening })
}
