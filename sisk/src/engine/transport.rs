//! The transport under a request, and the two things a request may ask of it: to be cut off (a client
//! that stopped reading its event stream), and, for an event stream over HTTP/1.1, a bounded socket send
//! buffer.
//!
//! Cutting off must end no more than the one client. Over HTTP/1.1 a response owns its connection, so the
//! connection is dropped. Over HTTP/2 many clients may share one connection (a proxy in front of sisk
//! multiplexes its browsers onto it): hyper runs each stream in a task of its own through the connection's
//! executor, and [`StreamExecutor`] gives each such task its own cut-off, found by the request through a
//! task-local. Dropping that task resets the one stream and leaves its neighbours running.
//!
//! One more thing the socket wrapper does for HTTP/1.1: a client may shut its write side after a request
//! and still read the answer (scripts and some health checks do). hyper ends a connection whose client's
//! data ends in the middle of a request, which would lose that answer, and that same rule is how an event
//! stream notices at once that its browser left. So the wrapper holds back the end of the client's data
//! while a request is being handled, and lets hyper see it as soon as the handler has answered (for an
//! event stream: as soon as its head is sent, so a browser that leaves is still noticed without a write).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_util::task::AtomicWaker;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::engine::limits::OpenSlot;
use crate::engine::request_line_watch::RequestLineWatch;

tokio::task_local! {
    /// The cut-off of the HTTP/2 stream whose task is running; unset on HTTP/1.1.
    static STREAM_CUTOFF: Arc<CancellationToken>;
}

/// What a request holds of the transport it came on.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    /// Cancelling it ends what carries the request: its HTTP/2 stream, or its HTTP/1.1 connection. In an
    /// `Arc`: cloning a token itself locks its node in the token tree, and every request clones this.
    cutoff: Arc<CancellationToken>,
    /// The send-buffer size asked for the socket (HTTP/1.1 only; `None` over HTTP/2, where the socket is
    /// shared and flow control bounds each stream).
    send_buffer: Option<Arc<AtomicUsize>>,
    /// True when the connection is TLS (an `https://` listening port).
    secure: bool,
    /// The HTTP/1.1 connection's place among the server's open connections, for a WebSocket to take
    /// over (`None` over HTTP/2, whose connection's task outlives its streams' sockets).
    #[cfg(feature = "websockets")]
    place: Option<ConnectionPlace>,
}

/// A connection's place among the server's open connections (see
/// [`maximum_connections`](crate::http::HttpServerConfiguration::maximum_connections)): given back
/// when the connection's task ends ([`HeldPlace`]), unless a WebSocket took it first — the socket then
/// outlives that task, which ends when hyper hands the connection over, and holds the place until it
/// closes.
#[cfg(feature = "websockets")]
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionPlace(Arc<std::sync::Mutex<Option<OpenSlot>>>);

#[cfg(feature = "websockets")]
impl ConnectionPlace {
    /// The place, for whoever holds the connection now; `None` once taken or given back.
    pub(crate) fn take(&self) -> Option<OpenSlot> {
        crate::sync::lock(&self.0).take()
    }
}

/// The connection task's hold on its place: dropped when the task ends, it gives the place back unless
/// a WebSocket took it over.
#[derive(Debug)]
pub(crate) struct HeldPlace {
    #[cfg(feature = "websockets")]
    shared: ConnectionPlace,
    #[cfg(not(feature = "websockets"))]
    _slot: OpenSlot,
}

impl HeldPlace {
    pub(crate) fn new(slot: OpenSlot) -> Self {
        #[cfg(feature = "websockets")]
        return HeldPlace { shared: ConnectionPlace(Arc::new(std::sync::Mutex::new(Some(slot)))) };
        #[cfg(not(feature = "websockets"))]
        HeldPlace { _slot: slot }
    }
}

#[cfg(feature = "websockets")]
impl Drop for HeldPlace {
    fn drop(&mut self) {
        drop(self.shared.take());
    }
}

