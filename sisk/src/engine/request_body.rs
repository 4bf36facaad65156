//! [`RequestBody`]: the body of a request as the pipeline reads it — hyper's own when sisk serves the
//! connection, or any `http_body::Body` when sisk runs as a tower service inside another server.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// The error a request body's read may end with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body: hyper's, unboxed on the path of every request sisk serves itself, or a foreign one.
#[derive(Debug)]
pub(crate) enum RequestBody {
    Incoming(Incoming),
    Foreign(UnsyncBoxBody<Bytes, BoxError>),
}

impl RequestBody {
    /// Wraps any body, its chunks turned into `Bytes` (without a copy when they are `Bytes` already).
    pub(crate) fn foreign<B>(body: B) -> Self
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let body = body.map_frame(|frame| frame.map_data(|mut data| data.copy_to_bytes(data.remaining())));
        RequestBody::Foreign(body.map_err(Into::into).boxed_unsync())
    }
}

impl From<Incoming> for RequestBody {
    fn from(incoming: Incoming) -> Self {
        RequestBody::Incoming(incoming)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RequestBody::Incoming(incoming) => Pin::new(incoming).poll_frame(cx).map_err(Into::into),
            RequestBody::Foreign(foreign) => Pin::new(foreign).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Incoming(incoming) => incoming.is_end_stream(),
            RequestBody::Foreign(foreign) => foreign.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Incoming(incoming) => incoming.size_hint(),
            RequestBody::Foreign(foreign) => foreign.size_hint(),
        }
    }
}
