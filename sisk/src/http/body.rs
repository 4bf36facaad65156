//! [`ResponseBody`]: the body type the server hands to hyper — fixed bytes, an event stream, or a
//! streamed body (a `Stream` of bytes, an `AsyncRead`, a file) that hyper pulls one chunk at a time, so a
//! large body never sits whole in memory and a client that leaves drops its producer.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use http_body::{Body, Frame, SizeHint};

use crate::http::handlers::RequestClose;
use crate::http::streams::{EventStreamBody, StreamAborted};

pub(crate) use crate::engine::request_body::BoxError;

/// The body of a response on the wire.
#[derive(Debug)]
pub struct ResponseBody(Kind);

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Stream(EventStreamBody),
    Streamed(Streamed),
    /// A body whose end (or drop) closes an observed request (only with server handlers).
    Closing(Box<Closing>),
}

/// A body counted on its way out; when it is dropped, its request's close hooks run.
#[derive(Debug)]
struct Closing {
    body: ResponseBody,
    sent: u64,
    ended: bool,
    close: Option<RequestClose>,
}

impl Drop for Closing {
    fn drop(&mut self) {
        // A body hyper saw was at its end (an empty one, or fixed bytes once taken) is not polled again.
        let ended = self.ended || self.body.is_end_stream();
        if let Some(close) = self.close.take() {
            close.close(self.sent, ended);
        }
    }
}

/// A body pulled from a stream of chunks, with the length it declared, if any.
struct Streamed {
    /// In a mutex only so that a response stays `Sync` whatever the stream: it is reached through
    /// `get_mut`, which never locks.
    chunks: Mutex<BoxStream<'static, Result<Bytes, BoxError>>>,
    /// Bytes still owed when the length is known: the body ends with an error if the stream yields more
    /// or fewer, since the client was promised exactly that many.
    remaining: Option<u64>,
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub(crate) fn empty() -> Self {
        ResponseBody(Kind::Full(None))
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        ResponseBody(Kind::Full((!bytes.is_empty()).then_some(bytes)))
    }

    pub(crate) fn event_stream(body: EventStreamBody) -> Self {
        ResponseBody(Kind::Stream(body))
    }

    /// A body pulled from `chunks`; with `length`, exactly that many bytes (sent as `Content-Length`).
    pub(crate) fn streamed<S, E>(chunks: S, length: Option<u64>) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let chunks = Mutex::new(chunks.map(|chunk| chunk.map_err(Into::into)).boxed());
        ResponseBody(Kind::Streamed(Streamed { chunks, remaining: length }))
    }

    /// This body, closing `close` when it ends or is dropped (the close hooks then run).
    pub(crate) fn closing_with(self, close: RequestClose) -> Self {
        ResponseBody(Kind::Closing(Box::new(Closing { body: self, sent: 0, ended: false, close: Some(close) })))
    }

    /// True for an event stream's body.
    pub(crate) fn is_event_stream(&self) -> bool {
        match &self.0 {
            Kind::Stream(_) => true,
            Kind::Closing(closing) => closing.body.is_event_stream(),
            Kind::Full(_) | Kind::Streamed(_) => false,
        }
    }

    /// The body as a stream of chunks, for a layer that rewrites them (compression); an event stream's
    /// body is given back untouched.
    #[cfg(feature = "compression")]
    pub(crate) fn into_chunks(self) -> Result<BoxStream<'static, Result<Bytes, BoxError>>, ResponseBody> {
        match self.0 {
            Kind::Full(bytes) => Ok(futures_util::stream::iter(bytes.map(Ok)).boxed()),
            Kind::Streamed(streamed) => {
                Ok(streamed.chunks.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
            }
            // Compression comes before a body is made to close its request.
            Kind::Stream(_) | Kind::Closing(_) => Err(self),
        }
    }

    pub(crate) fn as_full(&self) -> Option<&[u8]> {
        match &self.0 {
            Kind::Full(bytes) => Some(bytes.as_deref().unwrap_or_default()),
            Kind::Closing(closing) => closing.body.as_full(),
            Kind::Stream(_) | Kind::Streamed(_) => None,
        }
    }
}

