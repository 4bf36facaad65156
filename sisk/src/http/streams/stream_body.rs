//! [`EventStreamBody`]: the response body of an event stream, fed by the connection's queue. Its drop is
//! how the server learns that a client went away, and it ends its stream cleanly when the server shuts
//! down, whether or not the stream has an identifier or a handler waiting on it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::engine::when_woken::WhenWoken;
use crate::http::streams::LocalEventSource;

/// The body hyper writes for an event stream.
#[derive(Debug)]
pub(crate) struct EventStreamBody {
    source: LocalEventSource,
    /// Resolves when the server begins shutting down; `None` once it has. Polled only when it fires, not
    /// at every event: the signal is shared by every stream (see `when_woken`).
    stopping: Option<WhenWoken<Pin<Box<WaitForCancellationFutureOwned>>>>,
}

impl EventStreamBody {
    pub(crate) fn new(source: LocalEventSource) -> Self {
        let stopping = Some(WhenWoken::new(Box::pin(source.server().stopping().clone().cancelled_owned())));
        EventStreamBody { source, stopping }
    }

    pub(crate) fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamAborted>>> {
        if self.stopping.as_mut().is_some_and(|stopping| Pin::new(stopping).poll(cx).is_ready()) {
            self.stopping = None;
            // What is queued still goes out, then the stream ends; sends from now on return false.
            self.source.close();
        }
        self.source.channel().poll_pop(cx)
    }
}

/// How a streamed body ends when what feeds it failed after the head was sent: an event stream's handler
/// that returned a server error or panicked, a response stream closed short of its declared length, a
/// reader or file that failed. The body ends with this error, so the connection is cut (HTTP/1.1, no
/// final chunk) or the stream reset (HTTP/2), and the client sees a failure rather than a clean end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAborted;

impl std::fmt::Display for StreamAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the response body failed after its head was sent")
    }
}

impl std::error::Error for StreamAborted {}

impl Drop for EventStreamBody {
    fn drop(&mut self) {
        self.source.body_dropped();
    }
}
