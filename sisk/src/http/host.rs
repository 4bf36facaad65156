//! [`HttpServerHostContextBuilder`] and [`HttpServerHostContext`]: describe a server, bind it, and run
//! it until a shutdown signal, then stop it gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backplane::{Backplane, SharedLog};
use crate::http::head_timer::HeadTimer;
use crate::http::limits::OpenSlot;
use crate::http::service::App;
use crate::http::streams::HttpRequestEventSource;
use crate::http::transport::{Connection, StreamExecutor};
use crate::http::when_woken::WhenWoken;
use crate::http::{
    CrossOriginResourceSharingHeaders, HttpServer, HttpServerConfiguration, IntoListeningPort, ListeningPort,
};
use crate::routing::Router;
use crate::Error;

/// The environment variable that overrides the listening port at `build`.
pub const LISTENING_PORT_VARIABLE: &str = "SISK_LISTENING_PORT";

/// Describes a server before it is bound; made by [`HttpServer::create_builder`].
pub struct HttpServerHostContextBuilder {
    port: Result<ListeningPort, Error>,
    router: Router,
    configuration: HttpServerConfiguration,
    cors: Option<CrossOriginResourceSharingHeaders>,
    backplane: Option<Arc<dyn Backplane>>,
    registered_hooks: Vec<EventSourceHook>,
    unregistered_hooks: Vec<EventSourceHook>,
}

/// A hook on the event-source collection, given to the builder.
type EventSourceHook = Box<dyn Fn(&HttpRequestEventSource) + Send + Sync>;

impl std::fmt::Debug for HttpServerHostContextBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerHostContextBuilder")
            .field("port", &self.port)
            .field("router", &self.router)
            .field("configuration", &self.configuration)
            .field("cors", &self.cors)
            .field("backplane", &self.backplane)
            .field("registered_hooks", &self.registered_hooks.len())
            .field("unregistered_hooks", &self.unregistered_hooks.len())
            .finish()
    }
}

impl HttpServerHostContextBuilder {
    pub(crate) fn new() -> Self {
        HttpServerHostContextBuilder {
            port: Ok(ListeningPort::new("localhost", 5000)),
            router: Router::new(),
            configuration: HttpServerConfiguration::default(),
            cors: None,
            backplane: None,
            registered_hooks: Vec::new(),
            unregistered_hooks: Vec::new(),
        }
    }

    /// Where to listen (default `http://localhost:5000/`). An invalid value is reported by `build`.
    ///
    /// The environment variable `SISK_LISTENING_PORT`, when set, overrides this at `build` (as
    /// `ASPNETCORE_URLS` does for ASP.NET): deployments and tests move a program without editing it.
    pub fn use_listening_port(mut self, port: impl IntoListeningPort) -> Self {
        self.port = port.into_listening_port();
        self
    }

    /// The routes to serve.
    pub fn use_router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// Changes the configuration in place.
    pub fn use_configuration(mut self, configure: impl FnOnce(&mut HttpServerConfiguration)) -> Self {
        configure(&mut self.configuration);
        self
    }

    /// Applies a CORS policy to every response and answers preflight requests.
    pub fn use_cors(mut self, cors: CrossOriginResourceSharingHeaders) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Shares the event log with other nodes through `backplane` (a [`RedisBackplane`], say), so
    /// broadcasts and sends to an identifier reach the clients of every node and a client resumes on
    /// any node. Without one, the server keeps its own log in memory.
    ///
    /// [`RedisBackplane`]: crate::backplane
    pub fn use_backplane(mut self, backplane: impl Backplane) -> Self {
        self.backplane = Some(Arc::new(backplane));
        self
    }

    /// Runs `hook` each time an identified connection enters the server's collection, as
    /// [`HttpEventSourceCollection::on_event_source_registered`] does, but set where the server is
    /// described, so presence logic can live beside the routes. The hook reaches the server through the
    /// connection (`es.server()`): capturing an `HttpServer` in it would keep the server alive forever
    /// (the server holds its hooks).
    ///
    /// [`HttpEventSourceCollection::on_event_source_registered`]: crate::http::streams::HttpEventSourceCollection::on_event_source_registered
    pub fn on_event_source_registered(
        mut self,
        hook: impl Fn(&HttpRequestEventSource) + Send + Sync + 'static,
    ) -> Self {
        self.registered_hooks.push(Box::new(hook));
        self
    }

