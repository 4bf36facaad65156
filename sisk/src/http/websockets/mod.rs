//! WebSockets (Sisk's `HttpWebSocket`): a request accepted with
//! [`HttpRequest::get_web_socket`](crate::http::HttpRequest::get_web_socket) becomes an
//! [`HttpWebSocket`] to receive [`WebSocketMessage`]s from and send them to, with the event sources'
//! ping policy, and, with an identifier, a place in [`server.web_sockets()`](crate::http::HttpServer::web_sockets).
//!
//! The framing is tokio-tungstenite's, over the connection hyper hands over after the handshake:
//! HTTP/1.1's `Upgrade` (RFC 6455) and HTTP/2's extended `CONNECT` (RFC 8441) on the same routes. The
//! handshake's head takes the path an event stream's head takes (the request's head slot), so the
//! handler goes on running, as it does for a stream, after its head is sent.
//!
//! The module is split by what each part may touch: `handshake` reads the request and sends the head,
//! `socket` is the handle (its queue is the event streams' bounded channel, with the same slow-consumer
//! policy), `pump` the one task per socket that reads and writes the frames and chooses close codes,
//! `message` what goes in and out, `collection` the identified sockets, `relay` how a message to them
//! travels a backplane's shared log to the other nodes.

mod collection;
pub(crate) mod handshake;
mod message;
mod pump;
mod relay;
mod socket;

pub use collection::HttpWebSocketCollection;
pub use message::WebSocketMessage;
pub use socket::HttpWebSocket;
pub(crate) use socket::WeakWebSocket;
