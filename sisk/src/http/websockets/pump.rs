//! The task that drives one WebSocket after its handshake: it reads frames into the socket's inbox and
//! writes its queue out, at the same time, and ends the connection the way RFC 6455 §7 asks — a close
//! frame for a close, the right code for a protocol error (1002), bad UTF-8 (1007) or a message too
//! large (1009), 1001 when the server shuts down — or at once for a client that does not read.
//!
//! tungstenite does the framing: it unmasks, joins fragments, checks UTF-8 and sizes, answers pings
//! and close frames. It returns protocol errors without answering them; the code is chosen here.

use std::future::poll_fn;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::engine::limits::OpenSlot;
use crate::engine::when_woken::WhenWoken;
use crate::http::websockets::{HttpWebSocket, WebSocketMessage};

/// The connection under a WebSocket: hyper's, handed over after the handshake.
pub(super) type Io = TokioIo<Upgraded>;
type Stream = WebSocketStream<Io>;

/// How long a close handshake may take: the client's answer to our close frame, our answer to its,
/// and the lingering read after a protocol error.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(5);
/// How much a failed connection's client may still send, read and dropped, before it is closed.
const LINGER_BYTES: usize = 1 << 20;

/// How reading ended.
enum ReadEnd {
    /// The client sent a close frame (its own, or its answer to ours).
    ClientClosed,
    /// The client broke the protocol: the close frame that says how.
    Failed(CloseFrame),
    /// The connection ended without a close frame, or failed.
    Gone,
}

/// How writing ended.
#[derive(PartialEq, Eq)]
enum WriteEnd {
    /// The queue drained and our close frame went out.
    CloseSent,
    /// Writing failed, or the connection was cut.
    Broken,
}

enum Ended {
    Read(ReadEnd),
    Written(WriteEnd),
    Cut,
}

/// Drives `stream` for `socket` until the connection ends; received messages go to `inbox`.
/// `place` is the connection's among the server's open ones, given back when the socket is closed.
pub(super) async fn drive(
    stream: Stream,
    socket: HttpWebSocket,
    inbox: mpsc::Sender<WebSocketMessage>,
    _place: Option<OpenSlot>,
) {
    let (mut sink, mut incoming) = stream.split();
    let ended = {
        let reading = read(&mut incoming, &inbox, &socket);
        let writing = write(&mut sink, &socket);
        // The rare signals are polled only when they fire, not at every frame (see `when_woken`).
        let stopping = socket.server().stopping().cancelled();
        let cut = socket.shared().cutoff.cancelled();
        let closing = socket.shared().channel.closed();
        tokio::pin!(stopping, cut, closing);
        let (stopping, cut, closing) = (WhenWoken::new(stopping), WhenWoken::new(cut), WhenWoken::new(closing));
        // Once closing, the rest of the queue and the close frame have this long to go out: a client
        // that stopped reading cannot hold the socket (and a `close().await`) forever.
        let drained_by = tokio::time::sleep(CLOSE_HANDSHAKE);
        tokio::pin!(reading, writing, stopping, cut, closing, drained_by);
        let (mut stop_seen, mut closing_seen) = (false, false);
        let ended = loop {
            tokio::select! {
                biased;
                () = &mut cut => break Ended::Cut,
                end = &mut reading => break Ended::Read(end),
                end = &mut writing => break Ended::Written(end),
                () = &mut stopping, if !stop_seen => {
                    stop_seen = true;
                    socket.close_with(CloseCode::Away, "the server is shutting down");
                }
                () = &mut closing, if !closing_seen => {
                    closing_seen = true;
                    drained_by.as_mut().reset(tokio::time::Instant::now() + CLOSE_HANDSHAKE);
                }
                () = &mut drained_by, if closing_seen => {
                    tracing::debug!(remote = %socket.remote_address(), "WebSocket client did not take its last messages in time; cut");
                    break Ended::Cut;
                }
            }
        };
        if let Ended::Written(WriteEnd::CloseSent) = ended {
            // The client answers our close frame; what it sends meanwhile is dropped.
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE, &mut reading).await;
        }
        ended
    };
    match ended {
        Ended::Read(ReadEnd::ClientClosed) => {
            // tungstenite queued its answer to the client's close frame: this sends it.
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE, sink.close()).await;
        }
        Ended::Read(ReadEnd::Failed(frame)) => {
            tracing::debug!(remote = %socket.remote_address(), code = u16::from(frame.code), reason = %frame.reason, "WebSocket client broke the protocol; closing");
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE, sink.send(Message::Close(Some(frame)))).await;
            if let Ok(mut stream) = incoming.reunite(sink) {
                linger(stream.get_mut()).await;
            }
        }
        Ended::Read(ReadEnd::Gone) | Ended::Written(_) | Ended::Cut => {}
    }
    socket.finished();
    // `_place`, a parameter, is dropped after the connection (a local): the place is given back once
    // the socket is closed.
}