    /// Runs `hook` each time an identified connection leaves the server's collection (see
    /// [`on_event_source_registered`](Self::on_event_source_registered)).
    pub fn on_event_source_unregistration(
        mut self,
        hook: impl Fn(&HttpRequestEventSource) + Send + Sync + 'static,
    ) -> Self {
        self.unregistered_hooks.push(Box::new(hook));
        self
    }

    /// Checks the router and binds the port. Fails on an invalid port, a port already in use, or a
    /// router error kept by `+=` (an invalid path, two colliding routes).
    pub fn build(self) -> Result<HttpServerHostContext, Error> {
        let unclaimed = self.router.unclaimed_attribute_routes();
        if !unclaimed.is_empty() {
            tracing::warn!(
                routes = ?unclaimed,
                "attribute routes are compiled into this program but the router did not pick them up, so they answer 404; \
                 call r.auto_scan() (free functions) or r.set_object(…) (controllers), or r.ignore_attribute_routes() \
                 if that is on purpose"
            );
        }
        let router = self.router.freeze()?;
        let port = match std::env::var(LISTENING_PORT_VARIABLE) {
            Ok(url) => ListeningPort::parse(&url)?,
            Err(_) => self.port?,
        };
        let listener = listen(port.socket_addr()?).map_err(|e| Error::io(&format!("cannot listen on {port}"), e))?;
        let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
        let server = HttpServer::new(self.configuration, local_addr, self.backplane);
        for hook in self.registered_hooks {
            server.event_sources().on_event_source_registered(hook);
        }
        for hook in self.unregistered_hooks {
            server.event_sources().on_event_source_unregistration(hook);
        }
        let app = Arc::new(App { server: server.clone(), router, cors: self.cors });
        Ok(HttpServerHostContext { app, listener })
    }
}

/// A bound server, ready to start.
#[derive(Debug)]
pub struct HttpServerHostContext {
    app: Arc<App>,
    listener: std::net::TcpListener,
}

impl HttpServerHostContext {
    /// The server's handle (clone it before `start` to reach the server from elsewhere).
    pub fn server(&self) -> HttpServer {
        self.app.server.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.app.server.local_addr()
    }

