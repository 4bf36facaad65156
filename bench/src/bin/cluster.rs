//! The event log on the Redis Streams backplane under load: three `cluster-node` processes on one
//! `redis-server`, measured against one `cluster-node` on the in-memory log, in one run.
//!
//! `cargo build --release -p sisk-tests --bin cluster-node && cargo run --release -p sisk-bench --bin
//! cluster -- [--streams N] [--rates R1,R2,…] [--step-seconds S] [--publishers P] [--broadcasts B]
//! [--event-bytes E] [--replays K] [--node PATH]`
//!
//! Defaults: 3,000 streams (spread evenly over the nodes), rates 5,000 to 60,000 events/s, 3 s a step,
//! 384 publishing connections (spread over the nodes: each `POST` waits for its event's id, so this
//! is what can be in flight), 20 broadcasts per latency row, 200-byte events,
//! 5 replays; the node is `cluster-node` beside this binary (`target/release`).
//!
//! The benchmark starts `redis-server` on a free port of 127.0.0.1 (`--save "" --appendonly no`), the
//! nodes as processes of their own (`SISK_LISTENING_PORT=http://127.0.0.1:0/`, `REDIS_URL` for the three
//! cluster nodes, none for the in-memory one), and stops each by its pid at the end. A third log, one node
//! on a `redis-server` of its own, runs only the latency rows and the replays: it separates what the
//! backplane's hop costs from what three processes sharing the cores cost. For each log:
//!
//! 1. **Publishing ramp**: every node has one stream `t<n>` and its share of the N streams `f<j>`.
//!    Publishers `POST /broadcast?prefix=t` (each event reaches one stream per node) to the nodes in
//!    turn, paced at a target rate that grows step by step until a step is not sustained: fewer than
//!    95 % of the target published, an event lost, duplicated or refused, or a lag that grows (the
//!    median latency of the step's last quarter of deliveries above 50 ms). Each event carries its
//!    send time (the fan-out driver's payload, padded); Redis CPU per event is the Redis process's CPU
//!    time over the step (`/proc/<pid>/task/*/schedstat`, user and system) ÷ events published.
//! 2. **Latency**: events sent one at a time (the next once every client has the previous one), first to
//!    one stream per node, then to all N streams, as the fan-out driver does.
//! 3. **Replay**: a client `r` receives 1,000 events sent to it (`POST /send/r`), leaves, and reconnects
//!    — to another node, on the cluster — with the `Last-Event-ID` of the event just before them; the
//!    time from its request to the 1,000th replayed event.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sisk_bench::client::{EventStreamClient, HttpConnection};
use sisk_bench::driver::fanout::{open_all, parse_payload, payload, typical};
use sisk_bench::driver::servers::ServerProcess;
use sisk_bench::process::{cpu_time, machine_ticks, raise_fd_limit};
use sisk_bench::redis::{CommandStat, RedisProcess};
use sisk_bench::{ms, percentile};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Nodes on the shared log.
const CLUSTER_NODES: usize = 3;
/// Events a reconnecting client is sent again (the event log's default `replay_limit`).
const REPLAY_EVENTS: usize = 1_000;
/// The longest opening the streams, or waiting for the nodes to count them, may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest the events of a step, one event, or one replay may take to arrive.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A step whose last quarter of deliveries has a median latency above this has a growing lag.
const LAG_LIMIT: Duration = Duration::from_millis(50);
/// The share of its target rate a step must publish to be sustained.
const KEEP_UP: f64 = 0.95;

/// The settings of a run.
#[derive(Debug, Clone)]
struct Settings {
    streams: usize,
    rates: Vec<u64>,
    step: Duration,
    publishers: usize,
    broadcasts: usize,
    event_bytes: usize,
    replays: usize,
    node: PathBuf,
}

