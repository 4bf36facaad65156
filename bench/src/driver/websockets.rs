//! WebSockets, sisk beside axum (`ws-compare`): echo round trips per second over a fixed number of
//! sockets, each sending its next message as soon as the echo of the last is read; and fan-out —
//! open N identified sockets (server memory before and after: bytes per open socket), then send
//! broadcasts one at a time through `POST /ws-broadcast`, each carrying its send time, and wait until
//! every socket has it (delivery latency, losses).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::client::HttpConnection;
use crate::driver::fanout::{parse_payload, payload, typical, unix_now};
use crate::driver::servers::ServerProcess;

/// Sockets being opened at once.
const OPENING_CONCURRENCY: usize = 64;
/// The longest opening all sockets, or the server noticing them, may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest one broadcast's delivery may take (a timeout counts as losses).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A client socket of the driver.
pub type Socket = WebSocketStream<TcpStream>;

/// Opens a WebSocket on `path` of `addr`.
pub async fn connect(addr: SocketAddr, path: &str) -> io::Result<Socket> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (socket, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp).await.map_err(io::Error::other)?;
    Ok(socket)
}

/// What echo runs against one server measured.
#[derive(Debug, Default, Clone)]
pub struct EchoResult {
    /// Echoes received.
    pub round_trips: u64,
    /// Sockets that failed.
    pub errors: u64,
    /// Time spent sending load (summed over runs).
    pub elapsed: Duration,
}

impl EchoResult {
    /// Echoes per second.
    pub fn rate(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// One socket's round trips until `deadline`, or `Err` when it failed.
async fn echo_on(addr: SocketAddr, index: usize, deadline: Instant) -> io::Result<u64> {
    let mut socket = connect(addr, &format!("/ws/echo-{index}")).await?;
    let mut round_trips = 0;
    while Instant::now() < deadline {
        socket.send(Message::text("ping")).await.map_err(io::Error::other)?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(_))) => break,
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(io::Error::other(err)),
                None => return Err(io::Error::other("the server closed the socket")),
            }
        }
        round_trips += 1;
    }
    let _ = socket.close(None).await;
    Ok(round_trips)
}

/// Echo round trips over `sockets` sockets for `duration`.
pub async fn echo(server: &ServerProcess, sockets: usize, duration: Duration) -> io::Result<EchoResult> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut running = JoinSet::new();
    for index in 0..sockets {
        running.spawn(echo_on(server.addr, index, deadline));
    }
    let mut result = EchoResult::default();
    while let Some(joined) = running.join_next().await {
        match joined.map_err(io::Error::other)? {
            Ok(round_trips) => result.round_trips += round_trips,
            Err(_) => result.errors += 1,
        }
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

/// What one WebSocket fan-out run measured.
#[derive(Debug, Clone)]
pub struct WsFanoutResult {
    /// Sockets opened.
    pub sockets: usize,
    /// Time to open all of them, `OPENING_CONCURRENCY` at a time.
    pub opening: Duration,
    /// Server RSS before opening and once all were open.
    pub rss_before: u64,
    /// Server RSS once all sockets were open.
    pub rss_after: u64,
    /// Broadcasts sent.
    pub broadcasts: usize,
    /// Messages the clients received.
    pub received: usize,
    /// Per broadcast, per socket that got it, from the send time in the payload to the arrival, sorted.
    pub latencies: Vec<Vec<Duration>>,
}

impl WsFanoutResult {
    /// Messages that should have arrived and did not.
    pub fn lost(&self) -> usize {
        (self.sockets * self.broadcasts).saturating_sub(self.received)
    }

    /// Server memory per open socket, in bytes.
    pub fn bytes_per_socket(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.sockets.max(1) as f64
    }

    /// The typical broadcast's delivery latency at percentile `p` across sockets (see
    /// [`fanout::typical`](crate::driver::fanout::typical)).
    pub fn typical(&self, p: f64) -> Duration {
        typical(&self.latencies, p)
    }
}

#[derive(Debug)]
struct Tally {
    per_broadcast: Vec<AtomicUsize>,
    latencies: Vec<Mutex<Vec<Duration>>>,
    changed: Notify,
}

async fn read_messages(mut socket: Socket, tally: Arc<Tally>) {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let Some((seq, sent)) = parse_payload(text.as_bytes()) else { continue };
        let latency = unix_now().saturating_sub(sent);
        if let (Some(count), Some(latencies)) = (tally.per_broadcast.get(seq), tally.latencies.get(seq)) {
            count.fetch_add(1, Ordering::Relaxed);
            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(latency);
            tally.changed.notify_one();
        }
    }
}

