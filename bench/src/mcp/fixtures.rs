//! What both MCP servers of the benchmark serve (`mcp-sisk`, `mcp-rmcp`), so that `mcp-compare` measures
//! them the same way: the endpoint, the two tools and their arguments.
//!
//! - `echo {text}` answers its `text` as one text content, and sends nothing before.
//! - `count {n, hold_ms}` sends `n` progress notifications (`progress` 1 to `n`, `total` `n`) to the
//!   call's stream when the call carries a `progressToken`, waits `hold_ms` milliseconds (0 when left
//!   out), then answers [`count_answer`]`(n)`.
//!
//! Each server takes the address to bind as its first argument, raises its descriptor limit, and prints
//! `listening on <address>` (the contract of the other servers, [`crate::contract`]).

use serde::Deserialize;

/// The path of the MCP endpoint (`GET`, `POST` and `DELETE`).
pub const ENDPOINT: &str = "/mcp";

/// The name of the tool that answers its text.
pub const ECHO: &str = "echo";

/// The name of the tool that sends progress notifications before it answers.
pub const COUNT: &str = "count";

/// The most notifications one `count` sends; a larger `n` is a tool error.
pub const MOST_PROGRESS: u64 = 100_000;

/// The longest `hold_ms` of a `count`; a longer one is a tool error.
pub const MOST_HOLD_MS: u64 = 10_000;

/// The arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoArguments {
    /// The text to answer.
    pub text: String,
}

/// The arguments of `count`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CountArguments {
    /// How many progress notifications to send before the answer.
    pub n: u64,
    /// How long to wait after the last notification before answering, in milliseconds.
    #[serde(default)]
    pub hold_ms: u64,
}

impl CountArguments {
    /// Why the call is refused, if it asks for more than a `count` does.
    pub fn refusal(&self) -> Option<String> {
        if self.n > MOST_PROGRESS {
            Some(format!("n = {} is more than {MOST_PROGRESS}", self.n))
        } else if self.hold_ms > MOST_HOLD_MS {
            Some(format!("hold_ms = {} is more than {MOST_HOLD_MS}", self.hold_ms))
        } else {
            None
        }
    }

    /// How long to wait before answering.
    pub fn hold(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.hold_ms)
    }
}

/// The text `count` answers after `n` notifications.
pub fn count_answer(n: u64) -> String {
    format!("counted {n}")
}
