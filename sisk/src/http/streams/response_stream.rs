//! [`HttpResponseStream`]: a response a handler writes as it goes (Sisk's `HttpRequest.GetResponseStream`).
//! Set the status and headers, choose a known length or chunked, then write; the writes wait in the same
//! bounded queue an event stream uses, which the response body drains as the client reads.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::http::body::{BoxError, ResponseBody};
use crate::http::request::RequestHead;
use crate::http::response::header_pair;
use crate::http::streams::channel::{Channel, Closing, Ended, PendingHead, Pushed, QueueLimits, RequestOutcome};
use crate::http::HttpResponse;
use crate::Error;

/// A response written piece by piece, from [`HttpRequest::get_response_stream`](crate::http::HttpRequest::get_response_stream).
///
/// Before the first [`write`](Self::write), set the status, the headers and, when it is known, the
/// length ([`set_content_length`](Self::set_content_length)); without a length the body is sent chunked.
/// The first write sends the head; changing it afterwards is an error. Each write waits while the
/// client is behind by more than
/// [`response_stream_queue_bytes`](crate::http::HttpServerConfiguration::response_stream_queue_bytes),
/// so the body never sits whole in memory; once the client is gone a write returns an error
/// ([`ErrorKind::ResponseStreamClosed`](crate::ErrorKind::ResponseStreamClosed)), which tells the producer to stop.
///
/// The stream ends when the handler returns (or calls [`close`](Self::close)). A body shorter than its
/// declared length, or a handler that fails after the first write, cuts the response, so the client
/// never mistakes it for a whole one.
///
/// ```
/// use sisk::prelude::*;
///
/// let mut r = Router::new();
/// r += Route::get("/api/report", |req: HttpRequest| async move {
///     let stream = req.get_response_stream()?;
///     stream.set_status(StatusCode::OK)?;
///     stream.set_header("Content-Type", "text/csv")?;
///     stream.write("id,total\n").await?;
///     for id in 1..=3 {
///         stream.write(format!("{id},{}\n", id * 10)).await?;
///     }
///     stream.close()
/// });
/// ```
#[derive(Clone)]
pub struct HttpResponseStream {
    shared: Arc<Shared>,
}

struct Shared {
    request: Arc<RequestHead>,
    /// The queue the body drains, with the pending head's headers.
    channel: Arc<Channel>,
    setup: Mutex<Setup>,
}

/// What is decided before the head goes out, and what was written since.
#[derive(Debug)]
struct Setup {
    status: StatusCode,
    content_length: Option<u64>,
    written: u64,
}

impl HttpResponseStream {
    pub(crate) fn open(request: Arc<RequestHead>) -> Self {
        let configuration = request.server.configuration();
        let limits = QueueLimits {
            messages: configuration.response_stream_queue_capacity,
            bytes: configuration.response_stream_queue_bytes,
        };
        let headers = request.response_headers.clone();
        let channel = Arc::new(Channel::new(PendingHead { headers }, limits));
        let setup = Mutex::new(Setup { status: StatusCode::OK, content_length: None, written: 0 });
        HttpResponseStream { shared: Arc::new(Shared { request, channel, setup }) }
    }

