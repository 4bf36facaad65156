//! TLS for `https://` listening ports: the rustls configuration (the `ring` provider; ALPN offers `h2`
//! before `http/1.1`, so browsers get HTTP/2 and many event streams share one connection), and the
//! handshake of each connection.
//!
//! The handshake runs within the head deadline (see `connection`): a client that opens a connection and
//! never says hello is dropped when it passes. A client that speaks plain HTTP to the port is answered
//! `400` in plain text, as nginx does, rather than with TLS bytes it cannot read.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::http::SslCertificate;
use crate::Error;

/// The protocols offered by ALPN, the preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// What ALPN calls HTTP/2.
pub(super) const ALPN_HTTP2: &[u8] = b"h2";

/// The first byte of a TLS record that carries a handshake message, as a client's hello does.
const HANDSHAKE_RECORD: u8 = 0x16;

/// The body of the answer to plain HTTP on a TLS port.
const PLAIN_TEXT_REFUSAL: &str = "This port speaks HTTPS: use an https:// URL.\n";

/// Makes the acceptor of a TLS listening port presenting `certificate`.
pub(crate) fn acceptor(certificate: SslCertificate) -> Result<TlsAcceptor, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_certificate(format!("no TLS version is available ({e})")).caused_by(e))?
        .with_no_client_auth()
        .with_single_cert(certificate.chain, certificate.key)
        .map_err(|e| Error::invalid_certificate(format!("the key does not fit the certificate ({e})")).caused_by(e))?;
    config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Runs the TLS handshake of a new connection; `None` when it fails (logged) or the client spoke plain
/// text (answered `400`). Unbounded in time: the caller bounds it.
pub(super) async fn handshake(
    acceptor: &TlsAcceptor,
    mut stream: TcpStream,
    remote: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await.ok()? == 0 {
        return None;
    }
    if first[0] != HANDSHAKE_RECORD {
        tracing::debug!(%remote, "plain-text request on a TLS port: answered 400");
        refuse_plain_text(&mut stream).await;
        return None;
    }
    match acceptor.accept(stream).await {
        Ok(tls) => Some(tls),
        Err(err) => {
            tracing::debug!(%remote, error = %err, "TLS handshake failed");
            None
        }
    }
}

/// Answers the plain-text request waiting in `stream` with `400` and closes the connection. What the
/// client sent is read first: closing a socket with unread data resets it, and the reset could reach
/// the client before the answer.
async fn refuse_plain_text(stream: &mut TcpStream) {
    let mut request = [0u8; 4096];
    let _ = stream.read(&mut request).await;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{PLAIN_TEXT_REFUSAL}",
        PLAIN_TEXT_REFUSAL.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}
