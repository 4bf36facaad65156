//! [`HttpStreamPingPolicy`]: periodic comments that keep an idle event stream open through proxies and
//! NATs, and reveal a client that is gone.

use std::time::Duration;

use crate::http::streams::event::encode_comment;
use crate::http::streams::HttpRequestEventSource;

/// The ping policy of a connection, configured inside
/// [`HttpRequestEventSource::with_ping`]. Every `interval` it sends an SSE comment carrying
/// `data_message` — invisible to the page's `onmessage`. A ping that cannot be written closes the
/// connection and frees it. Pings do not restart the idle clock of
/// [`wait_for_fail`](HttpRequestEventSource::wait_for_fail).
#[derive(Debug)]
pub struct HttpStreamPingPolicy {
    /// The text of each ping (default `%ping%`, as in Sisk).
    pub data_message: String,
    /// The time between pings (default 5 seconds, as in Sisk).
    pub interval: Duration,
    source: HttpRequestEventSource,
}

impl HttpStreamPingPolicy {
    pub(crate) fn new(source: HttpRequestEventSource) -> Self {
        HttpStreamPingPolicy { data_message: "%ping%".to_owned(), interval: Duration::from_secs(5), source }
    }

    /// Starts pinging with the current `data_message` and `interval`, until the connection closes.
    /// A connection has one ping task: a second `start` is ignored.
    ///
    /// # Panics
    /// Outside a tokio runtime (a handler always runs inside one), or with a zero `interval`.
    pub fn start(&self) {
        assert!(!self.interval.is_zero(), "the ping interval must be longer than zero");
        if !self.source.claim_ping() {
            tracing::debug!("ping policy already started for this connection; ignoring a second start");
            return;
        }
        let source = self.source.clone();
        let frame = encode_comment(&self.data_message);
        let interval = self.interval;
        tokio::spawn(async move {
            let Some(channel) = source.channel() else {
                return;
            };
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = channel.closed() => return,
                }
                if !source.push(frame.clone(), false) {
                    return;
                }
            }
        });
    }

    /// Sets the message and interval, then starts.
    pub fn start_with(&mut self, data_message: impl Into<String>, interval: Duration) {
        self.data_message = data_message.into();
        self.interval = interval;
        self.start();
    }
}
