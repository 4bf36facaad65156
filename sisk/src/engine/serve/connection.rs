//! One connection's task: the TLS handshake or the protocol's preface, then hyper until the connection
//! ends, is cut off, or the server is abandoned.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::direct;
use super::preface::speaks_http2;
use super::protocols::{Protocols, Security};
use crate::engine::head_timer::HeadTimer;
use crate::engine::limits::OpenSlot;
use crate::engine::request_body::RequestBody;
use crate::engine::service::App;
use crate::engine::transport::{Carrier, Connection, HeldPlace, OverTcp};
use crate::engine::when_woken::WhenWoken;
use crate::http::body::ResponseBody;

/// A connection just accepted, with its place among the server's open connections.
pub(super) struct Accepted {
    pub(super) stream: TcpStream,
    pub(super) remote: SocketAddr,
    pub(super) accepted_at: Instant,
    /// Given back when the connection is served to its end and its socket closed.
    pub(super) place: OpenSlot,
}

/// Serves one accepted connection until it ends, is cut off, or the server is abandoned.
///
/// The head deadline runs from `accepted_at`: the time spent on the TLS handshake or telling the
/// protocol apart counts against [`header_read_timeout`](crate::http::HttpServerConfiguration::header_read_timeout),
/// so a client that trickles its first bytes cannot double it, and one that never speaks is dropped.
pub(super) async fn serve_connection(
    app: Arc<App>,
    protocols: Arc<Protocols>,
    connections: TaskTracker,
    accepted: Accepted,
) {
    let Accepted { stream, remote, accepted_at, place } = accepted;
    // Given back when this task ends, unless a WebSocket takes it over.
    let place = HeldPlace::new(place);
    let _ = stream.set_nodelay(true);
    let head_deadline = (accepted_at + protocols.header_read_timeout).into();
    let served = Served { app, protocols: protocols.clone(), connections, remote, head_deadline };
    match &protocols.security {
        Security::Plain => {
            let Ok(Ok(is_http2)) = tokio::time::timeout_at(head_deadline, speaks_http2(&stream)).await else {
                tracing::debug!(%remote, "connection closed or silent before its first request");
                return;
            };
            let connection = Connection::new(served.app.server.abandoned(), Carrier::Plain, &place);
            if !is_http2 {
                // A head still partial at the deadline goes to hyper, whose own deadline then answers it.
                // Boxed: its peek buffer is needed only until the head is seen, not for the stream's life.
                let limit = served.app.server.configuration().maximum_header_size;
                let peeking = Box::pin(direct::peek_event_stream_request(&stream, limit));
                match tokio::time::timeout_at(head_deadline, peeking).await {
                    Ok(Ok(Some(request))) => return served.run_event_stream(stream, connection, request).await,
                    Ok(Ok(None)) | Err(_) => {}
                    Ok(Err(_)) => {
                        tracing::debug!(%remote, "connection failed before its first request");
                        return;
                    }
                }
            }
            // Boxed, as below: an event stream answered by `direct` does not carry hyper's state.
            Box::pin(served.run(stream, is_http2, connection, None)).await;
        }
        #[cfg(feature = "tls")]
        Security::Tls(acceptor) => {
            let handshake = super::tls::handshake(acceptor, stream, remote);
            let Ok(Some(stream)) = tokio::time::timeout_at(head_deadline, handshake).await else {
                tracing::debug!(%remote, "connection closed, silent or refused before its TLS handshake ended");
                return;
            };
            let is_http2 = stream.get_ref().1.alpn_protocol() == Some(super::tls::ALPN_HTTP2);
            let connection = Connection::new(served.app.server.abandoned(), Carrier::Tls, &place);
            Box::pin(served.run(stream, is_http2, connection, None)).await;
        }
    }
}

/// A connection whose protocol is known, ready for hyper.
struct Served {
    app: Arc<App>,
    protocols: Arc<Protocols>,
    /// The server's served connections, which the shutdown waits for.
    connections: TaskTracker,
    remote: SocketAddr,
    head_deadline: tokio::time::Instant,
}

