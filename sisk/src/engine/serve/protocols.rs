//! The protocols a listener speaks, set up once and shared by all its connections: TLS or not, and
//! hyper's HTTP/1.1 and HTTP/2 connection builders configured from the server's configuration.

use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::TokioTimer;

use crate::engine::transport::StreamExecutor;
use crate::http::HttpServerConfiguration;

/// Whether connections are plain text or TLS.
#[derive(Clone)]
pub(crate) enum Security {
    /// Plain text: the protocol is told from the client's first bytes.
    Plain,
    /// TLS: the protocol is the one agreed by ALPN.
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
}

impl Security {
    /// `https` or `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            Security::Plain => "http",
            #[cfg(feature = "tls")]
            Security::Tls(_) => "https",
        }
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.scheme())
    }
}

/// What every connection of a listener is served with.
pub(crate) struct Protocols {
    pub(super) security: Security,
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<StreamExecutor>,
    /// From a connection's acceptance to its first request head (the TLS handshake included).
    pub(super) header_read_timeout: Duration,
}

impl Protocols {
    pub(crate) fn new(config: &HttpServerConfiguration, security: Security) -> Self {
        let mut http1 = http1::Builder::new();
        // The HTTP/1.1 timer is each connection's own `HeadTimer`, set in `connection`.
        http1
            // hyper refuses a head over `max_header_size` with 431, and one that does not fit its buffer
            // (still incomplete at that size) with 431 too; the buffer must hold at least 8 KiB.
            .max_header_size(config.maximum_header_size)
            .max_buf_size(config.maximum_header_size.max(8192));
        let mut http2 = http2::Builder::new(StreamExecutor);
        http2
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(config.maximum_header_size).unwrap_or(u32::MAX))
            .max_concurrent_streams(config.http2_max_concurrent_streams)
            .keep_alive_interval(config.http2_keep_alive_interval)
            .keep_alive_timeout(config.http2_keep_alive_timeout);
        // RFC 8441: WebSockets over HTTP/2 streams.
        #[cfg(feature = "websockets")]
        http2.enable_connect_protocol();
        Protocols { security, http1, http2, header_read_timeout: config.header_read_timeout }
    }
}
