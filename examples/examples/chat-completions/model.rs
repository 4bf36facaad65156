//! The stand-in for a language model: deterministic, so tests know every answer. It "thinks" before its
//! first token, then answers `You said:` followed by the words of the last user message, one token per
//! word, each after a short delay. A token is counted per word, in the prompt as in the answer.

use std::time::Duration;

use crate::wire::{Message, Role, Usage};

/// How fast the model is. `CHAT_THINKING_MS` (1500 by default) and `CHAT_TOKEN_MS` (80) change it, so
/// that tests need not wait.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The wait before the first token.
    pub thinking: Duration,
    /// The wait before each token.
    pub per_token: Duration,
}

impl Pace {
    /// The pace the environment sets, or the defaults.
    pub fn from_env() -> Pace {
        Pace { thinking: millis_from_env("CHAT_THINKING_MS", 1500), per_token: millis_from_env("CHAT_TOKEN_MS", 80) }
    }
}

/// The variable `name` as milliseconds, or `default`.
pub fn millis_from_env(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default))
}

/// One answer being made, a token at a time. Dropping it stops the work: that is how a generation is
/// cancelled.
#[derive(Debug)]
pub struct Generation {
    tokens: std::vec::IntoIter<String>,
    usage: Usage,
    pace: Pace,
    thought: bool,
}

impl Generation {
    /// Starts answering `messages` (the caller checked that one is the user's).
    pub fn start(messages: &[Message], pace: Pace) -> Generation {
        let prompt_tokens = messages.iter().map(|message| message.text().split_whitespace().count()).sum();
        let last = messages.iter().rev().find(|message| message.role == Role::User).map(Message::text);
        let words = ["You", "said:"].into_iter().map(str::to_owned);
        let words: Vec<String> = words.chain(last.unwrap_or_default().split_whitespace().map(str::to_owned)).collect();
        let tokens: Vec<String> =
            words.iter().enumerate().map(|(n, word)| if n == 0 { word.clone() } else { format!(" {word}") }).collect();
        let completion_tokens = tokens.len();
        let usage = Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
        Generation { tokens: tokens.into_iter(), usage, pace, thought: false }
    }

    /// The answer's token counts (known from the start: the model is a fake).
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Waits for the next token: the thinking first, then each token's delay. `None` at the end.
    pub async fn next_token(&mut self) -> Option<String> {
        if !self.thought {
            self.thought = true;
            tokio::time::sleep(self.pace.thinking).await;
        }
        let token = self.tokens.next()?;
        tokio::time::sleep(self.pace.per_token).await;
        Some(token)
    }

    /// Makes the whole answer, waiting as a stream would.
    pub async fn complete(mut self) -> (String, Usage) {
        let mut answer = String::new();
        while let Some(token) = self.next_token().await {
            answer.push_str(&token);
        }
        (answer, self.usage)
    }
}
