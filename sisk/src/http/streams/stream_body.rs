//! [`EventStreamBody`]: the response body of an event stream, fed by the connection's queue; its drop
//! is how the server learns that a client went away.

use std::task::{Context, Poll};

use bytes::Bytes;

use crate::http::streams::HttpRequestEventSource;

/// The body hyper writes for an event stream.
#[derive(Debug)]
pub struct EventStreamBody {
    source: HttpRequestEventSource,
}

impl EventStreamBody {
    pub(crate) fn new(source: HttpRequestEventSource) -> Self {
        EventStreamBody { source }
    }

    pub(crate) fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.source.channel().poll_pop(cx)
    }
}

impl Drop for EventStreamBody {
    fn drop(&mut self) {
        self.source.body_dropped();
    }
}
