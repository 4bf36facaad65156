//! [`BodyReader`]: a request body read chunk by chunk within the configured size and time limits, so the
//! whole-body getters (`body_bytes`, JSON, forms) and the streamed ones (multipart) enforce the same ones.

use crate::engine::request_body::RequestBody;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::time::{Duration, Instant};

use crate::http::HttpServerConfiguration;
use crate::Error;

/// A request body being read: each chunk must come within
/// [`body_idle_timeout`](HttpServerConfiguration::body_idle_timeout), the whole within
/// [`body_read_timeout`](HttpServerConfiguration::body_read_timeout), and no more than
/// [`maximum_content_length`](HttpServerConfiguration::maximum_content_length) bytes in all.
#[derive(Debug)]
pub(crate) struct BodyReader {
    incoming: RequestBody,
    limit: u64,
    read: u64,
    whole_deadline: Instant,
    idle: Duration,
    whole: Duration,
    /// Set once the end or an error was reached: nothing more is read.
    done: bool,
}

impl BodyReader {
    pub(crate) fn new(incoming: RequestBody, config: &HttpServerConfiguration) -> Self {
        BodyReader {
            incoming,
            limit: config.maximum_content_length,
            read: 0,
            whole_deadline: Instant::now() + config.body_read_timeout,
            idle: config.body_idle_timeout,
            whole: config.body_read_timeout,
            done: false,
        }
    }

    /// The next chunk of data, `None` at the end. An error ends the body: later calls return `None`.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        while !self.done {
            let deadline = self.whole_deadline.min(Instant::now() + self.idle);
            let frame = match tokio::time::timeout_at(deadline, self.incoming.frame()).await {
                Err(_) => Err(Error::body_timeout(self.idle, self.whole)),
                Ok(None) => Ok(None),
                Ok(Some(frame)) => frame.map(Some).map_err(Error::body_read),
            };
            let data = match frame {
                Ok(Some(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_trailers) => continue,
                },
                Ok(None) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(err) => {
                    self.done = true;
                    return Err(err);
                }
            };
            self.read += data.len() as u64;
            if self.limit > 0 && self.read > self.limit {
                self.done = true;
                return Err(Error::content_too_large(self.limit));
            }
            return Ok(Some(data));
        }
        Ok(None)
    }

    /// Reads the rest of the body into one buffer.
    pub(crate) async fn collect(mut self) -> Result<Bytes, Error> {
        let mut collected = BytesMut::new();
        while let Some(data) = self.next_chunk().await? {
            collected.extend_from_slice(&data);
        }
        Ok(collected.freeze())
    }

    /// The body as a stream of chunks (what `multer` and `get_request_stream` read).
    pub(crate) fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Error>> + Send {
        futures_util::stream::unfold(self, |mut reader| async move {
            reader.next_chunk().await.transpose().map(|chunk| (chunk, reader))
        })
    }
}