/// Reads data messages into `inbox` until the client closes, fails or leaves. A full inbox stops the
/// reading (TCP then slows the client) until the handler takes a message or the socket closes.
async fn read(
    incoming: &mut SplitStream<Stream>,
    inbox: &mpsc::Sender<WebSocketMessage>,
    socket: &HttpWebSocket,
) -> ReadEnd {
    let channel = &socket.shared().channel;
    loop {
        let frame = match incoming.next().await {
            None => return ReadEnd::Gone,
            Some(Ok(Message::Close(_))) => return ReadEnd::ClientClosed,
            Some(Ok(Message::Pong(_))) => {
                socket.pong_received();
                continue;
            }
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return close_for(&error).map_or(ReadEnd::Gone, ReadEnd::Failed),
        };
        // Pings: tungstenite answers them by itself.
        let Some(message) = WebSocketMessage::from_frame(frame) else {
            continue;
        };
        tokio::select! {
            _ = inbox.send(message) => {}
            // Closing: nobody will read it.
            () = channel.closed() => {}
        }
    }
}

/// The close frame that answers a client's breach of the protocol, or `None` when the connection only
/// ended (there is nobody to tell).
fn close_for(error: &WsError) -> Option<CloseFrame> {
    let (code, reason) = match error {
        WsError::Capacity(_) => (CloseCode::Size, "message too large"),
        WsError::Utf8(_) => (CloseCode::Invalid, "text that is not UTF-8"),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => return None,
        WsError::Protocol(_) => (CloseCode::Protocol, "protocol error"),
        WsError::AttackAttempt => (CloseCode::Policy, "refused"),
        _ => return None,
    };
    Some(CloseFrame { code, reason: reason.into() })
}

/// Writes the queue out, flushing when it is empty; once it is closed and drained, sends the close frame.
async fn write(sink: &mut SplitSink<Stream, Message>, socket: &HttpWebSocket) -> WriteEnd {
    let channel = &socket.shared().channel;
    loop {
        match poll_fn(|cx| channel.poll_pop(cx)).await {
            Some(Ok(frame)) => {
                if sink.feed(frame).await.is_err() {
                    return WriteEnd::Broken;
                }
                // Frames queued together go out in one flush.
                if channel.queued() == 0 && sink.flush().await.is_err() {
                    return WriteEnd::Broken;
                }
            }
            _ if socket.shared().cutoff.is_cancelled() => return WriteEnd::Broken,
            _ => {
                return match sink.send(Message::Close(Some(socket.close_frame()))).await {
                    Ok(()) => WriteEnd::CloseSent,
                    Err(_) => WriteEnd::Broken,
                };
            }
        }
    }
}

/// After a close frame that fails the connection: shuts the write side, then reads and drops what the
/// client still sends, for a while, so that closing with unread bytes does not reset the connection
/// before the client has read the close frame.
async fn linger(io: &mut Io) {
    let _ = io.shutdown().await;
    let drained = async {
        let mut buffer = vec![0; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match io.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => total += read,
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE, drained).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::error::CapacityError;

    #[test]
    fn each_breach_of_the_protocol_is_answered_with_its_code() {
        let code = |error: WsError| close_for(&error).map(|frame| frame.code);
        let too_long = CapacityError::MessageTooLong { size: 2, max_size: 1 };
        assert_eq!(code(WsError::Capacity(too_long)), Some(CloseCode::Size));
        assert_eq!(code(WsError::Utf8("bad".into())), Some(CloseCode::Invalid));
        assert_eq!(code(WsError::Protocol(ProtocolError::UnmaskedFrameFromClient)), Some(CloseCode::Protocol));
        assert_eq!(code(WsError::Protocol(ProtocolError::FragmentedControlFrame)), Some(CloseCode::Protocol));
        assert_eq!(code(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)), None);
        assert_eq!(code(WsError::ConnectionClosed), None);
    }
}
