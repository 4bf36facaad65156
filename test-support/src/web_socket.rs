//! [`WebSocketClient`]: tokio-tungstenite's client, wrapped so that a book example reads one line per
//! step: connect, send text, receive the next text, see the close code. Every wait is bounded by
//! [`LIMIT`].

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::support::LIMIT;

/// A WebSocket client on a connection of its own.
#[derive(Debug)]
pub struct WebSocketClient {
    stream: WebSocketStream<TcpStream>,
    /// The payloads of the pings received so far (answered by tungstenite).
    pub pings: Vec<Vec<u8>>,
}

impl WebSocketClient {
    /// Connects to `url` (`http://` or `ws://`, on 127.0.0.1) and completes the handshake; panics when
    /// the server refuses it.
    pub async fn connect(url: &str) -> WebSocketClient {
        let url = url.replacen("http://", "ws://", 1);
        let authority = url.trim_start_matches("ws://").split('/').next().expect("a host").to_owned();
        let tcp = TcpStream::connect(authority).await.expect("connects");
        let handshake = tokio_tungstenite::client_async(url, tcp);
        let (stream, _) = tokio::time::timeout(LIMIT, handshake)
            .await
            .expect("the handshake ends in time")
            .expect("the server accepts the WebSocket");
        WebSocketClient { stream, pings: Vec::new() }
    }

    /// Sends a text message.
    pub async fn send(&mut self, text: &str) {
        tokio::time::timeout(LIMIT, self.stream.send(Message::text(text))).await.expect("sent in time").expect("sent");
    }

    /// The next message as text (a binary one decoded lossily), pings noted and skipped; `None` once the
    /// server closed.
    pub async fn receive(&mut self) -> Option<String> {
        loop {
            match tokio::time::timeout(LIMIT, self.stream.next()).await.expect("the server answers in time") {
                Some(Ok(Message::Text(text))) => return Some(text.to_string()),
                Some(Ok(Message::Binary(bytes))) => return Some(String::from_utf8_lossy(&bytes).into_owned()),
                Some(Ok(Message::Ping(payload))) => self.pings.push(payload.to_vec()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads until the server's close frame and returns its code (`None` for a close without one, or a
    /// connection that just ended).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(LIMIT, self.stream.next()).await.expect("the server closes in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(Message::Ping(payload))) => self.pings.push(payload.to_vec()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Closes from the client's side (code 1000) and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(LIMIT, self.stream.close(None)).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(LIMIT, self.stream.next()).await {}
    }
}