impl Settings {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let own_directory = std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from));
        let mut s = Settings {
            streams: 3_000,
            rates: vec![5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000],
            step: Duration::from_secs(3),
            publishers: 384,
            broadcasts: 20,
            event_bytes: 200,
            replays: 5,
            node: own_directory.unwrap_or_default().join("cluster-node"),
        };
        for pair in args.chunks(2) {
            let value = pair.get(1).map(String::as_str).unwrap_or_else(|| panic!("a value after `{}`", pair[0]));
            let number = || value.parse::<usize>().unwrap_or_else(|_| panic!("`{value}` is not a number"));
            match pair[0].as_str() {
                "--streams" => s.streams = number(),
                "--rates" => {
                    s.rates = value.split(',').map(|r| r.trim().parse().expect("rates like 5000,10000")).collect()
                }
                "--step-seconds" => s.step = Duration::from_secs(number() as u64),
                "--publishers" => s.publishers = number().max(1),
                "--broadcasts" => s.broadcasts = number().max(1),
                "--event-bytes" => s.event_bytes = number(),
                "--replays" => s.replays = number().max(1),
                "--node" => s.node = PathBuf::from(value),
                other => panic!("unknown flag `{other}` (see the doc comment of bench/src/bin/cluster.rs)"),
            }
        }
        s
    }

    /// How many sequence numbers one log's measurements use at most.
    fn sequence_numbers(&self) -> usize {
        let ramp: f64 = self.rates.iter().map(|&r| r as f64 * self.step.as_secs_f64()).sum();
        ramp as usize + self.rates.len() + 2 * self.broadcasts + REPLAY_EVENTS + 16
    }
}

/// The body of event `seq`: the fan-out driver's payload (`"<seq> <send time>"`), padded with `x` to
/// `bytes`.
fn event_body(seq: usize, bytes: usize) -> String {
    let mut body = payload(seq);
    if body.len() + 1 < bytes {
        body.push(' ');
        body.push_str(&"x".repeat(bytes - body.len()));
    }
    body
}

/// What the readers of every stream have received, by sequence number.
#[derive(Debug)]
struct Tally {
    counts: Vec<AtomicU32>,
    /// Every delivery in the order it arrived: its sequence number and latency.
    deliveries: Mutex<Vec<(usize, Duration)>>,
    received: AtomicUsize,
    changed: Notify,
}

impl Tally {
    fn new(sequence_numbers: usize) -> Arc<Self> {
        Arc::new(Tally {
            counts: (0..sequence_numbers).map(|_| AtomicU32::new(0)).collect(),
            deliveries: Mutex::new(Vec::new()),
            received: AtomicUsize::new(0),
            changed: Notify::new(),
        })
    }

    fn record(&self, data: &[u8]) {
        let Some((seq, sent)) = parse_payload(data) else { return };
        let Some(count) = self.counts.get(seq) else { return };
        let latency = sisk_bench::driver::fanout::unix_now().saturating_sub(sent);
        count.fetch_add(1, Ordering::Relaxed);
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).push((seq, latency));
        self.received.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_one();
    }

    fn count(&self, seq: usize) -> usize {
        self.counts.get(seq).map_or(0, |c| c.load(Ordering::Relaxed) as usize)
    }

    fn deliveries_so_far(&self) -> usize {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The deliveries after the first `from`, in the order they arrived, of the sequence numbers in `seqs`.
    fn deliveries_since(&self, from: usize, seqs: std::ops::Range<usize>) -> Vec<(usize, Duration)> {
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        deliveries.get(from..).unwrap_or_default().iter().filter(|(seq, _)| seqs.contains(seq)).copied().collect()
    }

    /// Waits until `done` holds, at most [`DELIVERY_TIMEOUT`]; false when it did not.
    async fn wait_until(&self, done: impl Fn(&Tally) -> bool) -> bool {
        let waiting = async {
            while !done(self) {
                self.changed.notified().await;
            }
        };
        tokio::time::timeout(DELIVERY_TIMEOUT, waiting).await.is_ok()
    }
}

async fn read_into(mut client: EventStreamClient, tally: Arc<Tally>) {
    while let Ok(Some(data)) = client.next_data().await {
        tally.record(&data);
    }
}

/// One log's processes: its nodes and, for the cluster, its Redis.
#[derive(Debug)]
struct Log {
    label: &'static str,
    nodes: Vec<ServerProcess>,
    redis: Option<RedisProcess>,
}

