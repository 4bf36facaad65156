//! [`ResponseBody`]: the body type the server hands to hyper, either fixed bytes or an event stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::http::streams::{EventStreamBody, StreamAborted};

/// The body of a response on the wire.
#[derive(Debug)]
pub struct ResponseBody(Kind);

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Stream(EventStreamBody),
}

impl ResponseBody {
    pub(crate) fn empty() -> Self {
        ResponseBody(Kind::Full(None))
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        ResponseBody(Kind::Full((!bytes.is_empty()).then_some(bytes)))
    }

    pub(crate) fn stream(body: EventStreamBody) -> Self {
        ResponseBody(Kind::Stream(body))
    }

    pub(crate) fn as_full(&self) -> Option<&[u8]> {
        match &self.0 {
            Kind::Full(bytes) => Some(bytes.as_deref().unwrap_or_default()),
            Kind::Stream(_) => None,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = StreamAborted;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        match &mut self.get_mut().0 {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(stream) => stream.poll_next_chunk(cx).map(|chunk| chunk.map(|b| b.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.0, Kind::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_) => SizeHint::default(),
        }
    }
}