impl Streamed {
    fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamAborted>>> {
        if self.remaining == Some(0) {
            return Poll::Ready(None);
        }
        let chunks = self.chunks.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let chunk = match std::task::ready!(chunks.poll_next_unpin(cx)) {
            Some(Ok(chunk)) => chunk,
            Some(Err(err)) => {
                tracing::warn!(error = %err, "a streamed response body failed; the response is cut short");
                return Poll::Ready(Some(Err(StreamAborted)));
            }
            None if self.remaining.is_some() => {
                tracing::warn!(missing = ?self.remaining, "a streamed response body ended before its declared length; the response is cut short");
                return Poll::Ready(Some(Err(StreamAborted)));
            }
            None => return Poll::Ready(None),
        };
        if let Some(remaining) = &mut self.remaining {
            let Some(left) = remaining.checked_sub(chunk.len() as u64) else {
                tracing::warn!(
                    declared = *remaining,
                    chunk = chunk.len(),
                    "a streamed response body yielded more than its declared length; the response is cut short"
                );
                return Poll::Ready(Some(Err(StreamAborted)));
            };
            *remaining = left;
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = StreamAborted;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        let chunk = match &mut self.get_mut().0 {
            Kind::Full(bytes) => return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(stream) => stream.poll_next_chunk(cx),
            Kind::Streamed(streamed) => streamed.poll_next_chunk(cx),
            Kind::Closing(closing) => {
                let frame = std::task::ready!(Pin::new(&mut closing.body).poll_frame(cx));
                match &frame {
                    Some(Ok(frame)) => closing.sent += frame.data_ref().map_or(0, |data| data.len() as u64),
                    Some(Err(_)) => {}
                    None => closing.ended = true,
                }
                return Poll::Ready(frame);
            }
        };
        chunk.map(|chunk| chunk.map(|b| b.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(None) | Kind::Streamed(Streamed { remaining: Some(0), .. }) => true,
            Kind::Closing(closing) => closing.body.is_end_stream(),
            Kind::Full(Some(_)) | Kind::Stream(_) | Kind::Streamed(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Streamed(Streamed { remaining: Some(length), .. }) => SizeHint::with_exact(*length),
            Kind::Closing(closing) => closing.body.size_hint(),
            Kind::Stream(_) | Kind::Streamed(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use http_body_util::BodyExt;

    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))).collect::<Vec<_>>())
    }

    #[test]
    fn a_response_is_send_and_sync_whatever_its_body() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<ResponseBody>();
        send_and_sync::<crate::http::HttpResponse>();
    }

    #[tokio::test]
    async fn a_streamed_body_yields_its_chunks_and_declares_its_length() {
        let body = ResponseBody::streamed(chunks(&["ab", "cd"]), Some(4));
        assert_eq!(body.size_hint().exact(), Some(4));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcd");
        let body = ResponseBody::streamed(chunks(&["ab", "cd"]), None);
        assert_eq!(body.size_hint().exact(), None);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcd");
    }

    #[tokio::test]
    async fn a_length_the_stream_does_not_keep_is_an_error() {
        assert!(ResponseBody::streamed(chunks(&["ab"]), Some(4)).collect().await.is_err(), "short");
        assert!(ResponseBody::streamed(chunks(&["ab", "cde"]), Some(4)).collect().await.is_err(), "long");
    }

    #[tokio::test]
    async fn a_failing_stream_aborts_the_body() {
        let failing = stream::iter([Ok(Bytes::from_static(b"a")), Err(std::io::Error::other("disk"))]);
        assert!(ResponseBody::streamed(failing, None).collect().await.is_err());
    }
}
