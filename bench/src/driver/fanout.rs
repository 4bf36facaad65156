//! Server-Sent Events fan-out: open N identified streams (timing the opening: the connect rate), read the
//! server's memory before and after (memory per stream), then send broadcasts one at a time, each
//! carrying its send time, and wait for every stream to receive it (delivery latency, losses, CPU per
//! delivered event on both sides). Finally close every stream and check the server noticed.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::client::{EventStreamClient, HttpConnection};
use crate::driver::servers::ServerProcess;
use crate::percentile;
use crate::process::cpu_time;

/// Streams being opened at once.
const OPENING_CONCURRENCY: usize = 64;
/// The longest any step may take: opening all streams, one broadcast's delivery, the server noticing
/// the closes.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What one fan-out run measured.
#[derive(Debug, Clone)]
pub struct FanoutResult {
    /// Streams opened.
    pub streams: usize,
    /// Time to open all of them (connect, request, response head), `OPENING_CONCURRENCY` at a time.
    pub opening: Duration,
    /// What `GET /stats` answered once all were open.
    pub open_per_stats: usize,
    /// Server RSS just before opening and once all were open.
    pub rss_before: u64,
    /// Server RSS once all streams were open.
    pub rss_after: u64,
    /// Broadcasts sent.
    pub broadcasts: usize,
    /// Sum of the streams each broadcast answered that it reached.
    pub reached: usize,
    /// Events the clients received.
    pub received: usize,
    /// Per broadcast, per client that received it: from the send time in the payload to the arrival,
    /// sorted.
    pub latencies: Vec<Vec<Duration>>,
    /// Server CPU from the first broadcast to the last delivery.
    pub server_cpu: Duration,
    /// Load generator CPU over the same span.
    pub client_cpu: Duration,
    /// What `GET /stats` answered after the clients closed every stream.
    pub open_after_close: usize,
    /// From the moment the clients began closing every stream to the first `GET /stats` that answered 0
    /// (the server noticed every close); polled every 20 ms, so it is known to that precision.
    pub noticing: Duration,
}

impl FanoutResult {
    /// Events that should have arrived and did not.
    pub fn lost(&self) -> usize {
        (self.streams * self.broadcasts).saturating_sub(self.received)
    }

    /// Streams opened per second.
    pub fn connect_rate(&self) -> f64 {
        self.streams as f64 / self.opening.as_secs_f64().max(f64::EPSILON)
    }

    /// The typical broadcast's delivery latency at percentile `p` across clients: for each broadcast the
    /// `p`-th percentile of its deliveries, then the median of those over the broadcasts (so that one
    /// broadcast caught by a noisy moment does not decide the number).
    pub fn typical(&self, p: f64) -> Duration {
        typical(&self.latencies, p)
    }

    /// The slowest delivery of the whole run.
    pub fn worst(&self) -> Duration {
        self.latencies.iter().filter_map(|l| l.last()).max().copied().unwrap_or_default()
    }

    /// Server memory per open stream, in bytes.
    pub fn bytes_per_stream(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.streams.max(1) as f64
    }
}

/// The typical broadcast's delivery latency at percentile `p`, from the sorted latencies of each
/// broadcast: each broadcast's `p`-th percentile, then the median of those.
pub fn typical(latencies: &[Vec<Duration>], p: f64) -> Duration {
    let mut per_broadcast: Vec<Duration> = latencies.iter().map(|l| percentile(l, p)).collect();
    per_broadcast.sort_unstable();
    percentile(&per_broadcast, 50.0)
}

/// What the readers of all streams have received so far.
#[derive(Debug)]
struct Tally {
    per_broadcast: Vec<AtomicUsize>,
    latencies: Vec<Mutex<Vec<Duration>>>,
    changed: Notify,
}

/// The time since the Unix epoch, the clock the payloads carry.
pub fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The payload of broadcast `seq`: `"<seq> <send time in nanoseconds since the epoch>"`.
pub fn payload(seq: usize) -> String {
    format!("{seq} {}", unix_now().as_nanos())
}

/// The sequence number and send time of a [`payload`]; anything after a second space (padding) is
/// ignored. `None` for data that is not a payload.
pub fn parse_payload(data: &[u8]) -> Option<(usize, Duration)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut fields = text.split(' ');
    let (seq, nanos) = (fields.next()?, fields.next()?);
    let nanos: u64 = nanos.parse().ok()?;
    Some((seq.parse().ok()?, Duration::from_nanos(nanos)))
}

async fn read_events(mut client: EventStreamClient, tally: Arc<Tally>) {
    while let Ok(Some(data)) = client.next_data().await {
        let Some((seq, sent)) = parse_payload(&data) else { continue };
        let latency = unix_now().saturating_sub(sent);
        if let (Some(count), Some(latencies)) = (tally.per_broadcast.get(seq), tally.latencies.get(seq)) {
            count.fetch_add(1, Ordering::Relaxed);
            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(latency);
            tally.changed.notify_one();
        }
    }
}