impl Log {
    fn start(
        label: &'static str,
        binary: &std::path::Path,
        nodes: usize,
        redis: Option<RedisProcess>,
    ) -> io::Result<Self> {
        let started = (0..nodes)
            .map(|_| {
                let mut command = Command::new(binary);
                command.env("SISK_LISTENING_PORT", "http://127.0.0.1:0/").env("NO_COLOR", "1").env_remove("REDIS_URL");
                if let Some(redis) = &redis {
                    command.env("REDIS_URL", redis.url());
                }
                ServerProcess::start_command("cluster-node", command)
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Log { label, nodes: started, redis })
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    /// CPU time so far of Redis (zero without it), of the nodes together, and of this driver.
    fn cpu(&self) -> io::Result<(Duration, Duration, Duration)> {
        let redis = self.redis.as_ref().map_or(Ok(Duration::ZERO), RedisProcess::cpu)?;
        let mut nodes = Duration::ZERO;
        for node in &self.nodes {
            nodes += node.cpu()?;
        }
        Ok((redis, nodes, cpu_time(std::process::id())?))
    }
}

/// Publishes on every node until each accepts (a node that just started may not have reached Redis yet).
async fn wait_until_publishing(addrs: &[SocketAddr]) -> io::Result<()> {
    for &addr in addrs {
        let mut connection = HttpConnection::connect(addr).await?;
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            let (status, body) = connection.request("POST", "/broadcast?prefix=nobody", b"warm-up").await?;
            if status == 200 {
                break;
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("{addr} does not publish: {status} {body}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Waits until each node's `/stats` counts `local[i]` streams, and the first node's cluster view counts
/// them all.
async fn wait_for_counts(addrs: &[SocketAddr], local: &[usize]) -> io::Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let total: usize = local.iter().sum();
    for (i, &addr) in addrs.iter().enumerate() {
        let mut connection = HttpConnection::connect(addr).await?;
        loop {
            let (_, body) = connection.request("GET", "/stats", b"").await?;
            let stats: serde_json::Value = serde_json::from_str(&body).map_err(io::Error::other)?;
            let count = |field: &str| stats[field].as_u64().unwrap_or(0) as usize;
            if count("local") == local[i] && (i > 0 || count("cluster") == total) {
                break;
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("{addr} counts {body}, not {} of {total}", local[i])));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// What one step of the ramp measured.
#[derive(Debug)]
struct Step {
    target: u64,
    published: usize,
    refused: usize,
    first_refusal: Option<String>,
    /// From the first event due to the last answer.
    publishing: Duration,
    lost: usize,
    duplicated: usize,
    p50: Duration,
    p99: Duration,
    late_p50: Duration,
    /// CPU time over the step, delivery included: Redis, the nodes together, this driver.
    redis_cpu: Duration,
    nodes_cpu: Duration,
    driver_cpu: Duration,
    /// From the first event due until every event arrived (or the wait gave up).
    wall: Duration,
    /// How busy the machine's cores were over the step, with any process (0–100 %).
    machine_busy: f64,
    commands: Vec<CommandStat>,
}

impl Step {
    fn rate(&self) -> f64 {
        self.published as f64 / self.publishing.as_secs_f64().max(f64::EPSILON)
    }

    fn sustained(&self) -> bool {
        self.rate() >= KEEP_UP * self.target as f64
            && self.lost == 0
            && self.duplicated == 0
            && self.refused == 0
            && self.late_p50 <= LAG_LIMIT
    }

    fn redis_per_event(&self) -> Duration {
        self.redis_cpu.div_f64(self.published.max(1) as f64)
    }

    fn share(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() / self.wall.as_secs_f64().max(f64::EPSILON) * 100.0
    }
}

/// What the publishers of a step did.
#[derive(Debug, Default)]
struct Publishing {
    published: usize,
    refused: Vec<usize>,
    first_refusal: Option<String>,
}

/// Sends `total` events from `first_seq` on, event `k` due at `k / rate` s, over `connections` (each
/// bound to one node, the nodes in turn); stops taking new events after twice the step's time.
async fn publish_paced(
    connections: Vec<HttpConnection>,
    path: &'static str,
    rate: u64,
    total: usize,
    first_seq: usize,
    bytes: usize,
) -> io::Result<(Vec<HttpConnection>, Publishing)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let give_up = started + Duration::from_secs_f64(2.0 * total as f64 / rate as f64);
    let mut publishers = JoinSet::new();
    for (order, mut connection) in connections.into_iter().enumerate() {
        let next = next.clone();
        publishers.spawn(async move {
            let mut done = Publishing::default();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total || tokio::time::Instant::now() >= give_up {
                    break;
                }
                tokio::time::sleep_until(started + Duration::from_secs_f64(k as f64 / rate as f64)).await;
                let seq = first_seq + k;
                let request = HttpConnection::format_request("POST", path, event_body(seq, bytes).as_bytes());
                let response = connection.exchange(&request).await?;
                if response.status == 200 {
                    done.published += 1;
                } else {
                    done.refused.push(seq);
                    let reason = String::from_utf8_lossy(response.body);
                    done.first_refusal.get_or_insert_with(|| format!("{} {reason}", response.status));
                }
            }
            Ok::<_, io::Error>((order, connection, done))
        });
    }
    let mut returned = Vec::new();
    let mut all = Publishing::default();
    while let Some(joined) = publishers.join_next().await {
        let (order, connection, done) = joined.map_err(io::Error::other)??;
        returned.push((order, connection));
        all.published += done.published;
        all.refused.extend(done.refused);
        all.first_refusal = all.first_refusal.or(done.first_refusal);
    }
    returned.sort_by_key(|(order, _)| *order);
    Ok((returned.into_iter().map(|(_, c)| c).collect(), all))
}

/// One step of the ramp at `rate` events/s, to the `audience` streams whose identifier starts with `t`.
async fn ramp_step(
    log: &Log,
    tally: &Tally,
    publishers: &mut Vec<HttpConnection>,
    rate: u64,
    first_seq: usize,
    settings: &Settings,
) -> io::Result<Step> {
    let audience = log.nodes.len();
    let total = (rate as f64 * settings.step.as_secs_f64()) as usize;
    if let Some(redis) = &log.redis {
        redis.reset_stats()?;
    }
    let (redis_before, nodes_before, driver_before) = log.cpu()?;
    let machine_before = machine_ticks()?;
    let from = tally.deliveries_so_far();
    let received_before = tally.received.load(Ordering::Relaxed);
    let started = Instant::now();
    let connections = std::mem::take(publishers);
    let (connections, publishing) =
        publish_paced(connections, "/broadcast?prefix=t", rate, total, first_seq, settings.event_bytes).await?;
    *publishers = connections;
    let publishing_time = started.elapsed();
    let refused: HashSet<usize> = publishing.refused.iter().copied().collect();
    let seqs = first_seq..first_seq + total;
    let owed = received_before + publishing.published * audience;
    tally.wait_until(|tally| tally.received.load(Ordering::Relaxed) >= owed).await;
    let wall = started.elapsed();
    let machine_after = machine_ticks()?;
    let machine_busy =
        (machine_after.0 - machine_before.0) as f64 / (machine_after.1 - machine_before.1).max(1) as f64 * 100.0;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (redis_after, nodes_after, driver_after) = log.cpu()?;
    let commands = match &log.redis {
        Some(redis) => redis.command_stats()?,
        None => Vec::new(),
    };

    let (mut lost, mut duplicated) = (0, 0);
    for seq in seqs.clone().filter(|s| !refused.contains(s)) {
        let count = tally.count(seq);
        lost += audience.saturating_sub(count);
        duplicated += count.saturating_sub(audience);
    }
    let deliveries = tally.deliveries_since(from, seqs);
    let mut late: Vec<Duration> = deliveries[deliveries.len() * 3 / 4..].iter().map(|(_, l)| *l).collect();
    late.sort_unstable();
    let mut all: Vec<Duration> = deliveries.iter().map(|(_, l)| *l).collect();
    all.sort_unstable();
    Ok(Step {
        target: rate,
        published: publishing.published,
        refused: publishing.refused.len(),
        first_refusal: publishing.first_refusal,
        publishing: publishing_time,
        lost,
        duplicated,
        p50: percentile(&all, 50.0),
        p99: percentile(&all, 99.0),
        late_p50: percentile(&late, 50.0),
        redis_cpu: redis_after.saturating_sub(redis_before),
        nodes_cpu: nodes_after.saturating_sub(nodes_before),
        driver_cpu: driver_after.saturating_sub(driver_before),
        wall,
        machine_busy,
        commands,
    })
}

/// Latencies of events sent one at a time.
#[derive(Debug)]
struct Latency {
    audience: usize,
    /// CPU time the nodes together used over the row.
    nodes_cpu: Duration,
    /// Per event, the sorted latencies of its deliveries.
    latencies: Vec<Vec<Duration>>,
    lost: usize,
}

/// Sends `count` events from `first_seq` on to `path`, to the nodes in turn, each once every stream of
/// `audience` has the previous one.
async fn one_at_a_time(
    log: &Log,
    tally: &Tally,
    path: &str,
    audience: usize,
    count: usize,
    first_seq: usize,
    bytes: usize,
) -> io::Result<Latency> {
    let addrs = log.addrs();
    let mut connections = Vec::new();
    for &addr in &addrs {
        connections.push(HttpConnection::connect(addr).await?);
    }
    let (_, nodes_before, _) = log.cpu()?;
    let mut latencies = Vec::with_capacity(count);
    let mut lost = 0;
    for k in 0..count {
        let seq = first_seq + k;
        let from = tally.deliveries_so_far();
        let connection = &mut connections[k % addrs.len()];
        let (status, body) = connection.request("POST", path, event_body(seq, bytes).as_bytes()).await?;
        if status != 200 {
            return Err(io::Error::other(format!("POST {path} answered {status} {body}")));
        }
        tally.wait_until(|tally| tally.count(seq) >= audience).await;
        lost += audience.saturating_sub(tally.count(seq));
        let mut these: Vec<Duration> = tally.deliveries_since(from, seq..seq + 1).iter().map(|(_, l)| *l).collect();
        these.sort_unstable();
        latencies.push(these);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, nodes_after, _) = log.cpu()?;
    Ok(Latency { audience, nodes_cpu: nodes_after.saturating_sub(nodes_before), latencies, lost })
}

/// The replays of one log.
#[derive(Debug)]
struct Replay {
    /// From each reconnection's request to its 1,000th replayed event (or to the give-up).
    times: Vec<Duration>,
    /// Events replayed per reconnection.
    replayed: Vec<usize>,
    /// The data of anything else that came first (a stale signal), if anything did.
    other: Option<String>,
}

/// Reads `stream` until it has `events` events of `seqs`; returns how many came, and the data of
/// anything else that came first.
async fn read_events(
    stream: &mut EventStreamClient,
    events: usize,
    seqs: std::ops::Range<usize>,
) -> (usize, Option<String>) {
    let mut got = 0;
    let reading = async {
        while got < events {
            match stream.next_data().await {
                Ok(Some(data)) => match parse_payload(&data) {
                    Some((seq, _)) if seqs.contains(&seq) => got += 1,
                    _ => return Some(String::from_utf8_lossy(&data).into_owned()),
                },
                _ => return Some("the stream ended".to_owned()),
            }
        }
        None
    };
    let other = tokio::time::timeout(DELIVERY_TIMEOUT, reading).await.unwrap_or(Some("timed out".to_owned()));
    (got, other)
}

/// A client `r` on the first node receives [`REPLAY_EVENTS`] events sent to it through the last node,
/// leaves, and reconnects `replays` times to the second node (the first, on one node) with the id of
/// the event before them as its `Last-Event-ID`.
async fn replay(addrs: &[SocketAddr], first_seq: usize, settings: &Settings) -> io::Result<Replay> {
    let (live_at, resume_at, publish_at) = (addrs[0], addrs[1 % addrs.len()], addrs[addrs.len() - 1]);
    let mut live = EventStreamClient::open(live_at, "/sse/r").await?;
    let mut control = HttpConnection::connect(publish_at).await?;
    let (status, cursor) = control.request("POST", "/send/r", b"before").await?;
    if status != 200 {
        return Err(io::Error::other(format!("POST /send/r answered {status} {cursor}")));
    }
    let seqs = first_seq..first_seq + REPLAY_EVENTS;
    for seq in seqs.clone() {
        let (status, body) =
            control.request("POST", "/send/r", event_body(seq, settings.event_bytes).as_bytes()).await?;
        if status != 200 {
            return Err(io::Error::other(format!("POST /send/r answered {status} {body}")));
        }
    }
    // Skip the `before` event: it is the cursor, so the replay does not repeat it.
    let _ = tokio::time::timeout(DELIVERY_TIMEOUT, live.next_data()).await;
    let (live_got, other) = read_events(&mut live, REPLAY_EVENTS, seqs.clone()).await;
    if live_got < REPLAY_EVENTS {
        return Err(io::Error::other(format!("the live client got {live_got} events, then {other:?}")));
    }
    drop(live);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut result = Replay { times: Vec::new(), replayed: Vec::new(), other: None };
    for _ in 0..settings.replays {
        let started = Instant::now();
        let headers = [("Last-Event-ID", cursor.trim())];
        let mut stream = EventStreamClient::open_with_headers(resume_at, "/sse/r", &headers).await?;
        let (got, other) = read_events(&mut stream, REPLAY_EVENTS, seqs.clone()).await;
        result.times.push(started.elapsed());
        result.replayed.push(got);
        result.other = result.other.or(other);
        drop(stream);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(result)
}

/// Everything measured on one log.
#[derive(Debug)]
struct Measured {
    label: &'static str,
    nodes: usize,
    redis: bool,
    opening: Duration,
    ramp: Vec<Step>,
    one_per_node: Latency,
    everyone: Latency,
    replay: Replay,
}

impl Measured {
    /// The fastest sustained step.
    fn best(&self) -> Option<&Step> {
        self.ramp.iter().filter(|s| s.sustained()).max_by(|a, b| a.rate().total_cmp(&b.rate()))
    }
}

/// Measures one log: the ramp (unless `ramp` is false), the latency rows and the replays.
async fn measure(log: &Log, settings: &Settings, ramp: bool) -> io::Result<Measured> {
    let addrs = log.addrs();
    let nodes = addrs.len();
    wait_until_publishing(&addrs).await?;

    let mut targets: Vec<(SocketAddr, String)> = (0..nodes).map(|n| (addrs[n], format!("/sse/t{n}"))).collect();
    targets.extend((0..settings.streams).map(|j| (addrs[j % nodes], format!("/sse/f{j}"))));
    let local: Vec<usize> = addrs.iter().map(|a| targets.iter().filter(|(t, _)| t == a).count()).collect();
    let started = Instant::now();
    let clients = tokio::time::timeout(STEP_TIMEOUT, open_all(&targets))
        .await
        .map_err(|_| io::Error::other(format!("{} streams did not open within {STEP_TIMEOUT:?}", targets.len())))??;
    let opening = started.elapsed();
    wait_for_counts(&addrs, &local).await?;
    eprintln!("{}: {} streams open in {:.1} s", log.label, targets.len(), opening.as_secs_f64());

    let tally = Tally::new(settings.sequence_numbers());
    let mut readers = JoinSet::new();
    for client in clients {
        readers.spawn(read_into(client, tally.clone()));
    }
    let mut publishers = Vec::new();
    for c in 0..settings.publishers {
        publishers.push(HttpConnection::connect(addrs[c % nodes]).await?);
    }

    let mut seq = 0;
    let mut steps = Vec::new();
    for &rate in settings.rates.iter().filter(|_| ramp) {
        let step = ramp_step(log, &tally, &mut publishers, rate, seq, settings).await?;
        seq += (rate as f64 * settings.step.as_secs_f64()) as usize;
        eprintln!(
            "{}: target {rate}/s: published {:.0}/s, lost {}, refused {}, p50 {}, p99 {}, late p50 {}",
            log.label,
            step.rate(),
            step.lost,
            step.refused,
            ms(step.p50),
            ms(step.p99),
            ms(step.late_p50)
        );
        let sustained = step.sustained();
        steps.push(step);
        if !sustained {
            break;
        }
    }
    drop(publishers);
    // Let a backlog of the last step drain before the latency rows.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let bytes = settings.event_bytes;
    let one_per_node =
        one_at_a_time(log, &tally, "/broadcast?prefix=t", nodes, settings.broadcasts, seq, bytes).await?;
    seq += settings.broadcasts;
    let streams = settings.streams;
    let everyone = one_at_a_time(log, &tally, "/broadcast?prefix=f", streams, settings.broadcasts, seq, bytes).await?;
    seq += settings.broadcasts;
    let replay = replay(&addrs, seq, settings).await?;

    readers.abort_all();
    while readers.join_next().await.is_some() {}
    let redis = log.redis.is_some();
    Ok(Measured { label: log.label, nodes, redis, opening, ramp: steps, one_per_node, everyone, replay })
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn shell(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn report(settings: &Settings, redis_version: &str, measured: &[Measured]) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_default();
    println!("## Cluster: `cluster-node` on one redis-server (three nodes, and one) and on the in-memory log");
    println!();
    println!(
        "Run on {} (UTC), {cores} cores ({model}), shared with other work; redis-server {redis_version}. {} streams \
         spread evenly over the nodes, {}-byte events, steps of {} s, {} publishing connections, {} events per \
         latency row, {} replays.",
        shell("date", &["-u", "+%Y-%m-%d %H:%M"]),
        thousands(settings.streams as f64),
        settings.event_bytes,
        settings.step.as_secs(),
        settings.publishers,
        settings.broadcasts,
        settings.replays,
    );
    println!();
    println!("### 1. Publishing ramp: each event to one stream per node (`POST /broadcast?prefix=t`)");
    println!();
    println!("| log | target (events/s) | published (events/s) | lost | refused | latency p50 | p99 | p50, last quarter | Redis CPU per event | nodes' CPU per event | Redis (% of a core) | nodes (% of a core) | driver (% of a core) | machine busy | sustained |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in measured {
        for s in &m.ramp {
            let redis = |v: String| if m.redis { v } else { "–".to_owned() };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} % | {} |",
                m.label,
                thousands(s.target as f64),
                thousands(s.rate()),
                s.lost + s.duplicated,
                s.refused,
                ms(s.p50),
                ms(s.p99),
                ms(s.late_p50),
                redis(micros(s.redis_per_event())),
                micros(s.nodes_cpu.div_f64(s.published.max(1) as f64)),
                redis(format!("{:.0}", s.share(s.redis_cpu))),
                s.share(s.nodes_cpu),
                s.share(s.driver_cpu),
                s.machine_busy,
                if s.sustained() { "yes" } else { "**no**" },
            );
        }
    }
    println!();
    for m in measured.iter().filter(|m| !m.ramp.is_empty()) {
        let opened = format!(
            "{} streams opened in {:.1} s",
            thousands((settings.streams + m.nodes) as f64),
            m.opening.as_secs_f64()
        );
        match m.best() {
            Some(best) => {
                println!("- {}: {opened}; sustained **{} events/s** published.", m.label, thousands(best.rate()))
            }
            None => println!("- {}: {opened}; no step was sustained.", m.label),
        }
        if let Some(refusal) = m.ramp.iter().find_map(|s| s.first_refusal.as_ref()) {
            println!("  First refusal: `{}`.", refusal.trim());
        }
    }
    println!();
    println!("### 2. Publish-to-client latency, events sent one at a time");
    println!();
    println!("| log | audience | p50 | p99 | worst | lost | nodes' CPU per delivery |");
    println!("|---|---|---|---|---|---|---|");
    for (row, pick) in [("one stream per node", 0), ("all streams", 1)] {
        for m in measured {
            let l = if pick == 0 { &m.one_per_node } else { &m.everyone };
            let worst = l.latencies.iter().filter_map(|l| l.last()).max().copied().unwrap_or_default();
            let delivered = l.latencies.iter().map(Vec::len).sum::<usize>().max(1);
            println!(
                "| {} | {row} ({}) | {} | {} | {} | {} | {} |",
                m.label,
                thousands(l.audience as f64),
                ms(typical(&l.latencies, 50.0)),
                ms(typical(&l.latencies, 99.0)),
                ms(worst),
                l.lost,
                micros(l.nodes_cpu.div_f64(delivered as f64)),
            );
        }
    }
    if let Some(memory) = measured.iter().find(|m| !m.redis) {
        println!();
        for redis in measured.iter().filter(|m| m.redis) {
            for (row, r, m) in [
                ("one stream per node", &redis.one_per_node, &memory.one_per_node),
                ("all streams", &redis.everyone, &memory.everyone),
            ] {
                let (rp, mp) = (typical(&r.latencies, 50.0), typical(&m.latencies, 50.0));
                println!(
                    "- p50 {} − p50 in-memory, {row}: {:+.2} ms (goal: at most +1 ms); ratio {:.2}.",
                    redis.label,
                    (rp.as_secs_f64() - mp.as_secs_f64()) * 1e3,
                    rp.as_secs_f64() / mp.as_secs_f64().max(f64::EPSILON)
                );
            }
        }
    }
    println!();
    println!("### 3. Replay of {} events on reconnect (`Last-Event-ID`)", thousands(REPLAY_EVENTS as f64));
    println!();
    println!("| log | reconnects to | median | max | events replayed | anything else first |");
    println!("|---|---|---|---|---|---|");
    for m in measured {
        let mut times = m.replay.times.clone();
        times.sort_unstable();
        let replayed = m.replay.replayed.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
        println!(
            "| {} | {} | {} | {} | {replayed} | {} |",
            m.label,
            if m.nodes > 1 { "another node" } else { "the same node" },
            ms(percentile(&times, 50.0)),
            ms(times.last().copied().unwrap_or_default()),
            m.replay.other.as_deref().map_or("nothing".to_owned(), |o| format!("`{o}`"))
        );
    }
    if let Some(cluster) = measured.iter().find(|m| m.redis && !m.ramp.is_empty()) {
        ceiling(cluster, measured.iter().find(|m| !m.redis), settings);
    }
}

/// Where the cluster's ceiling is, from what its ramp measured (and the in-memory node's, for comparison).
fn ceiling(cluster: &Measured, memory: Option<&Measured>, settings: &Settings) {
    let Some(step) = cluster.best().or(cluster.ramp.last()) else { return };
    let per_event = step.redis_per_event();
    let events = step.published.max(1) as f64;
    println!();
    println!("### Redis commands per event at {} events/s published", thousands(step.rate()));
    println!();
    println!("| command | calls per event | µs of Redis per event |");
    println!("|---|---|---|");
    for c in step.commands.iter().filter(|c| c.usec > 0).take(6) {
        println!("| `{}` | {:.3} | {:.2} |", c.name, c.calls as f64 / events, c.usec as f64 / events);
    }
    println!();
    println!("(A command a script runs is counted on its own line too, and its time is also in the script's.)");
    println!();
    println!("### Where the ceiling is");
    println!();
    let saturation = 1.0 / per_event.as_secs_f64().max(f64::EPSILON);
    println!(
        "- One app is one Redis stream, and one stream lives on one Redis core: every append and every read of \
         it runs on Redis's single command thread. At {} events/s Redis spent {} of CPU per event (the \
         `/proc` figure: commands, networking, event loop), {:.0} % of its core, so that thread alone would \
         saturate near **{} events/s**, {:.1} × this step.",
        thousands(step.rate()),
        micros(per_event),
        step.share(step.redis_cpu),
        thousands(saturation),
        saturation / step.rate().max(1.0)
    );
    let nodes_per_event = |s: &Step| s.nodes_cpu.div_f64(s.published.max(1) as f64);
    let memory_step = memory.and_then(|m| m.best().or(m.ramp.last()));
    if let Some(failed) = cluster.ramp.last().filter(|s| !s.sustained()) {
        println!(
            "- The first step not sustained ({} events/s) published {} events/s ({:.0} %), lost {}, refused {}, \
             median latency of its last quarter {}. The cores were {:.0} % busy (any process); Redis took \
             {:.0} % of a core, the {} nodes {:.0} %, the load generator {:.0} %.",
            thousands(failed.target as f64),
            thousands(failed.rate()),
            failed.rate() / failed.target as f64 * 100.0,
            failed.lost + failed.duplicated,
            failed.refused,
            ms(failed.late_p50),
            failed.machine_busy,
            failed.share(failed.redis_cpu),
            cluster.nodes,
            failed.share(failed.nodes_cpu),
            failed.share(failed.driver_cpu),
        );
    }
    if let Some(memory_step) = memory_step {
        println!(
            "- The nodes cost more than Redis: {} of node CPU per event on the cluster (three nodes each read \
             and fan out every event) against {} on the in-memory node, and {} of Redis. On these 2 shared cores \
             the nodes run out first; Redis has room left.",
            micros(nodes_per_event(step)),
            micros(nodes_per_event(memory_step)),
            micros(per_event)
        );
    }
    println!(
        "- Each node appends through one connection, up to 256 entries per pipelined batch; a `POST` waits for \
         its entry's id, so a batch holds at most the requests in flight on that node ({} here, {} per node) \
         — fewer publishing connections cap the rate by latency long before any CPU does.",
        settings.publishers,
        settings.publishers / cluster.nodes
    );
    println!(
        "- What would lift it: more streams, so more Redis cores — shard the log by audience or by app (one \
         `key_prefix` each), and on Redis Cluster give each shard its own hash tag so the streams land on \
         different masters. Every node reads every entry of every stream it follows (one `XREAD` per batch per \
         node), so nodes that follow only the shards their own clients need also cut the nodes' share, which \
         is the larger one here."
    );
}

fn main() {
    raise_fd_limit();
    let settings = Settings::from_args();
    eprintln!("cluster: {settings:?}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let result = runtime.block_on(async {
        let redis = RedisProcess::start()?;
        let version = redis
            .command(&["INFO", "server"])?
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:").map(str::to_owned))
            .unwrap_or_default();
        let mut measured = Vec::new();
        {
            let cluster = Log::start("Redis, 3 nodes", &settings.node, CLUSTER_NODES, Some(redis))?;
            measured.push(measure(&cluster, &settings, true).await?);
        }
        {
            // The backplane's own cost, without three processes sharing the cores: latency rows only.
            let single = Log::start("Redis, 1 node", &settings.node, 1, Some(RedisProcess::start()?))?;
            measured.push(measure(&single, &settings, false).await?);
        }
        {
            let memory = Log::start("in-memory, 1 node", &settings.node, 1, None)?;
            measured.push(measure(&memory, &settings, true).await?);
        }
        Ok::<_, io::Error>((version, measured))
    });
    match result {
        Ok((version, measured)) => report(&settings, &version, &measured),
        Err(err) => {
            eprintln!("cluster: {err}");
            std::process::exit(1);
        }
    }
}