    fn setup(&self) -> MutexGuard<'_, Setup> {
        // Every critical section leaves the setup consistent, so a poisoned lock is still usable.
        crate::sync::lock(&self.shared.setup)
    }

    /// Runs `f` on the headers while the head is still pending; an error naming `what` afterwards.
    fn before_head<T>(&self, what: impl FnOnce() -> String, f: impl FnOnce(&mut HeaderMap) -> T) -> Result<T, Error> {
        self.shared.channel.with_pending_headers(f).ok_or_else(|| Error::response_stream_started(&what()))
    }

    /// Sets the status (200 unless changed).
    pub fn set_status(&self, status: StatusCode) -> Result<(), Error> {
        let mut setup = self.setup();
        self.before_head(|| "set the status".into(), |_| setup.status = status)
    }

    /// Sets a header, replacing others of that name.
    pub fn set_header<K, V>(&self, name: K, value: V) -> Result<(), Error>
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let (name, value) = header_pair(name, value)?;
        let shown = name.clone(); // a reference count at most: the message is made only on error
        self.before_head(
            move || format!("set header `{shown}`"),
            |headers| {
                headers.insert(name, value);
            },
        )
    }

    /// Adds a header, keeping others of that name.
    pub fn append_header<K, V>(&self, name: K, value: V) -> Result<(), Error>
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let (name, value) = header_pair(name, value)?;
        let shown = name.clone();
        self.before_head(
            move || format!("append header `{shown}`"),
            |headers| {
                headers.append(name, value);
            },
        )
    }

    /// Declares the body's length, sent as `Content-Length`. Writing more is an error; closing with less
    /// cuts the response. Without it the body is sent chunked (over HTTP/1.1).
    pub fn set_content_length(&self, length: u64) -> Result<(), Error> {
        let mut setup = self.setup();
        self.before_head(|| "set the content length".into(), |_| setup.content_length = Some(length))
    }

    /// The bytes written so far.
    pub fn written(&self) -> u64 {
        self.setup().written
    }

    /// Writes a piece of the body, sending the head first if it was not sent yet. Waits while the client
    /// is too far behind. An error when the write would pass the declared length (nothing is written)
    /// or when the stream is closed (the client went away: stop writing).
    pub async fn write(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        let data = data.into();
        {
            let mut setup = self.setup();
            if let Some(declared) = setup.content_length {
                if setup.written.saturating_add(data.len() as u64) > declared {
                    return Err(Error::content_length_exceeded(declared, setup.written, data.len()));
                }
            }
            setup.written += data.len() as u64;
        }
        self.commit_head();
        let channel = &self.shared.channel;
        if data.is_empty() {
            return if channel.is_closed() { Err(Error::response_stream_closed()) } else { Ok(()) };
        }
        loop {
            match channel.push(data.clone(), None) {
                Pushed::Queued => return Ok(()),
                Pushed::Closed => return Err(Error::response_stream_closed()),
                Pushed::Full => channel.room(data.len()).await,
            }
        }
    }

    /// True while the client can still receive what is written.
    pub fn is_active(&self) -> bool {
        !self.shared.channel.is_closed()
    }

    /// Ends the body: what was written still goes out, then the response ends. Returns the response for
    /// the handler to return, or an error when fewer bytes than the declared length were written: if
    /// nothing was sent yet, the error's `500` answers the request instead; otherwise the response is
    /// cut, so the client sees it fail.
    pub fn close(&self) -> Result<HttpResponse, Error> {
        let (declared, written) = {
            let setup = self.setup();
            (setup.content_length, setup.written)
        };
        let channel = &self.shared.channel;
        if let Some(declared) = declared.filter(|&declared| written < declared) {
            if channel.take_head().is_some() {
                channel.close(Closing::Discard);
            } else {
                channel.fail();
            }
            return Err(Error::content_length_unmet(declared, written));
        }
        self.commit_head();
        channel.close(Closing::Flush);
        Ok(HttpResponse::from_status(self.setup().status))
    }

    /// The request is over, as `outcome` says; the channel's rule ends the stream
    /// ([`Channel::end_of_request`]). A body shorter than its declared length breaks, as a failure does.
    pub(crate) fn end_of_request(&self, outcome: RequestOutcome) {
        let short = {
            let setup = self.setup();
            setup.content_length.filter(|&declared| setup.written < declared).map(|declared| (declared, setup.written))
        };
        let outcome = if short.is_some() { RequestOutcome::Failed } else { outcome };
        let remote = self.shared.request.remote_address;
        match (self.shared.channel.end_of_request(outcome, None), short) {
            (Ended::Broken, Some((declared, written))) => {
                let error = Error::content_length_unmet(declared, written);
                tracing::error!(%remote, %error, "response stream ended short; the response is cut");
            }
            (Ended::Broken, None) => {
                tracing::error!(%remote, "the handler failed after its response stream began; the response is cut");
            }
            (Ended::HeadDropped | Ended::Closed | Ended::AlreadyClosed, _) => {}
        }
    }

    /// Sends the response head, once.
    fn commit_head(&self) {
        let Some(head) = self.shared.channel.take_head() else {
            return;
        };
        let (status, length) = {
            let setup = self.setup();
            (setup.status, setup.content_length)
        };
        let body = ResponseBody::streamed(ResponseStreamBody(self.shared.channel.clone()), length);
        // If the request is already over, the slot refuses the head, and its body's drop closes the channel.
        self.shared.request.head_slot.commit(HttpResponse::with_body(status, head.headers, body));
    }
}

impl fmt::Debug for HttpResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponseStream")
            .field("setup", &*self.setup())
            .field("active", &self.is_active())
            .field("remote_address", &self.shared.request.remote_address)
            .finish()
    }
}

/// The body side: drains the queue. Dropped by hyper when the response ends or the client leaves, which
/// closes the queue so the next write fails.
struct ResponseStreamBody(Arc<Channel>);

impl Stream for ResponseStreamBody {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_pop(cx).map(|chunk| chunk.map(|chunk| chunk.map_err(BoxError::from)))
    }
}

impl Drop for ResponseStreamBody {
    fn drop(&mut self) {
        self.0.close(Closing::Discard);
    }
}