/// Opens `GET path` on each `(address, path)`, 64 at a time; the clients come back
/// in the order they opened.
pub async fn open_all(targets: &[(SocketAddr, String)]) -> io::Result<Vec<EventStreamClient>> {
    let streams = targets.len();
    let mut opening = JoinSet::new();
    let mut opened = Vec::with_capacity(streams);
    let mut next = 0;
    while opened.len() < streams {
        while next < streams && opening.len() < OPENING_CONCURRENCY {
            let (addr, path) = targets[next].clone();
            opening.spawn(async move { EventStreamClient::open(addr, &path).await });
            next += 1;
        }
        let joined = opening.join_next().await.ok_or_else(|| io::Error::other("no stream is opening"))?;
        opened.push(joined.map_err(io::Error::other)??);
    }
    Ok(opened)
}

async fn stats(control: &mut HttpConnection) -> io::Result<usize> {
    let (status, body) = control.request("GET", "/stats", b"").await?;
    if status != 200 {
        return Err(io::Error::other(format!("GET /stats answered {status}")));
    }
    body.trim().parse().map_err(|_| io::Error::other(format!("GET /stats answered `{body}`")))
}

/// Polls `/stats` until it answers `expected` or `STEP_TIMEOUT` passes; returns the last answer.
async fn stats_until(control: &mut HttpConnection, expected: usize) -> io::Result<usize> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let open = stats(control).await?;
        if open == expected || Instant::now() >= deadline {
            return Ok(open);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens `streams` streams on `server`, sends `broadcasts` broadcasts, and closes the streams.
pub async fn run(server: &ServerProcess, streams: usize, broadcasts: usize) -> io::Result<FanoutResult> {
    let mut control = HttpConnection::connect(server.addr).await?;
    stats(&mut control).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = server.rss()?;

    let started = Instant::now();
    let targets: Vec<(SocketAddr, String)> = (0..streams).map(|i| (server.addr, format!("/sse/s{i}"))).collect();
    let clients = tokio::time::timeout(STEP_TIMEOUT, open_all(&targets))
        .await
        .map_err(|_| io::Error::other(format!("{streams} streams did not open within {STEP_TIMEOUT:?}")))??;
    let opening = started.elapsed();
    let open_per_stats = stats_until(&mut control, streams).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after = server.rss()?;

    let tally = Arc::new(Tally {
        per_broadcast: (0..broadcasts).map(|_| AtomicUsize::new(0)).collect(),
        latencies: (0..broadcasts).map(|_| Mutex::new(Vec::with_capacity(streams))).collect(),
        changed: Notify::new(),
    });
    let mut readers = JoinSet::new();
    for client in clients {
        readers.spawn(read_events(client, tally.clone()));
    }

    let own = std::process::id();
    let (server_before, client_before) = (server.cpu()?, cpu_time(own)?);
    let mut reached = 0;
    for seq in 0..broadcasts {
        let (status, body) = control.request("POST", "/broadcast?prefix=s", payload(seq).as_bytes()).await?;
        if status != 200 {
            return Err(io::Error::other(format!("POST /broadcast answered {status}")));
        }
        reached += body.trim().parse::<usize>().unwrap_or(0);
        let delivered = async {
            while tally.per_broadcast[seq].load(Ordering::Relaxed) < streams {
                tally.changed.notified().await;
            }
        };
        // A timeout here is counted as losses below.
        let _ = tokio::time::timeout(DELIVERY_TIMEOUT, delivered).await;
    }
    let client_cpu = cpu_time(own)?.saturating_sub(client_before);
    let server_cpu = server.cpu_after_settling().await?.saturating_sub(server_before);

    let closing = Instant::now();
    readers.abort_all();
    while readers.join_next().await.is_some() {}
    let open_after_close = stats_until(&mut control, 0).await?;
    let noticing = closing.elapsed();

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
    Ok(FanoutResult {
        streams,
        opening,
        open_per_stats,
        rss_before,
        rss_after,
        broadcasts,
        reached,
        received,
        latencies,
        server_cpu,
        client_cpu,
        open_after_close,
        noticing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let (seq, sent) = parse_payload(payload(7).as_bytes()).unwrap();
        assert_eq!(seq, 7);
        assert!(unix_now().saturating_sub(sent) < Duration::from_secs(1));
        assert_eq!(parse_payload(b"ping"), None);
        let padded = format!("{} {}", payload(8), "x".repeat(100));
        assert_eq!(parse_payload(padded.as_bytes()).map(|(seq, _)| seq), Some(8));
    }
}
