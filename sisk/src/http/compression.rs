//! Automatic response compression (Sisk's `EnableAutomaticResponseCompression`): the encoding a
//! request's `Accept-Encoding` prefers among brotli, zstd, gzip and deflate, and the response's body
//! rewritten through it (async-compression). A streamed body is flushed after every chunk, so a chunk the
//! handler wrote reaches the client when it is written; an event stream is never compressed.

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, VARY};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::io::AsyncWriteExt;

use crate::http::body::{BoxError, ResponseBody};
use crate::http::HttpResponse;

/// Bodies shorter than this are sent as they are: compressing them only adds bytes.
const MINIMUM_SIZE: usize = 32;

/// An encoding a response may be compressed with, in the order preferred on a tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Brotli,
    Zstd,
    Gzip,
    Deflate,
}

impl Encoding {
    const ALL: [Encoding; 4] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip, Encoding::Deflate];

    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// The encoding `Accept-Encoding` prefers: the highest `q` (a missing one is 1), brotli, zstd, gzip,
/// deflate on a tie; `*` stands for any not named; `q=0` refuses. `None` when none is acceptable.
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
    let mut weights: Vec<(String, f32)> = Vec::new();
    for value in headers.get_all(http::header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            if coding.is_empty() {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            weights.push((coding, q));
        }
    }
    let weight_of = |encoding: Encoding| {
        let named = weights.iter().find(|(coding, _)| coding == encoding.token()).map(|(_, q)| *q);
        named.or_else(|| weights.iter().find(|(coding, _)| coding == "*").map(|(_, q)| *q)).unwrap_or(0.0)
    };
    let mut best: Option<(Encoding, f32)> = None;
    for encoding in Encoding::ALL {
        let q = weight_of(encoding);
        if q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((encoding, q));
        }
    }
    best.map(|(encoding, _)| encoding)
}

/// True when a response may be compressed: not an event stream, not already encoded, not marked
/// `no-transform`, not a byte range, with a body worth it.
fn compressible(method: &Method, response: &HttpResponse) -> bool {
    let is_event_stream = response.body.is_event_stream()
        || response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/event-stream"));
    let no_transform = response
        .headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-transform")));
    let too_small = response.body.as_full().is_some_and(|bytes| bytes.len() < MINIMUM_SIZE);
    // A range's bytes are counted in the identity encoding (`Content-Range`): it is sent as it is.
    let a_range = response.status == StatusCode::PARTIAL_CONTENT || response.headers.contains_key(CONTENT_RANGE);
    let without_body = a_range
        || matches!(response.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
        || response.status.is_informational()
        || method == Method::HEAD;
    !(is_event_stream || no_transform || too_small || without_body || response.headers.contains_key(CONTENT_ENCODING))
}

/// `response`, compressed with the encoding the request's `headers` prefer, when it may be.
pub(crate) fn compress(method: &Method, request_headers: &HeaderMap, mut response: HttpResponse) -> HttpResponse {
    if !compressible(method, &response) {
        return response;
    }
    // Whatever is chosen, the answer depends on `Accept-Encoding`.
    response.headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    let Some(encoding) = negotiate(request_headers) else {
        return response;
    };
    let body = std::mem::replace(&mut response.body, ResponseBody::empty());
    let chunks = match body.into_chunks() {
        Ok(chunks) => chunks,
        Err(body) => {
            response.body = body;
            return response;
        }
    };
    response.headers.remove(CONTENT_LENGTH);
    response.headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
    response.body = ResponseBody::streamed(encoded(chunks, encoding), None);
    response
}

/// One encoder writing into a buffer that each step empties.
enum Encoder {
    Brotli(Box<async_compression::tokio::write::BrotliEncoder<Vec<u8>>>),
    Zstd(Box<async_compression::tokio::write::ZstdEncoder<Vec<u8>>>),
    Gzip(Box<async_compression::tokio::write::GzipEncoder<Vec<u8>>>),
    Deflate(Box<async_compression::tokio::write::DeflateEncoder<Vec<u8>>>),
}

macro_rules! each_encoder {
    ($encoder:expr, $inner:ident => $body:expr) => {
        match $encoder {
            Encoder::Brotli($inner) => $body,
            Encoder::Zstd($inner) => $body,
            Encoder::Gzip($inner) => $body,
            Encoder::Deflate($inner) => $body,
        }
    };
}

impl Encoder {
    fn new(encoding: Encoding) -> Self {
        use async_compression::tokio::write as w;
        match encoding {
            Encoding::Brotli => Encoder::Brotli(Box::new(w::BrotliEncoder::new(Vec::new()))),
            Encoding::Zstd => Encoder::Zstd(Box::new(w::ZstdEncoder::new(Vec::new()))),
            Encoding::Gzip => Encoder::Gzip(Box::new(w::GzipEncoder::new(Vec::new()))),
            Encoding::Deflate => Encoder::Deflate(Box::new(w::DeflateEncoder::new(Vec::new()))),
        }
    }

    /// Compresses `chunk` and flushes it: what comes out decodes to everything given so far.
    async fn chunk(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        each_encoder!(self, encoder => {
            encoder.write_all(chunk).await?;
            encoder.flush().await?;
            Ok(Bytes::from(std::mem::take(encoder.get_mut())))
        })
    }

    /// Ends the compressed stream: its last bytes.
    async fn finish(&mut self) -> std::io::Result<Bytes> {
        each_encoder!(self, encoder => {
            encoder.shutdown().await?;
            Ok(Bytes::from(std::mem::take(encoder.get_mut())))
        })
    }
}

/// `chunks`, compressed, one output chunk per input chunk (empty ones left out), then the end.
fn encoded(
    chunks: BoxStream<'static, Result<Bytes, BoxError>>,
    encoding: Encoding,
) -> BoxStream<'static, Result<Bytes, BoxError>> {
    let state = Some((Encoder::new(encoding), chunks));
    let stream = futures_util::stream::unfold(state, |state| async move {
        let (mut encoder, mut chunks) = state?;
        match chunks.next().await {
            Some(Ok(chunk)) => match encoder.chunk(&chunk).await {
                Ok(out) => Some((Ok(out), Some((encoder, chunks)))),
                Err(error) => Some((Err(error.into()), None)),
            },
            Some(Err(error)) => Some((Err(error), None)),
            None => Some((encoder.finish().await.map_err(Into::into), None)),
        }
    });
    stream.filter(|chunk| std::future::ready(chunk.as_ref().map_or(true, |bytes| !bytes.is_empty()))).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT_ENCODING, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_preferred_acceptable_encoding_is_chosen() {
        assert_eq!(negotiate(&accepting("gzip, deflate, br")), Some(Encoding::Brotli));
        assert_eq!(negotiate(&accepting("gzip;q=1.0, br;q=0.5")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accepting("zstd, gzip")), Some(Encoding::Zstd));
        assert_eq!(negotiate(&accepting("identity")), None);
        assert_eq!(negotiate(&accepting("gzip;q=0")), None);
        assert_eq!(negotiate(&accepting("*;q=0.1, br;q=0")), Some(Encoding::Zstd));
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }
}