impl Transport {
    /// The transport of a request that arrived on `connection`: inside an HTTP/2 stream's task, that
    /// stream; otherwise the connection itself.
    pub(crate) fn current(connection: &Connection) -> Self {
        match STREAM_CUTOFF.try_with(Arc::clone) {
            Ok(stream) => Transport {
                cutoff: stream,
                send_buffer: None,
                secure: connection.secure,
                #[cfg(feature = "websockets")]
                place: None,
            },
            Err(_) => Transport {
                cutoff: connection.cutoff.clone(),
                send_buffer: Some(connection.send_buffer.clone()),
                secure: connection.secure,
                #[cfg(feature = "websockets")]
                place: Some(connection.place.clone()),
            },
        }
    }

    /// True when the request came over TLS: its scheme is `https`. (What the client sent; a proxy in
    /// front may have taken TLS off before.)
    pub(crate) fn is_secure(&self) -> bool {
        self.secure
    }

    /// Takes over the connection's place among the server's open connections (an upgraded HTTP/1.1
    /// connection's: its task is over, its socket is not).
    #[cfg(feature = "websockets")]
    pub(crate) fn take_connection_place(&self) -> Option<OpenSlot> {
        self.place.as_ref().and_then(ConnectionPlace::take)
    }

    /// Ends what carries the request, at once.
    pub(crate) fn cut_off(&self) {
        self.cutoff.cancel();
    }

    /// Asks that the socket's kernel send buffer be `bytes` (`0` leaves it as it is). Applied before the
    /// next write; without effect over HTTP/2.
    pub(crate) fn bound_send_buffer(&self, bytes: usize) {
        if let Some(send_buffer) = &self.send_buffer {
            send_buffer.store(bytes, Ordering::Relaxed);
        }
    }
}

/// What carries a connection's bytes: the socket itself, or TLS over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    Plain,
    Tls,
}

/// One accepted connection, as its requests see it.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// In an `Arc`, as the request's copy (see [`Transport`]): a connection is cloned for each request.
    pub(crate) cutoff: Arc<CancellationToken>,
    send_buffer: Arc<AtomicUsize>,
    handling: Arc<Handling>,
    secure: bool,
    #[cfg(feature = "websockets")]
    place: ConnectionPlace,
}

/// How many requests of an HTTP/1.1 connection are being handled, and the read that waits for them to
/// be answered before it reports the end of the client's data (see the module docs).
#[derive(Debug, Default)]
struct Handling {
    requests: AtomicUsize,
    held_back_read: AtomicWaker,
}

/// A request being handled; dropping it when the handler has answered releases the end of the
/// client's data, if it came meanwhile.
#[derive(Debug)]
pub(crate) struct HandlingRequest(Arc<Handling>);

impl Drop for HandlingRequest {
    fn drop(&mut self) {
        if self.0.requests.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.held_back_read.wake();
        }
    }
}

impl Connection {
    /// A connection whose cut-off is a child of `parent` (the server's "abandon everything" switch);
    /// `carrier` says whether it is TLS; `place` is its task's hold on its place among the server's.
    pub(crate) fn new(parent: &CancellationToken, carrier: Carrier, #[allow(unused)] place: &HeldPlace) -> Self {
        Connection {
            cutoff: Arc::new(parent.child_token()),
            send_buffer: Arc::new(AtomicUsize::new(0)),
            handling: Arc::default(),
            secure: carrier == Carrier::Tls,
            #[cfg(feature = "websockets")]
            place: place.shared.clone(),
        }
    }

    /// A connection that no server of sisk's serves (a request through the tower service): its cut-off
    /// is its own token, not a child of the server's, whose node each child would lock when made and
    /// dropped — nothing here watches it.
    pub(crate) fn detached(carrier: Carrier) -> Self {
        Connection {
            cutoff: Arc::new(CancellationToken::new()),
            send_buffer: Arc::new(AtomicUsize::new(0)),
            handling: Arc::default(),
            secure: carrier == Carrier::Tls,
            #[cfg(feature = "websockets")]
            place: ConnectionPlace::default(),
        }
    }

    /// The stream of this connection (its socket, or TLS over it), wrapped so that what its requests ask
    /// of it is applied.
    pub(crate) fn io<S: OverTcp>(&self, stream: S) -> ConnectionIo<S> {
        ConnectionIo {
            stream,
            send_buffer: self.send_buffer.clone(),
            handling: self.handling.clone(),
            request_lines: None,
        }
    }

