//! [`WebSocketMessage`]: one whole message of a WebSocket, text or binary, as a handler receives it
//! and as it sends one (Sisk's `WebSocketMessage`, with `GetString()`).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::http::streams::Queued;

/// One whole WebSocket message (its fragments already joined): text, which is always valid UTF-8, or
/// binary. Received from [`HttpWebSocket::receive_message`](crate::http::websockets::HttpWebSocket::receive_message);
/// anything that converts into one can be sent (`&str`, `String`, `Vec<u8>`, `&[u8]`, [`Bytes`]).
///
/// A clone shares the payload: a broadcast sends one message to many sockets without copying it.
///
/// ```
/// use sisk::http::websockets::WebSocketMessage;
///
/// let text = WebSocketMessage::from("olá");
/// assert!(text.is_text());
/// assert_eq!(text.get_string(), "olá");
///
/// let binary = WebSocketMessage::from(vec![0x6f, 0x69]);
/// assert!(!binary.is_text());
/// assert_eq!(binary.get_string(), "oi"); // decoded as UTF-8, lossily
/// assert_eq!(binary.as_bytes(), b"oi");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WebSocketMessage(Payload);

#[derive(Clone, PartialEq, Eq)]
enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl WebSocketMessage {
    /// The message as text: a text message as it is, a binary one decoded as UTF-8 (an invalid sequence
    /// becomes U+FFFD), as Sisk's `GetString()`.
    pub fn get_string(&self) -> Cow<'_, str> {
        match &self.0 {
            Payload::Text(text) => Cow::Borrowed(text.as_str()),
            Payload::Binary(bytes) => String::from_utf8_lossy(bytes),
        }
    }

    /// The payload's bytes (a text message's UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Payload::Text(text) => text.as_ref(),
            Payload::Binary(bytes) => bytes,
        }
    }

    /// True for a text message, false for a binary one.
    pub fn is_text(&self) -> bool {
        matches!(self.0, Payload::Text(_))
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message of tungstenite's this one is (the payload shared, not copied).
    pub(crate) fn into_frame(self) -> Message {
        match self.0 {
            Payload::Text(text) => Message::Text(text),
            Payload::Binary(bytes) => Message::Binary(bytes),
        }
    }

    /// The data message tungstenite read, if it is one (not a control frame).
    pub(crate) fn from_frame(message: Message) -> Option<Self> {
        match message {
            Message::Text(text) => Some(WebSocketMessage(Payload::Text(text))),
            Message::Binary(bytes) => Some(WebSocketMessage(Payload::Binary(bytes))),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => None,
        }
    }
}

impl Queued for Message {
    fn size(&self) -> usize {
        self.len()
    }
}

impl From<&str> for WebSocketMessage {
    fn from(text: &str) -> Self {
        WebSocketMessage(Payload::Text(text.into()))
    }
}

impl From<String> for WebSocketMessage {
    fn from(text: String) -> Self {
        WebSocketMessage(Payload::Text(text.into()))
    }
}

impl From<&String> for WebSocketMessage {
    fn from(text: &String) -> Self {
        WebSocketMessage(Payload::Text(text.into()))
    }
}

impl From<Vec<u8>> for WebSocketMessage {
    fn from(bytes: Vec<u8>) -> Self {
        WebSocketMessage(Payload::Binary(bytes.into()))
    }
}

impl From<&[u8]> for WebSocketMessage {
    fn from(bytes: &[u8]) -> Self {
        WebSocketMessage(Payload::Binary(Bytes::copy_from_slice(bytes)))
    }
}

impl From<Bytes> for WebSocketMessage {
    fn from(bytes: Bytes) -> Self {
        WebSocketMessage(Payload::Binary(bytes))
    }
}

impl fmt::Debug for WebSocketMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Payload::Text(text) => f.debug_tuple("Text").field(&text.as_str()).finish(),
            Payload::Binary(bytes) => f.debug_tuple("Binary").field(bytes).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_goes_to_tungstenite_and_back_unchanged() {
        for message in [WebSocketMessage::from("olá"), WebSocketMessage::from(vec![0, 159, 146, 150])] {
            assert_eq!(WebSocketMessage::from_frame(message.clone().into_frame()), Some(message));
        }
        assert_eq!(WebSocketMessage::from_frame(Message::Ping(Bytes::new())), None, "control frames are not messages");
    }

    #[test]
    fn invalid_utf8_in_a_binary_message_reads_as_replacement_characters() {
        assert_eq!(WebSocketMessage::from(vec![0x61, 0xff]).get_string(), "a\u{fffd}");
    }
}