    /// Serves until Ctrl-C, SIGTERM or [`HttpServer::stop`], then shuts down gracefully.
    pub async fn start(self) -> Result<(), Error> {
        self.start_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` resolves or [`HttpServer::stop`] is called, then shuts down gracefully:
    /// stops accepting, closes every event stream cleanly, and waits up to
    /// [`shutdown_timeout`](HttpServerConfiguration::shutdown_timeout) for requests and handlers to finish.
    pub async fn start_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let server = self.app.server.clone();
        let listener =
            TcpListener::from_std(self.listener).map_err(|e| Error::io("cannot register the listener", e))?;
        if let Some(backplane) = server.event_sources().backplane() {
            backplane.clone().start(SharedLog::new(server.clone())).await;
        }
        tracing::info!("listening on http://{}/", server.local_addr());
        let protocols = Arc::new(Protocols::new(server.configuration()));
        // The connections being served, for the shutdown to wait for.
        let connections = TaskTracker::new();

        tokio::pin!(signal);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors or a connection reset before accept: wait a moment, go on.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                },
                () = &mut signal => break,
                () = server.stopping().cancelled() => break,
            };
            let accepted_at = Instant::now();
            // Over `maximum_connections`: closed unread (see that field for why not a 503).
            let Some(place) = server.connection_slot() else {
                tracing::debug!(%remote, "connection refused: the server is full");
                drop(stream);
                continue;
            };
            tokio::spawn(serve_connection(
                self.app.clone(),
                protocols.clone(),
                connections.clone(),
                Accepted { stream, remote, accepted_at, place },
            ));
        }

        drop(listener);
        shut_down(&server, &connections).await;
        Ok(())
    }
}

/// Stops a server whose listener is closed: ends every event stream cleanly, then waits for connections
/// and handlers until the shutdown timeout, and drops what is left.
async fn shut_down(server: &HttpServer, connections: &TaskTracker) {
    tracing::info!("shutting down");
    server.stop();
    server.event_sources().drop_all();
    let tasks = server.streaming_tasks();
    tasks.close();
    connections.close();
    let drained = async {
        connections.wait().await;
        tasks.wait().await;
    };
    let timeout = server.configuration().shutdown_timeout;
    if tokio::time::timeout(timeout, drained).await.is_err() {
        tracing::warn!(?timeout, "shutdown timeout passed; dropping what is left");
        server.abandoned().cancel();
        // The cut connections and handlers end at their next poll; give them a moment to do so.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), tasks.wait()).await;
    }
}

/// A connection just accepted, with its place among the server's open connections.
struct Accepted {
    stream: TcpStream,
    remote: SocketAddr,
    accepted_at: Instant,
    /// Given back when the connection is served to its end and its socket closed.
    place: OpenSlot,
}

/// Serves one accepted connection until it ends, is cut off, or the server is abandoned.
///
/// The head deadline runs from `accepted_at`: the time spent telling the protocol apart counts against
/// [`header_read_timeout`](HttpServerConfiguration::header_read_timeout), so a client that trickles its
/// first bytes cannot double it.
async fn serve_connection(app: Arc<App>, protocols: Arc<Protocols>, connections: TaskTracker, accepted: Accepted) {
    let Accepted { stream, remote, accepted_at, place: _place } = accepted;
    let _ = stream.set_nodelay(true);
    let head_deadline = accepted_at + protocols.header_read_timeout;
    let Ok(Ok(is_http2)) = tokio::time::timeout_at(head_deadline.into(), speaks_http2(&stream)).await else {
        tracing::debug!(%remote, "connection closed or silent before its first request");
        return;
    };
    // Counted from here (a connection still silent before its first request is not waited for).
    let _served = connections.token();
    let stopping = app.server.stopping().clone();
    let connection = Connection::new(app.server.abandoned());
    let cutoff = CancellationToken::clone(&connection.cutoff);
    let io = TokioIo::new(connection.io(stream));
    let service = hyper::service::service_fn(move |request| {
        let app = app.clone();
        let connection = connection.clone();
        async move { Ok::<_, std::convert::Infallible>(app.handle(request, remote, &connection).await) }
    });
    if is_http2 {
        // Boxed: the HTTP/2 state is large, and would otherwise size every HTTP/1.1 task too.
        let served = Box::pin(gracefully(protocols.http2.serve_connection(io, service), stopping));
        drive(served, cutoff, remote).await;
    } else {
        // The first head gets what is left of the deadline. (hyper applies the same value to the heads
        // that follow on a kept-alive connection; a client that was slow at first gets less later.)
        let mut http1 = protocols.http1.clone();
        http1.timer(HeadTimer::default()).header_read_timeout(head_deadline.saturating_duration_since(Instant::now()));
        drive(gracefully(http1.serve_connection(io, service), stopping), cutoff, remote).await;
    }
}

/// Runs `connection` to its end, asking it to finish gracefully (answer what is in flight, then close)
/// once the server stops. The stop signal is one token shared by every connection: it is polled only when
/// it fires, not each time the connection makes progress (see `when_woken`).
async fn gracefully<C: GracefulConnection>(connection: C, stopping: CancellationToken) -> Result<(), C::Error> {
    tokio::pin!(connection);
    let stopped = stopping.cancelled();
    tokio::pin!(stopped);
    tokio::select! {
        result = connection.as_mut() => return result,
        () = WhenWoken::new(stopped) => {}
    }
    connection.as_mut().graceful_shutdown();
    connection.await
}

/// How many connections may wait to be accepted. The standard library's 128 overflows when many
/// `EventSource`s reconnect at once (after a deploy, say): the kernel then drops or resets some of them.
/// The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr`, with address reuse (as the standard library sets it) and a backlog
/// of [`LISTEN_BACKLOG`].
fn listen(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The connection builders of both protocols, configured once and shared by every connection.
struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<StreamExecutor>,
    header_read_timeout: Duration,
}

impl Protocols {
    fn new(config: &HttpServerConfiguration) -> Self {
        let mut http1 = http1::Builder::new();
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
        Protocols { http1, http2, header_read_timeout: config.header_read_timeout }
    }
}

/// The client preface that opens an HTTP/2 connection with prior knowledge.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether a new connection speaks HTTP/2, told from its first bytes, which are peeked at and left in the
/// socket. Reading them instead (and handing them back through a rewinding wrapper, as hyper-util's
/// `auto` builder does) makes hyper's first read find its 8 KiB buffer partly used and double it: 8 KiB
/// more for every connection, kept for as long as an event stream stays open.
///
/// Waiting costs nothing while the client is silent, also after part of the preface: a peek leaves the
/// bytes in the socket, so the socket stays readable, and a plain loop of peeks would spin. When a peek
/// sees nothing new, the readiness it was based on is cleared, and the task sleeps until more bytes
/// arrive. (The peek runs inside `try_io`, so bytes that arrive after the readiness was read keep it set.)
async fn speaks_http2(stream: &TcpStream) -> std::io::Result<bool> {
    let mut first = [0u8; HTTP2_PREFACE.len()];
    let mut seen = 0;
    loop {
        stream.readable().await?;
        let peeked = match stream.try_io(Interest::READABLE, || peek_news(stream, &mut first, seen)) {
            Ok(peeked) => peeked,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        };
        if peeked == 0 || first[..peeked] != HTTP2_PREFACE[..peeked] {
            return Ok(false);
        }
        if peeked == HTTP2_PREFACE.len() {
            return Ok(true);
        }
        seen = peeked;
    }
}

/// Peeks into `buf` once without waiting; `WouldBlock` unless there is something new since `seen` bytes
/// (more bytes, or the end of the stream).
fn peek_news(stream: &TcpStream, buf: &mut [u8], seen: usize) -> std::io::Result<usize> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let mut read = ReadBuf::new(buf);
    match stream.poll_peek(&mut cx, &mut read) {
        Poll::Ready(Ok(peeked)) if peeked == 0 || peeked > seen => Ok(peeked),
        Poll::Ready(Ok(_)) | Poll::Pending => Err(std::io::ErrorKind::WouldBlock.into()),
        Poll::Ready(Err(err)) => Err(err),
    }
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

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Sends `chunks` (20 ms apart) to a fresh connection; returns what `speaks_http2` said and how many
    /// bytes were still waiting in the socket afterwards.
    async fn detect(chunks: &[&[u8]]) -> (bool, usize) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for chunk in chunks {
                stream.write_all(&chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stream
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let is_http2 = tokio::time::timeout(Duration::from_secs(5), speaks_http2(&accepted)).await.unwrap().unwrap();
        let _client = client.await.unwrap();
        let mut waiting = [0u8; 64];
        (is_http2, accepted.peek(&mut waiting).await.unwrap())
    }

    #[tokio::test]
    async fn the_protocol_is_told_without_consuming_the_first_bytes() {
        let request: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(detect(&[request]).await, (false, request.len()));
        assert_eq!(detect(&[HTTP2_PREFACE]).await, (true, HTTP2_PREFACE.len()));
        assert_eq!(detect(&[&HTTP2_PREFACE[..5], &HTTP2_PREFACE[5..]]).await, (true, HTTP2_PREFACE.len()));
        assert_eq!(detect(&[b"PRX"]).await, (false, 3));
    }

    /// Regression: part of the preface followed by silence used to be peeked at every millisecond.
    #[tokio::test]
    async fn a_silent_half_preface_is_not_polled_while_it_stays_silent() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        client.write_all(&HTTP2_PREFACE[..5]).await.unwrap();
        let mut polls = 0;
        let mut detection = std::pin::pin!(speaks_http2(&accepted));
        let silence = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(silence);
        std::future::poll_fn(|cx| {
            polls += 1;
            assert!(detection.as_mut().poll(cx).is_pending(), "nothing to decide yet");
            silence.as_mut().poll(cx)
        })
        .await;
        // The first poll, the one after the first bytes, a spurious one or two, the timer's: not 300.
        assert!(polls < 10, "polled {polls} times during 300 ms of silence");
        client.write_all(&HTTP2_PREFACE[5..]).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_secs(5), detection).await.unwrap().unwrap());
    }
}