async fn ws_stats(control: &mut HttpConnection) -> io::Result<usize> {
    let (status, body) = control.request("GET", "/ws-stats", b"").await?;
    if status != 200 {
        return Err(io::Error::other(format!("GET /ws-stats answered {status}")));
    }
    body.trim().parse().map_err(|_| io::Error::other(format!("GET /ws-stats answered `{body}`")))
}

/// Opens `sockets` identified sockets on `server`, sends `broadcasts` broadcasts, and closes them.
pub async fn fanout(server: &ServerProcess, sockets: usize, broadcasts: usize) -> io::Result<WsFanoutResult> {
    let mut control = HttpConnection::connect(server.addr).await?;
    ws_stats(&mut control).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = server.rss()?;

    let started = Instant::now();
    let opening = async {
        let mut opening = JoinSet::new();
        let mut opened = Vec::with_capacity(sockets);
        let mut next = 0;
        while opened.len() < sockets {
            while next < sockets && opening.len() < OPENING_CONCURRENCY {
                let addr = server.addr;
                opening.spawn(async move { connect(addr, &format!("/ws/s{next}")).await });
                next += 1;
            }
            let joined = opening.join_next().await.ok_or_else(|| io::Error::other("no socket is opening"))?;
            opened.push(joined.map_err(io::Error::other)??);
        }
        Ok::<_, io::Error>(opened)
    };
    let clients = tokio::time::timeout(STEP_TIMEOUT, opening)
        .await
        .map_err(|_| io::Error::other(format!("{sockets} sockets did not open within {STEP_TIMEOUT:?}")))??;
    let opening = started.elapsed();
    let deadline = Instant::now() + STEP_TIMEOUT;
    while ws_stats(&mut control).await? != sockets {
        if Instant::now() >= deadline {
            return Err(io::Error::other("the server never counted every socket"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after = server.rss()?;

    let tally = Arc::new(Tally {
        per_broadcast: (0..broadcasts).map(|_| AtomicUsize::new(0)).collect(),
        latencies: (0..broadcasts).map(|_| Mutex::new(Vec::with_capacity(sockets))).collect(),
        changed: Notify::new(),
    });
    let mut readers = JoinSet::new();
    for client in clients {
        readers.spawn(read_messages(client, tally.clone()));
    }
    for seq in 0..broadcasts {
        let (status, body) = control.request("POST", "/ws-broadcast?prefix=s", payload(seq).as_bytes()).await?;
        if status != 200 {
            return Err(io::Error::other(format!("POST /ws-broadcast answered {status}: {body}")));
        }
        let delivered = async {
            while tally.per_broadcast[seq].load(Ordering::Relaxed) < sockets {
                tally.changed.notified().await;
            }
        };
        let _ = tokio::time::timeout(DELIVERY_TIMEOUT, delivered).await;
    }
    readers.abort_all();
    while readers.join_next().await.is_some() {}

    let latencies = tally
        .latencies
        .iter()
        .map(|l| {
            let mut l = std::mem::take(&mut *l.lock().unwrap_or_else(|e| e.into_inner()));
            l.sort_unstable();
            l
        })
        .collect();
    let received = tally.per_broadcast.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    Ok(WsFanoutResult { sockets, opening, rss_before, rss_after, broadcasts, received, latencies })
}
