//! A raw TCP client, for what an HTTP client library refuses to send (malformed framing, heads too
//! large, clients that stall), every wait bounded by [`LIMIT`].

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::LIMIT;

/// Sends `request` on a new connection and reads until the server closes it (bounded by [`LIMIT`]).
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("sends");
    read_to_close(&mut stream).await
}

/// Reads until the server closes the connection, or [`LIMIT`] passes.
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `needle` appears (bounded by [`LIMIT`]); returns everything read.
pub async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !String::from_utf8_lossy(&out).contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got {:?}", String::from_utf8_lossy(&out)))
            .expect("reads");
        assert!(n > 0, "connection closed before {needle:?}; got {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server closed `stream` (end of stream or reset) within `within`; bytes it sends first are
/// read and dropped.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}
