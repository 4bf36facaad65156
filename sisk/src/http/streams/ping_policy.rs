//! [`HttpStreamPingPolicy`]: periodic pings that keep an idle event stream or WebSocket open through
//! proxies and NATs, and reveal a client that is gone; and [`PingSchedule`], which sends them. (Sisk has
//! one policy for both; so does sisk: an event stream gets SSE comments, a WebSocket ping frames.)
//!
//! Every ping of a server is sent by one task, which keeps the streams' next pings in a map ordered by
//! time: a stream with pings costs an entry there, not a task and a timer of its own (about 1.8 KB of
//! memory per stream, and the cost of spawning a task at each connection). The task touches a stream
//! only when its ping is due, never on the per-event path. A ping goes through the stream's queue like
//! any message, so a client that stopped reading is still revealed: its queue fills and it is
//! disconnected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::http::streams::event::encode_comment;
use crate::http::streams::event_source::{Traffic, WeakEventSource};
#[cfg(feature = "websockets")]
use crate::http::websockets::WeakWebSocket;
use crate::http::HttpServer;
use crate::sync::lock;

/// The ping policy of a connection, configured inside
/// [`LocalEventSource::with_ping`](crate::http::streams::LocalEventSource::with_ping) (or a WebSocket's
/// `with_ping`). Once started it sends, at once and then every `interval` as Sisk's timer does, an SSE
/// comment carrying `data_message` — invisible to the page's `onmessage` — or, on a WebSocket, a ping
/// frame carrying it (cut to 125 bytes), which the browser answers by itself. A ping that cannot be
/// written closes the connection and frees it. Pings do not restart the idle clock of
/// [`wait_for_fail`](crate::http::streams::LocalEventSource::wait_for_fail). The settings stay on the
/// connection: a later `with_ping` starts from them.
#[derive(Debug)]
pub struct HttpStreamPingPolicy {
    /// The text of each ping (default `%ping%`, as in Sisk).
    pub data_message: String,
    /// The time between pings (default 5 seconds, as in Sisk).
    pub interval: Duration,
    target: Pinged,
    server: HttpServer,
}

/// What a ping goes to, held weakly: the schedule never keeps a connection alive.
#[derive(Debug, Clone)]
pub(crate) enum Pinged {
    /// An event stream: a comment.
    EventSource(WeakEventSource),
    /// A WebSocket: a ping frame.
    #[cfg(feature = "websockets")]
    WebSocket(WeakWebSocket),
}

impl Pinged {
    /// Makes a new `start` the current one of the connection's; `None` once the connection is gone.
    fn restart(&self) -> Option<u64> {
        match self {
            Pinged::EventSource(source) => source.upgrade().map(|source| source.pings().restart()),
            #[cfg(feature = "websockets")]
            Pinged::WebSocket(socket) => socket.upgrade().map(|socket| socket.pings().restart()),
        }
    }

    /// What goes on the wire for `data_message`.
    fn frame(&self, data_message: &str) -> Bytes {
        match self {
            Pinged::EventSource(_) => encode_comment(data_message),
            #[cfg(feature = "websockets")]
            Pinged::WebSocket(_) => {
                // A control frame carries at most 125 bytes; cut at a character's boundary.
                let mut end = data_message.len().min(125);
                while !data_message.is_char_boundary(end) {
                    end -= 1;
                }
                Bytes::copy_from_slice(&data_message.as_bytes()[..end])
            }
        }
    }
}

impl HttpStreamPingPolicy {
    /// The policy of `source`, with the settings an earlier `with_ping` kept, or Sisk's defaults.
    fn new(target: Pinged, server: HttpServer, kept: Option<(String, Duration)>) -> Self {
        let (data_message, interval) = kept.unwrap_or_else(|| ("%ping%".to_owned(), Duration::from_secs(5)));
        HttpStreamPingPolicy { data_message, interval, target, server }
    }

    /// The settings, for the connection to keep.
    fn into_settings(self) -> (String, Duration) {
        (self.data_message, self.interval)
    }

    /// Starts pinging with the current `data_message` and `interval`: one ping now, then one every
    /// `interval`, until the connection closes. A second `start` replaces the first: the pings then
    /// follow the new settings only. (Sisk starts a second timer beside the first, so its client gets
    /// both; sisk does not.)
    ///
    /// # Panics
    /// Outside a tokio runtime (a handler always runs inside one), or with a zero `interval`.
    pub fn start(&self) {
        assert!(!self.interval.is_zero(), "the ping interval must be longer than zero");
        let Some(generation) = self.target.restart() else {
            return;
        };
        let ping = Ping {
            target: self.target.clone(),
            frame: self.target.frame(&self.data_message),
            interval: self.interval,
            generation,
        };
        self.server.event_sources().pings().add(Instant::now(), ping);
    }

