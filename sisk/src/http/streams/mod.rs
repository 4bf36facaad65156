//! Server-Sent Events and response streams: connections opened with
//! [`HttpRequest::get_event_source`](crate::http::HttpRequest::get_event_source), typed [`Event`]s,
//! the ping policy, and the server's collection of identified connections; and
//! [`HttpResponseStream`], a response a handler writes as it goes, which drains through the same kind of
//! bounded queue.
//!
//! ## Noticing that a client left
//!
//! A client that closes its socket is noticed at once, without waiting for the next write: the
//! transport sees the end of the connection, the stream's body is dropped, the connection closes,
//! `wait_for_fail`/`keep_alive` return and it leaves the collection (how soon is measured by
//! `cargo run --release -p sisk-bench --bin disconnect`; the numbers are in `BENCHMARKS.md`). An HTTP/2
//! client that resets the stream is noticed the same way. A client that vanishes without closing — a
//! cable pulled, a laptop lid shut — is only revealed by writing to it: that is what the
//! [ping policy](HttpStreamPingPolicy) is for. A write into a dead path succeeds locally until the
//! kernel's buffers and the connection's queue fill, so such a client is dropped when its queue
//! overflows or when TCP gives up retransmitting, whichever comes first.
//!
//! ## Slow clients
//!
//! Each connection has a bounded queue
//! ([`event_source_queue_capacity`](crate::http::HttpServerConfiguration::event_source_queue_capacity),
//! 1024 messages by default, and
//! [`event_source_queue_bytes`](crate::http::HttpServerConfiguration::event_source_queue_bytes), 4 MiB).
//! `send` on a full queue disconnects that client (a warning is logged) and
//! returns `false`; `send_async` waits for room instead. A broadcast encodes its event once; every queue
//! holds a reference to the same bytes.
//!
//! The module is split by what each part may touch: `channel` is the bounded queue and head slot (no
//! knowledge of servers or collections), `event_source` the handle of a connection on this node built on
//! it, `remote_event_source` a connection another node of a backplane holds, `http_request_event_source`
//! either of them as the collection finds it, `stream_body` the hyper body that drains the queue,
//! `collection` the public face of the identified connections (beside it `registry`, this node's
//! connections in `shards`, and `publishing`, the log and the ordered fan-out), `ping_policy` the pings
//! (one task per server sends them all), `event` the wire encoding, and `response_stream` the other
//! handle built on the same queue: a response of any content written as it goes, whose body is an
//! ordinary streamed body.

mod audience;
mod channel;
mod collection;
mod event;
mod event_id;
mod event_source;
mod http_request_event_source;
mod identifier_policy;
mod log;
mod ping_policy;
mod publishing;
mod refusal;
mod registry;
mod remote_event_source;
mod response_stream;
mod resume;
mod shards;
mod stream_body;

pub(crate) use audience::is_internal;
pub use audience::Audience;
#[cfg(any(feature = "mcp", feature = "websockets"))]
pub(crate) use audience::INTERNAL_MARK;
pub(crate) use channel::RequestOutcome;
#[cfg(feature = "websockets")]
pub(crate) use channel::{Channel, Closing, Pushed, QueueLimits, Queued};
pub use collection::HttpEventSourceCollection;
pub use event::Event;
#[cfg(feature = "redis")]
pub(crate) use event_id::{new_epoch, now_millis};
pub use event_id::{EventId, InvalidEventId, Position};
pub use event_source::LocalEventSource;
pub use http_request_event_source::HttpRequestEventSource;
pub use identifier_policy::IdentifierPolicy;
pub use log::EventLogOptions;
pub use ping_policy::HttpStreamPingPolicy;
#[cfg(feature = "websockets")]
pub(crate) use ping_policy::{PingState, Pinged};
pub use publishing::Published;
pub(crate) use refusal::{retry_after, retry_later};
pub use remote_event_source::RemoteEventSource;
pub use response_stream::HttpResponseStream;
pub use resume::{ResumeState, StaleReason};
#[cfg(feature = "websockets")]
pub(crate) use shards::Shards;
pub(crate) use stream_body::EventStreamBody;
pub use stream_body::StreamAborted;
