//! Server-Sent Events: connections opened with
//! [`HttpRequest::get_event_source`](crate::http::HttpRequest::get_event_source), typed [`Event`]s,
//! the ping policy, and the server's collection of identified connections.
//!
//! The module is split by what each part may touch: `channel` is the bounded queue and head slot (no
//! knowledge of servers or collections), `event_source` the public handle built on it, `stream_body` the
//! hyper body that drains the queue, `collection` the registry, `ping_policy` the keep-alive task, and
//! `event` the wire encoding.

mod channel;
mod collection;
mod event;
mod event_source;
mod ping_policy;
mod stream_body;

pub use collection::HttpEventSourceCollection;
pub use event::Event;
pub use event_source::HttpRequestEventSource;
pub use ping_policy::HttpStreamPingPolicy;
pub use stream_body::EventStreamBody;