    /// Sets the message and interval, then starts.
    pub fn start_with(&mut self, data_message: impl Into<String>, interval: Duration) {
        self.data_message = data_message.into();
        self.interval = interval;
        self.start();
    }
}

/// What a connection keeps of its ping policy, an event stream's or a WebSocket's alike: the settings
/// of its last `with_ping` (Sisk keeps them on the policy), and which `start` is current (0: never
/// started), so that the pings of an earlier one stop.
#[derive(Debug, Default)]
pub(crate) struct PingState {
    settings: Mutex<Option<(String, Duration)>>,
    generation: AtomicU64,
}

impl PingState {
    /// Hands `configure` the policy of `target`, with the kept settings or Sisk's defaults, and keeps
    /// the settings it leaves.
    pub(crate) fn configure(
        &self,
        target: Pinged,
        server: HttpServer,
        configure: impl FnOnce(&mut HttpStreamPingPolicy),
    ) {
        let kept = lock(&self.settings).clone();
        let mut policy = HttpStreamPingPolicy::new(target, server, kept);
        configure(&mut policy);
        *lock(&self.settings) = Some(policy.into_settings());
    }

    /// Makes a new `start` the current one, and returns it.
    fn restart(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// True while `generation` is the current `start`.
    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) == generation
    }
}

/// One stream's pings.
#[derive(Debug)]
struct Ping {
    target: Pinged,
    frame: Bytes,
    interval: Duration,
    /// Which `start` made it: a later `start` of the same stream retires it.
    generation: u64,
}

/// The next ping of every pinged stream of a server, and the task that sends them (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct PingSchedule {
    due: Arc<Mutex<Due>>,
    /// Wakes the task when a ping comes due before the one it sleeps for, or the schedule is dropped.
    changed: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Due {
    /// Pings by the time they are due, then by order of arrival (which keeps the keys apart).
    pings: BTreeMap<(Instant, u64), Ping>,
    added: u64,
    task_started: bool,
}

impl PingSchedule {
    fn add(&self, at: Instant, ping: Ping) {
        add(&self.due, &self.changed, at, ping);
    }
}

impl Drop for PingSchedule {
    fn drop(&mut self) {
        // The task holds the pings weakly: woken, it finds them gone and ends.
        self.changed.notify_one();
    }
}

/// Schedules `ping` at `at`, starting the task with the first ping of the server.
fn add(due: &Arc<Mutex<Due>>, changed: &Arc<Notify>, at: Instant, ping: Ping) {
    let mut pings = lock(due);
    let earliest = pings.pings.first_key_value().is_none_or(|((first, _), _)| at < *first);
    pings.added += 1;
    let key = (at, pings.added);
    pings.pings.insert(key, ping);
    if !pings.task_started {
        pings.task_started = true;
        tokio::spawn(run(Arc::downgrade(due), changed.clone()));
    } else if earliest {
        changed.notify_one();
    }
}

/// The task: sleeps until the earliest ping is due, sends the pings that are, and schedules their next.
async fn run(due: Weak<Mutex<Due>>, changed: Arc<Notify>) {
    loop {
        let Some(pings) = due.upgrade() else {
            return;
        };
        let now = Instant::now();
        let next = lock(&pings).pings.first_key_value().map(|((at, _), _)| *at);
        if next.is_none_or(|at| at > now) {
            // Not held while asleep, so that the server can be dropped.
            drop(pings);
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed.notified() => {}
                    }
                }
                // A change stores a permit if it comes before this wait: it is not lost.
                None => changed.notified().await,
            }
            continue;
        }
        let mut fired = Vec::new();
        {
            let mut pings = lock(&pings);
            while pings.pings.first_key_value().is_some_and(|((at, _), _)| *at <= now) {
                fired.extend(pings.pings.pop_first().map(|(_, ping)| ping));
            }
        }
        // Sent with no lock held: a ping that overflows a queue disconnects its client, which runs hooks.
        for (at, ping) in fired.into_iter().filter_map(|ping| ping.send(now)) {
            add(&pings, &changed, at, ping);
        }
    }
}

impl Ping {
    /// Pings the stream; returns when to ping it next, or `None` once the stream is closed, the ping
    /// could not be queued (the stream is then disconnected), or a later `start` replaced it.
    fn send(self, now: Instant) -> Option<(Instant, Ping)> {
        let sent = match &self.target {
            Pinged::EventSource(source) => {
                let source = source.upgrade()?;
                source.pings().is_current(self.generation)
                    && !source.channel().is_closed()
                    && source.push(self.frame.clone(), Traffic::Ping)
            }
            #[cfg(feature = "websockets")]
            Pinged::WebSocket(socket) => {
                let socket = socket.upgrade()?;
                socket.pings().is_current(self.generation) && socket.ping(self.frame.clone())
            }
        };
        if !sent {
            return None;
        }
        Some((now + self.interval, self))
    }
}
