//! `tools/call echo` round trips: a fixed number of keep-alive connections (each with a session of its
//! own in [`Mode::Session`]), each sending its next call as soon as the previous answer has been read to
//! its end, for a fixed time. Every answer is checked: one JSON-RPC result with the call's id and the
//! text sent (unique per call), as JSON or as an event stream, counted by which.

use std::io;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::driver::servers::ServerProcess;
use crate::mcp::client::McpConnection;
use crate::mcp::fixtures::ECHO;
use crate::mcp::protocol::{end_session, initialize, read_answer, result_text, Mode, ToolCall};
use crate::process::cpu_time;

/// How long setting up the connections (and sessions) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What one or more runs against one server, in one mode, measured.
#[derive(Debug, Default, Clone)]
pub struct CallResult {
    /// Answers that were right.
    pub calls: u64,
    /// Answers that were wrong, and connections that failed.
    pub errors: u64,
    /// Right answers that came as JSON.
    pub as_json: u64,
    /// Right answers that came on an event stream.
    pub as_event_stream: u64,
    /// Time spent sending load.
    pub elapsed: Duration,
    /// Latency of every right answer (request written to the answer's last byte), sorted by
    /// [`CallResult::finish`].
    pub latencies: Vec<Duration>,
    /// CPU the server used during the runs.
    pub server_cpu: Duration,
    /// CPU the load generator used during the runs.
    pub client_cpu: Duration,
    /// The first wrong answer, to show.
    pub first_error: Option<String>,
}

impl CallResult {
    /// Right answers per second.
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// How the answers came: `JSON`, `SSE`, or both with their counts.
    pub fn answered_as(&self) -> String {
        match (self.as_json, self.as_event_stream) {
            (0, 0) => "–".to_owned(),
            (_, 0) => "JSON".to_owned(),
            (0, _) => "SSE".to_owned(),
            (json, sse) => format!("JSON {json}, SSE {sse}"),
        }
    }

    /// Adds another run's numbers.
    pub fn merge(&mut self, other: CallResult) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.as_json += other.as_json;
        self.as_event_stream += other.as_event_stream;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.server_cpu += other.server_cpu;
        self.client_cpu += other.client_cpu;
        self.first_error = self.first_error.take().or(other.first_error);
    }

    /// Sorts the latencies for percentiles.
    pub fn finish(&mut self) {
        self.latencies.sort_unstable();
    }
}

/// One connection, its session if the mode has one, and its index (which makes every text unique).
struct Client {
    connection: McpConnection,
    session: Option<String>,
    index: usize,
    /// The connection failed during the run (its error is counted): its session is left to expire.
    broken: bool,
}

/// Calls `echo` on `client` until `deadline`.
async fn drive(mut client: Client, deadline: Instant) -> (Client, CallResult) {
    let mut result = CallResult { latencies: Vec::with_capacity(8192), ..CallResult::default() };
    let mut sequence: u64 = 0;
    while Instant::now() < deadline {
        sequence += 1;
        let text = format!("c{}-{sequence}", client.index);
        let call = ToolCall { id: sequence, tool: ECHO, session: client.session.as_deref(), progress: false };
        let started = Instant::now();
        let answered = match call.send(&mut client.connection, json!({ "text": text })).await {
            Ok((head, body)) => read_answer(head, body).await,
            Err(error) => Err(error),
        };
        let latency = started.elapsed();
        let answer = match answered {
            Ok(answer) => answer,
            Err(error) => {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| error.to_string());
                client.broken = true;
                break;
            }
        };
        let right = answer.head.status == 200
            && answer.messages.len() == 1
            && call.is_answer(&answer.messages[0])
            && result_text(&answer.messages[0]) == Some(text.as_str());
        if !right {
            result.errors += 1;
            result.first_error.get_or_insert_with(|| format!("{} {:?}", answer.head.status, answer.messages));
            continue;
        }
        result.calls += 1;
        if answer.head.is_event_stream() {
            result.as_event_stream += 1;
        } else {
            result.as_json += 1;
        }
        result.latencies.push(latency);
    }
    (client, result)
}

/// Opens `connections` connections to `server`, each initializing a session in [`Mode::Session`].
async fn set_up(server: &ServerProcess, mode: Mode, connections: usize) -> io::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(connections);
    for index in 0..connections {
        let mut connection = McpConnection::connect(server.addr).await?;
        let session = match mode {
            Mode::Session => Some(initialize(&mut connection).await?),
            Mode::Stateless => None,
        };
        clients.push(Client { connection, session, index, broken: false });
    }
    Ok(clients)
}

/// Loads `server` with `connections` connections calling `echo` in `mode` for `duration`, and measures
/// both sides' CPU; the sessions are ended afterwards.
pub async fn run(server: &ServerProcess, mode: Mode, connections: usize, duration: Duration) -> io::Result<CallResult> {
    let clients = tokio::time::timeout(SETUP_TIMEOUT, set_up(server, mode, connections))
        .await
        .map_err(|_| io::Error::other(format!("{connections} connections were not set up in {SETUP_TIMEOUT:?}")))??;
    let own = std::process::id();
    let (server_before, client_before) = (server.cpu_after_settling().await?, cpu_time(own)?);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for client in clients {
        tasks.spawn(drive(client, deadline));
    }
    let mut result = CallResult::default();
    let mut done = Vec::with_capacity(connections);
    while let Some(joined) = tasks.join_next().await {
        let (client, run) = joined.map_err(io::Error::other)?;
        result.merge(run);
        done.push(client);
    }
    result.elapsed = started.elapsed();
    result.client_cpu = cpu_time(own)?.saturating_sub(client_before);
    result.server_cpu = server.cpu_after_settling().await?.saturating_sub(server_before);
    for mut client in done.into_iter().filter(|client| !client.broken) {
        if let Some(session) = &client.session {
            if let Err(error) = end_session(&mut client.connection, session).await {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    Ok(result)
}
