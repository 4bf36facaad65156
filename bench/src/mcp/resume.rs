//! Time to resume a call's stream: in a session, `count` with `n` progress notifications; the client
//! reads the stream up to the first notification, remembers the last event id it read and drops the
//! connection; a moment later (every notification has been sent by then) it comes back with `GET` and
//! that `Last-Event-ID`. Two [`Scenario`]s:
//!
//! - [`Scenario::Answered`]: the call answered while the client was away; the time is taken from the
//!   `GET` to the answer's arrival, `n` events: `n − 1` notifications and the answer.
//! - [`Scenario::Running`]: the call holds its answer for [`HOLD`] after its last notification, so it
//!   is still running when the client comes back; the time is taken from the `GET` to the arrival of
//!   notification `n`, `n − 1` events; the answer is then waited for and checked.
//!
//! Every trial checks what the client ends up with, across both connections: each notification
//! `1..=n` exactly once and in order, and the answer once, with the right text.

use std::io;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::driver::servers::ServerProcess;
use crate::mcp::client::{Body, McpConnection, SseParser};
use crate::mcp::fixtures::{count_answer, COUNT};
use crate::mcp::protocol::{end_session, initialize, open_get_stream, parse, progress_of, result_text, ToolCall};

/// Notifications read before the client drops its connection.
const READ_BEFORE_DROP: usize = 1;

/// How long the client stays away: long enough for every notification to be sent.
const AWAY: Duration = Duration::from_millis(200);

/// How long a [`Scenario::Running`] call holds its answer after its last notification: longer than
/// the client stays away, and than the replay takes.
pub const HOLD: Duration = Duration::from_millis(1_000);

/// When the client comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// After the call answered.
    Answered,
    /// While the call runs (it holds its answer).
    Running,
}

impl Scenario {
    /// Both, in the order they are measured.
    pub const ALL: [Scenario; 2] = [Scenario::Answered, Scenario::Running];

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Answered => "after the call answered (timed to the answer)",
            Scenario::Running => "while the call runs (timed to notification n)",
        }
    }
}

/// How long any one step (the first events, the resumed answer) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the resumed stream is read after the answer, for anything it sends again.
const AFTER_ANSWER: Duration = Duration::from_millis(500);

/// What one trial measured and checked.
#[derive(Debug, Clone, Default)]
pub struct ResumeTrial {
    /// Events on the resumed stream that carried a message, up to what is timed.
    pub resumed: usize,
    /// From sending the `GET` to reading what is timed; `None` when it did not come.
    pub time: Option<Duration>,
    /// Notifications of `1..=n` that never arrived.
    pub lost: u64,
    /// Notifications that arrived more than once, counted once per extra copy.
    pub duplicated: u64,
    /// Notifications that arrived after a later one.
    pub out_of_order: u64,
    /// Answers that arrived (1 is right), with the right text.
    pub answers: usize,
    /// What went wrong, if the trial could not go on.
    pub failure: Option<String>,
}

/// What the client has read of the call, across both connections.
#[derive(Debug, Default)]
struct Seen {
    progress: Vec<f64>,
    answers: usize,
    wrong_answers: Vec<Value>,
    last_id: Option<String>,
}

impl Seen {
    /// Takes the events `bytes` complete; true once the answer came.
    fn take(&mut self, parser: &mut SseParser, bytes: &[u8], call: &ToolCall<'_>, n: u64) -> io::Result<bool> {
        parser.feed(bytes);
        let mut answered = false;
        while let Some(event) = parser.next_event() {
            if let Some(id) = event.id {
                self.last_id = Some(id);
            }
            if event.data.is_empty() {
                continue;
            }
            let message = parse(event.data.as_bytes())?;
            if let Some(progress) = progress_of(&message) {
                self.progress.push(progress);
            } else if call.is_answer(&message) && result_text(&message) == Some(count_answer(n).as_str()) {
                self.answers += 1;
                answered = true;
            } else {
                self.wrong_answers.push(message);
            }
        }
        Ok(answered)
    }
}

/// Reads `body` into `seen` until `stop` says so or the body ends; true when it stopped on `stop`.
async fn read_until(
    body: &mut Body<'_>,
    parser: &mut SseParser,
    seen: &mut Seen,
    call: &ToolCall<'_>,
    n: u64,
    stop: impl Fn(&Seen, bool) -> bool,
) -> io::Result<bool> {
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if !body.read(&mut bytes).await? {
            return Ok(false);
        }
        let answered = seen.take(parser, &bytes, call, n)?;
        if stop(seen, answered) {
            return Ok(true);
        }
    }
}

