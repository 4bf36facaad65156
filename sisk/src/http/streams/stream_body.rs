//! [`EventStreamBody`]: the response body of an event stream, fed by the connection's queue. Its drop is
//! how the server learns that a client went away, and it ends its stream cleanly when the server shuts
//! down, whether or not the stream has an identifier or a handler waiting on it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::http::streams::HttpRequestEventSource;

/// The body hyper writes for an event stream.
#[derive(Debug)]
pub struct EventStreamBody {
    source: HttpRequestEventSource,
    /// Resolves when the server begins shutting down; `None` once it has.
    stopping: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl EventStreamBody {
    pub(crate) fn new(source: HttpRequestEventSource) -> Self {
        let stopping = Some(Box::pin(source.server().stopping().clone().cancelled_owned()));
        EventStreamBody { source, stopping }
    }

    pub(crate) fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.stopping.as_mut().is_some_and(|stopping| stopping.as_mut().poll(cx).is_ready()) {
            self.stopping = None;
            // What is queued still goes out, then the stream ends; sends from now on return false.
            self.source.close();
        }
        match self.source.channel() {
            Some(channel) => channel.poll_pop(cx),
            None => Poll::Ready(None),
        }
    }
}

impl Drop for EventStreamBody {
    fn drop(&mut self) {
        self.source.body_dropped();
    }
}