    /// Applies to `socket` the send-buffer size a request asked for, if one did (for a stream written
    /// without [`ConnectionIo`]).
    pub(crate) fn apply_send_buffer(&self, socket: &TcpStream) {
        let asked = self.send_buffer.swap(0, Ordering::Relaxed);
        if asked != 0 {
            if let Err(err) = socket2::SockRef::from(socket).set_send_buffer_size(asked) {
                tracing::debug!(error = %err, "cannot bound the socket's send buffer");
            }
        }
    }

    /// Marks a request of this connection as being handled until the returned guard drops. Over HTTP/2
    /// (inside a stream's task) there is nothing to mark: the protocol has its own end of stream.
    pub(crate) fn handling_request(&self) -> Option<HandlingRequest> {
        if STREAM_CUTOFF.try_with(|_| ()).is_ok() {
            return None;
        }
        self.handling.requests.fetch_add(1, Ordering::SeqCst);
        Some(HandlingRequest(self.handling.clone()))
    }
}

/// A stream carried by a TCP socket: the socket itself, or TLS over it.
pub(crate) trait OverTcp: AsyncRead + AsyncWrite + Unpin {
    /// The socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl OverTcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl OverTcp for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// A connection's stream that applies a send-buffer size asked for by a request to its socket before
/// its next write, and holds back the end of the client's data while a request is being handled. Over
/// TLS it wraps the TLS stream, so the end it holds back is the end of the decrypted data.
#[derive(Debug)]
pub(crate) struct ConnectionIo<S = TcpStream> {
    stream: S,
    send_buffer: Arc<AtomicUsize>,
    handling: Arc<Handling>,
    /// On an HTTP/1.1 connection, what turns hyper's `431` to a too long request line into a `414`.
    request_lines: Option<RequestLineWatch>,
}

impl<S: OverTcp> ConnectionIo<S> {
    /// The same stream, for HTTP/1.1 with heads of at most `limit` bytes: a request line too long is
    /// answered `414` (see [`RequestLineWatch`]).
    pub(crate) fn speaking_http1(mut self, limit: usize) -> Self {
        self.request_lines = Some(RequestLineWatch::new(limit));
        self
    }

    fn apply_send_buffer(&self) {
        // One relaxed load per write (no read-modify-write on the hot path); the size is asked at most
        // once per event stream.
        if self.send_buffer.load(Ordering::Relaxed) == 0 {
            return;
        }
        let asked = self.send_buffer.swap(0, Ordering::Relaxed);
        if asked != 0 {
            if let Err(err) = socket2::SockRef::from(self.stream.tcp()).set_send_buffer_size(asked) {
                tracing::debug!(error = %err, "cannot bound the socket's send buffer");
            }
        }
    }
}

impl<S: OverTcp> AsyncRead for ConnectionIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if let Some(watch) = this.request_lines.as_mut() {
            watch.read(&buf.filled()[before..]);
        }
        let at_end = buf.filled().len() == before && buf.remaining() > 0;
        if at_end && this.handling.requests.load(Ordering::SeqCst) > 0 {
            // Registered before the second look, so an answer in between still wakes this read, which
            // then finds the end again (a socket at its end stays there).
            this.handling.held_back_read.register(cx.waker());
            if this.handling.requests.load(Ordering::SeqCst) > 0 {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: OverTcp> AsyncWrite for ConnectionIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.apply_send_buffer();
        if let Some(rewritten) =
            this.request_lines.as_mut().and_then(|watch| watch.poll_write(&mut this.stream, cx, buf))
        {
            return rewritten;
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.apply_send_buffer();
        let first = bufs.iter().find(|buf| !buf.is_empty());
        if let Some(rewritten) = first
            .zip(this.request_lines.as_mut())
            .and_then(|(first, watch)| watch.poll_write(&mut this.stream, cx, first))
        {
            return rewritten;
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The executor of HTTP/2 connections: each stream's task gets a cut-off of its own (see the module
/// docs), which ends that task, and so resets that stream, when cancelled.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamExecutor;

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, task: F) {
        let cutoff = Arc::new(CancellationToken::new());
        tokio::spawn(STREAM_CUTOFF.scope(cutoff.clone(), async move {
            cutoff.run_until_cancelled(task).await;
        }));
    }
}