impl Served {
    /// Answers a first request that may become an event stream written by `direct`, then goes on with
    /// hyper unless the connection is over.
    async fn run_event_stream(self, stream: TcpStream, connection: Connection, request: direct::EventStreamRequest) {
        // Counted from here, as in `run`.
        let served = self.connections.token();
        let answered = direct::answer(self.app.clone(), &stream, self.remote, &connection, request).await;
        match answered {
            direct::Answered::ToHyper(answer) => Box::pin(self.run(stream, false, connection, Some(answer))).await,
            direct::Answered::StreamEnded => Box::pin(self.run(stream, false, connection, None)).await,
            direct::Answered::ConnectionOver => {}
        }
        drop(served);
    }

    /// Serves the connection with hyper; `first_answer` is the answer already made to the head hyper
    /// reads first (see `direct`).
    async fn run<S: OverTcp + Send + 'static>(
        self,
        stream: S,
        is_http2: bool,
        connection: Connection,
        first_answer: Option<hyper::Response<ResponseBody>>,
    ) {
        let Served { app, protocols, connections, remote, head_deadline } = self;
        // Counted from here (a connection still silent before its first request is not waited for).
        let _served = connections.token();
        let stopping = app.server.stopping().clone();
        let cutoff = CancellationToken::clone(&connection.cutoff);
        let io = connection.io(stream);
        let head_limit = app.server.configuration().maximum_header_size;
        let io = TokioIo::new(if is_http2 { io } else { io.speaking_http1(head_limit) });
        let first_answer = first_answer.map(|answer| std::sync::Mutex::new(Some(answer)));
        let service = hyper::service::service_fn(move |request| {
            let app = app.clone();
            let connection = connection.clone();
            let answered = first_answer.as_ref().and_then(|first| crate::sync::lock(first).take());
            let request = request.map(RequestBody::from);
            // Boxed: hyper keeps its in-flight future's place for as long as the connection lives (an
            // event stream's too), so that place is a pointer, and the request's own future is freed
            // once it has answered.
            Box::pin(async move {
                let response = match answered {
                    Some(answer) => answer,
                    None => app.handle(request, remote, &connection).await,
                };
                Ok::<_, std::convert::Infallible>(response)
            })
        });
        if is_http2 {
            // Boxed: the HTTP/2 state is large, and would otherwise size every HTTP/1.1 task too.
            let connection = protocols.http2.serve_connection(io, service);
            let served = Box::pin(gracefully(connection, stopping, |c| c.graceful_shutdown()));
            drive(served, cutoff, remote).await;
        } else {
            // The first head gets what is left of the deadline. (hyper applies the same value to the heads
            // that follow on a kept-alive connection; a client that was slow at first gets less later.)
            let mut http1 = protocols.http1.clone();
            http1
                .timer(HeadTimer::default())
                .header_read_timeout(head_deadline.saturating_duration_since(tokio::time::Instant::now()));
            // With upgrades: a WebSocket's handshake hands the connection over once its head is sent.
            let connection = http1.serve_connection(io, service).with_upgrades();
            drive(gracefully(connection, stopping, |c| c.graceful_shutdown()), cutoff, remote).await;
        }
    }
}

/// Runs `connection` to its end, asking it to finish gracefully (answer what is in flight, then close)
/// once the server stops. The stop signal is one token shared by every connection: it is polled only when
/// it fires, not each time the connection makes progress (see `when_woken`).
async fn gracefully<C: Future>(
    connection: C,
    stopping: CancellationToken,
    graceful_shutdown: impl FnOnce(std::pin::Pin<&mut C>),
) -> C::Output {
    tokio::pin!(connection);
    let stopped = stopping.cancelled();
    tokio::pin!(stopped);
    tokio::select! {
        result = connection.as_mut() => return result,
        () = WhenWoken::new(stopped) => {}
    }
    graceful_shutdown(connection.as_mut());
    connection.await
}

/// Runs a connection until it ends or is cut off (a client that stopped reading its event stream).
async fn drive<E: std::fmt::Display>(
    connection: impl Future<Output = Result<(), E>>,
    cutoff: CancellationToken,
    remote: SocketAddr,
) {
    // Polled only when it fires, not each time the connection makes progress (see `when_woken`).
    let cancelled = cutoff.cancelled();
    tokio::pin!(cancelled);
    tokio::select! {
        result = connection => if let Err(err) = result {
            tracing::debug!(error = %err, %remote, "connection ended with an error");
        },
        () = WhenWoken::new(cancelled) => tracing::debug!(%remote, "connection cut off"),
    }
}
