//! The benchmark contract ([`sisk_bench::contract`]) served by bare hyper: an HTTP/1.1 connection per
//! accepted socket, a hand-matched path, and streams fed from the shared [`StreamRegistry`] with each
//! broadcast encoded once and its bytes shared.
//!
//! `server-hyper [address]` (default `127.0.0.1:0`); prints `listening on <address>`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sisk_bench::contract::{announce, broadcast_prefix, next_connection, server_address, HELLO};
use sisk_bench::registry::{RegisteredStream, StreamRegistry};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;

type Registry = Arc<StreamRegistry<Bytes>>;
type EventBody =
    StreamBody<tokio_stream::adapters::Map<RegisteredStream<Bytes>, fn(Bytes) -> Result<Frame<Bytes>, Infallible>>>;
type Body = Either<Full<Bytes>, EventBody>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response
}

async fn handle(registry: Registry, request: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let path = request.uri().path();
    let response = match (request.method(), path) {
        (&Method::GET, "/hello") => text(StatusCode::OK, HELLO),
        (&Method::GET, "/stats") => text(StatusCode::OK, registry.len().to_string()),
        (&Method::GET, _) if path.starts_with("/sse/") => {
            let stream = registry.open(&path["/sse/".len()..]);
            let frames: fn(Bytes) -> Result<Frame<Bytes>, Infallible> = |bytes| Ok(Frame::data(bytes));
            let mut response = Response::new(Either::Right(StreamBody::new(stream.map(frames))));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/event-stream"));
            headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
            response
        }
        (&Method::POST, "/broadcast") => {
            let prefix = broadcast_prefix(request.uri().query());
            let body = request.into_body().collect().await?.to_bytes();
            let mut frame = Vec::with_capacity(body.len() + 8);
            frame.extend_from_slice(b"data: ");
            frame.extend_from_slice(&body);
            frame.extend_from_slice(b"\n\n");
            text(StatusCode::OK, registry.broadcast(&prefix, &Bytes::from(frame)).to_string())
        }
        _ => text(StatusCode::NOT_FOUND, ""),
    };
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(server_address()).await?;
    announce(listener.local_addr()?);
    let registry = Registry::default();
    loop {
        let socket = next_connection(&listener).await;
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(registry.clone(), request));
            // A client that leaves mid-stream ends its connection with an error; nothing to report.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(socket), service).await;
        });
    }
}
