//! The benchmark contract ([`sisk_bench::contract`]) served by tokio alone — no HTTP framework: requests
//! parsed with `httparse`, responses and chunked event frames written straight to the socket. It is the
//! floor the frameworks are measured against: what a server that does only the necessary work costs in CPU
//! and memory. (HTTP/1.1 only, no timeouts or limits beyond what the contract needs.)
//!
//! `server-tokio [address]` (default `127.0.0.1:0`); prints `listening on <address>`.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use sisk_bench::contract::{announce, broadcast_prefix, next_connection, server_address, HELLO};
use sisk_bench::registry::StreamRegistry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Registry = Arc<StreamRegistry<Bytes>>;

/// The largest request head accepted.
const MAX_HEAD: usize = 8192;

/// A parsed request head: method, target, body length, head length.
struct Head {
    method: String,
    target: String,
    content_length: usize,
    length: usize,
}

fn parse(buffer: &[u8]) -> io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let invalid = |e: httparse::Error| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let httparse::Status::Complete(length) = request.parse(buffer).map_err(invalid)? else {
        return Ok(None);
    };
    let content_length = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .unwrap_or(0);
    Ok(Some(Head {
        method: request.method.unwrap_or("").to_owned(),
        target: request.path.unwrap_or("").to_owned(),
        content_length,
        length,
    }))
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One event as a chunk of the chunked body: size line, `data: <body>`, blank line, chunk end.
fn event_chunk(body: &[u8]) -> Bytes {
    let event_length = "data: ".len() + body.len() + 2;
    let mut chunk = format!("{event_length:x}\r\ndata: ").into_bytes();
    chunk.extend_from_slice(body);
    chunk.extend_from_slice(b"\n\n\r\n");
    Bytes::from(chunk)
}

/// Sends queued events until the client leaves or a newer stream replaces this one.
async fn stream_events(mut socket: TcpStream, registry: Registry, id: &str) -> io::Result<()> {
    let mut events = registry.open(id);
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
        .await?;
    let mut discard = [0u8; 64];
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(chunk) => socket.write_all(&chunk).await?,
                None => return socket.write_all(b"0\r\n\r\n").await,
            },
            read = socket.read(&mut discard) => if read? == 0 {
                return Ok(());
            },
        }
    }
}

async fn serve(mut socket: TcpStream, registry: Registry) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let head = loop {
            if let Some(head) = parse(&buffer)? {
                break head;
            }
            if buffer.len() > MAX_HEAD {
                return socket.write_all(&response("431 Request Header Fields Too Large", "")).await;
            }
            buffer.reserve(1024);
            if socket.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        };
        while buffer.len() < head.length + head.content_length {
            if socket.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
        let body = buffer[head.length..head.length + head.content_length].to_vec();
        buffer.drain(..head.length + head.content_length);
        let (path, query) = head.target.split_once('?').map_or((head.target.as_str(), None), |(p, q)| (p, Some(q)));
        let answer = match (head.method.as_str(), path) {
            ("GET", "/hello") => response("200 OK", HELLO),
            ("GET", "/stats") => response("200 OK", &registry.len().to_string()),
            ("POST", "/broadcast") => {
                let reached = registry.broadcast(&broadcast_prefix(query), &event_chunk(&body));
                response("200 OK", &reached.to_string())
            }
            ("GET", _) if path.starts_with("/sse/") => {
                drop(buffer);
                return stream_events(socket, registry, &path["/sse/".len()..]).await;
            }
            _ => response("404 Not Found", ""),
        };
        socket.write_all(&answer).await?;
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let listener = TcpListener::bind(server_address()).await?;
    announce(listener.local_addr()?);
    let registry = Registry::default();
    loop {
        let socket = next_connection(&listener).await;
        tokio::spawn(serve(socket, registry.clone()));
    }
}