/// One trial on `server`: a call of `count` with `n` notifications, dropped and resumed in `scenario`.
pub async fn trial(server: &ServerProcess, scenario: Scenario, n: u64, id: u64) -> io::Result<ResumeTrial> {
    let mut control = McpConnection::connect(server.addr).await?;
    let session = initialize(&mut control).await?;
    let call = ToolCall { id, tool: COUNT, session: Some(&session), progress: true };
    let mut seen = Seen::default();
    let mut trial = ResumeTrial::default();

    let mut first = McpConnection::connect(server.addr).await?;
    let hold = match scenario {
        Scenario::Answered => Duration::ZERO,
        Scenario::Running => HOLD,
    };
    let (head, mut body) = call.send(&mut first, json!({ "n": n, "hold_ms": hold.as_millis() as u64 })).await?;
    if !head.is_event_stream() {
        return Err(io::Error::other(format!("tools/call of count answered {head:?}, not an event stream")));
    }
    let mut parser = SseParser::default();
    let enough = |seen: &Seen, answered: bool| answered || seen.progress.len() >= READ_BEFORE_DROP;
    let read = tokio::time::timeout(STEP_TIMEOUT, read_until(&mut body, &mut parser, &mut seen, &call, n, enough));
    read.await.map_err(|_| io::Error::other("the call's first events did not come in time"))??;
    drop(first);
    if seen.answers > 0 {
        trial.failure = Some("the answer came before the client dropped the stream".to_owned());
        return Ok(trial);
    }
    tokio::time::sleep(AWAY).await;

    let before = seen.progress.len() + seen.wrong_answers.len();
    let mut again = McpConnection::connect(server.addr).await?;
    let started = Instant::now();
    let mut body = open_get_stream(&mut again, &session, seen.last_id.clone().as_deref()).await?;
    let mut parser = SseParser::default();
    let timed = move |seen: &Seen, answered: bool| match scenario {
        Scenario::Answered => answered,
        Scenario::Running => answered || seen.progress.iter().any(|&p| p >= n as f64),
    };
    let read = tokio::time::timeout(STEP_TIMEOUT, read_until(&mut body, &mut parser, &mut seen, &call, n, timed));
    match read.await {
        Ok(Ok(true)) => trial.time = Some(started.elapsed()),
        Ok(Ok(false)) => trial.failure = Some("the resumed stream ended before what is timed".to_owned()),
        Ok(Err(error)) => trial.failure = Some(format!("the resumed stream failed: {error}")),
        Err(_) => trial.failure = Some(format!("nothing timed came on the resumed stream within {STEP_TIMEOUT:?}")),
    }
    trial.resumed = seen.progress.len() + seen.wrong_answers.len() + seen.answers - before;
    if trial.time.is_some() && seen.answers == 0 {
        let answered = |_: &Seen, answered: bool| answered;
        let read = read_until(&mut body, &mut parser, &mut seen, &call, n, answered);
        if !matches!(tokio::time::timeout(STEP_TIMEOUT, read).await, Ok(Ok(true))) {
            trial.failure = Some("the answer did not come on the resumed stream".to_owned());
        }
    }
    if seen.answers > 0 {
        // Anything after the answer (a stream that does not end, or sends again) is counted too.
        let never = |_: &Seen, _: bool| false;
        let rest = read_until(&mut body, &mut parser, &mut seen, &call, n, never);
        let _ = tokio::time::timeout(AFTER_ANSWER, rest).await;
    }
    drop(again);
    end_session(&mut control, &session).await?;

    let mut copies = vec![0u64; n as usize + 1];
    let mut highest = 0.0;
    for &progress in &seen.progress {
        if progress < highest {
            trial.out_of_order += 1;
        }
        highest = f64::max(highest, progress);
        match copies.get_mut(progress as usize).filter(|_| progress >= 1.0 && progress.fract() == 0.0) {
            Some(count) => *count += 1,
            None => {
                trial.failure.get_or_insert_with(|| format!("a notification of progress {progress}, not in 1..={n}"));
            }
        }
    }
    trial.lost = copies[1..].iter().filter(|&&c| c == 0).count() as u64;
    trial.duplicated += copies[1..].iter().map(|&c| c.saturating_sub(1)).sum::<u64>();
    trial.answers = seen.answers;
    if let Some(wrong) = seen.wrong_answers.first() {
        trial.failure.get_or_insert_with(|| format!("a message that is no notification nor the answer: {wrong}"));
    }
    Ok(trial)
}
