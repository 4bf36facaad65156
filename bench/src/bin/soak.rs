//! A soak run: many event streams with pings held open for a long time while clients keep connecting
//! and leaving and broadcasts go out; it watches the server process for leaks and the clients for lost
//! events.
//!
//! `cargo run --release -p sisk-bench --bin soak -- [--short] [--streams N] [--seconds S] [--churn M]
//! [--hold-ms H] [--ping-ms P] [--broadcast-ms B] [--sample-seconds T]`
//!
//! Defaults: 10,000 streams for 600 s, 1,000 clients a second connecting, opening a stream, staying
//! 1 s and leaving, a ping every 5 s on every stream, a broadcast every second, a sample every 30 s.
//! `--short` is a quick check: 2,000 streams for 60 s, 200 clients a second, a sample every 10 s (flags
//! after it still apply).
//!
//! The server is this same binary started again as its own process (`soak <address>`), so that its
//! resident memory, descriptors and CPU time are read from `/proc` apart from the load's. Every stream
//! counts the broadcasts it must see — each one begun after its first event arrived and answered
//! before it chose to leave — and those it did not see are reported as lost. At the end every client
//! leaves, the server's collection must be back to 0, and its CPU is measured at rest.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sisk::prelude::*;
use sisk_bench::client::{EventStreamClient, HttpConnection};
use sisk_bench::contract::announce;
use sisk_bench::driver::servers::ServerProcess;
use sisk_bench::process::raise_fd_limit;
use tokio::task::JoinSet;

/// The environment variable through which the driver gives the server its ping interval.
const PING_VARIABLE: &str = "SISK_SOAK_PING_MS";

/// How long a leaving client waits for the broadcasts it is owed, and a stream for its first event.
const PATIENCE: Duration = Duration::from_secs(10);

/// The settings of a run.
#[derive(Debug, Clone)]
struct Settings {
    streams: usize,
    seconds: u64,
    churn_per_second: u64,
    hold: Duration,
    ping: Duration,
    broadcast_every: Duration,
    sample_every: Duration,
}

impl Settings {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut s = Settings {
            streams: 10_000,
            seconds: 600,
            churn_per_second: 1_000,
            hold: Duration::from_secs(1),
            ping: Duration::from_secs(5),
            broadcast_every: Duration::from_secs(1),
            sample_every: Duration::from_secs(30),
        };
        let mut i = 0;
        while i < args.len() {
            let value = || args.get(i + 1).and_then(|v| v.parse::<u64>().ok()).expect("a number after the flag");
            match args[i].as_str() {
                "--short" => {
                    (s.streams, s.seconds, s.churn_per_second) = (2_000, 60, 200);
                    s.sample_every = Duration::from_secs(10);
                    i += 1;
                    continue;
                }
                "--streams" => s.streams = value() as usize,
                "--seconds" => s.seconds = value(),
                "--churn" => s.churn_per_second = value(),
                "--hold-ms" => s.hold = Duration::from_millis(value()),
                "--ping-ms" => s.ping = Duration::from_millis(value()),
                "--broadcast-ms" => s.broadcast_every = Duration::from_millis(value()),
                "--sample-seconds" => s.sample_every = Duration::from_secs(value()),
                other => panic!("unknown flag `{other}` (see the doc comment of bench/src/bin/soak.rs)"),
            }
            i += 2;
        }
        s
    }
}

fn main() {
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    match std::env::args().nth(1).and_then(|a| a.parse::<SocketAddr>().ok()) {
        Some(addr) => runtime.block_on(serve(addr)),
        None => runtime.block_on(drive(Settings::from_args())),
    }
}

/// The server side: identified streams with pings, a broadcast to all, and the counts.
async fn serve(addr: SocketAddr) {
    let ping = std::env::var(PING_VARIABLE)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis);
    let mut r = Router::new();
    r += Route::get("/sse/<id>", move |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.with_ping(|p| p.start_with("ping", ping));
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::post("/broadcast", |req: HttpRequest| async move {
        let body = req.body_string().await?;
        let published = req.server().event_sources().broadcast(&Event::new().data(body))?;
        Ok::<_, sisk::Error>(published.reached.unwrap_or_default().to_string())
    });
    r += Route::get("/stats", |req: HttpRequest| async move {
        let server = req.server();
        format!(
            "{} {} {}",
            server.event_sources().active_connections(),
            server.open_event_streams(),
            server.open_connections()
        )
    });
    let app = HttpServer::create_builder()
        .use_listening_port(format!("http://{addr}/"))
        .use_configuration(|c| {
            c.maximum_connections = 0;
            c.maximum_event_sources = 0;
        })
        .use_router(r)
        .build()
        .expect("the server builds");
    announce(app.local_addr());
    let _ = app.start().await;
}

/// The end of the run, for every task to see.
#[derive(Debug, Clone, Default)]
struct Stop(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl Stop {
    fn set(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        // A `Notified` hears `notify_waiters` from the moment it is made, so none is missed in between.
        let notified = self.0 .1.notified();
        if !self.is_set() {
            notified.await;
        }
    }
}

/// The broadcasts so far: the last one begun and the last one answered.
#[derive(Debug, Default)]
struct Broadcasts {
    begun: AtomicU64,
    answered: AtomicU64,
}

/// What one stream saw.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    opened: u64,
    failed: u64,
    owed: u64,
    lost: u64,
}

impl std::ops::AddAssign for Outcome {
    fn add_assign(&mut self, o: Outcome) {
        (self.opened, self.failed, self.owed, self.lost) =
            (self.opened + o.opened, self.failed + o.failed, self.owed + o.owed, self.lost + o.lost);
    }
}

/// The sequence number of a broadcast's data (`b<n>`).
fn sequence(data: &[u8]) -> Option<u64> {
    std::str::from_utf8(data.strip_prefix(b"b")?).ok()?.parse().ok()
}

/// One client: opens `/sse/<id>`, reads until `leave` resolves, then reads on until it has every
/// broadcast it is owed (or [`PATIENCE`] passes), and leaves.
async fn watch(
    addr: SocketAddr,
    id: String,
    log: Arc<Broadcasts>,
    leave: impl std::future::Future<Output = ()>,
) -> Outcome {
    let failed = Outcome { failed: 1, ..Outcome::default() };
    let Ok(Ok(mut client)) = tokio::time::timeout(PATIENCE, EventStreamClient::open(addr, &format!("/sse/{id}"))).await
    else {
        return failed;
    };
    match tokio::time::timeout(PATIENCE, client.next_data()).await {
        Ok(Ok(Some(data))) if data == b"open" => {}
        _ => return failed,
    }
    let from = log.begun.load(Ordering::SeqCst) + 1;
    let mut seen = HashSet::new();
    tokio::pin!(leave);
    loop {
        tokio::select! {
            () = &mut leave => break,
            data = client.next_data() => match data {
                Ok(Some(data)) => { seen.extend(sequence(&data)); }
                _ => break,
            },
        }
    }
    let to = log.answered.load(Ordering::SeqCst);
    let owed = |seen: &HashSet<u64>| (from..=to).filter(|n| !seen.contains(n)).count() as u64;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while owed(&seen) > 0 {
        match tokio::time::timeout_at(deadline, client.next_data()).await {
            Ok(Ok(Some(data))) => {
                seen.extend(sequence(&data));
            }
            _ => break,
        }
    }
    Outcome { opened: 1, failed: 0, owed: to.saturating_sub(from - 1), lost: owed(&seen) }
}

/// One sample of the server process.
#[derive(Debug)]
struct Sample {
    at: Duration,
    rss: u64,
    descriptors: usize,
    stats: String,
    cpu_percent: f64,
}

fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

async fn stats(addr: SocketAddr) -> String {
    match HttpConnection::connect(addr).await {
        Ok(mut connection) => {
            connection.request("GET", "/stats", b"").await.map_or_else(|e| e.to_string(), |(_, body)| body)
        }
        Err(e) => e.to_string(),
    }
}

async fn drive(settings: Settings) {
    eprintln!("soak: {settings:?}");
    std::env::set_var(PING_VARIABLE, settings.ping.as_millis().to_string());
    let server =
        ServerProcess::start_binary("soak", &std::env::current_exe().expect("own path")).expect("the server starts");
    let addr = server.addr;
    let log = Arc::new(Broadcasts::default());
    let stop = Stop::default();

    // The steady streams, opened 500 at a time.
    let mut steady = JoinSet::new();
    for i in 0..settings.streams {
        let (log, stop) = (log.clone(), stop.clone());
        steady.spawn(watch(addr, format!("s{i}"), log, async move { stop.wait().await }));
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let started = Instant::now();

    // Broadcasts, one at a time on one connection.
    let broadcaster = {
        let (log, stop, every) = (log.clone(), stop.clone(), settings.broadcast_every);
        tokio::spawn(async move {
            let mut connection = HttpConnection::connect(addr).await.expect("the broadcaster connects");
            let mut tick = tokio::time::interval(every);
            let mut n = 0;
            while !stop.is_set() {
                tick.tick().await;
                n += 1;
                log.begun.store(n, Ordering::SeqCst);
                let (status, _) =
                    connection.request("POST", "/broadcast", format!("b{n}").as_bytes()).await.expect("a broadcast");
                assert_eq!(status, 200);
                log.answered.store(n, Ordering::SeqCst);
            }
            n
        })
    };

    // Churn: every 10 ms, a hundredth of the clients of a second come, stay `hold`, and leave.
    let churn = {
        let (log, stop, settings) = (log.clone(), stop.clone(), settings.clone());
        tokio::spawn(async move {
            let mut clients = JoinSet::new();
            let mut outcome = Outcome::default();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut next = 0u64;
            let mut due = 0.0f64;
            while !stop.is_set() {
                tick.tick().await;
                due += settings.churn_per_second as f64 / 100.0;
                while due >= 1.0 {
                    due -= 1.0;
                    next += 1;
                    let hold = settings.hold;
                    clients.spawn(watch(addr, format!("c{next}"), log.clone(), tokio::time::sleep(hold)));
                }
                while let Some(done) = clients.try_join_next() {
                    outcome += done.unwrap_or_default();
                }
            }
            while let Some(done) = clients.join_next().await {
                outcome += done.unwrap_or_default();
            }
            outcome
        })
    };

    // Samples until the end.
    let mut samples = Vec::new();
    let mut cpu_before = server.cpu().unwrap_or_default();
    let mut sampled_at = Instant::now();
    let end = started + Duration::from_secs(settings.seconds);
    loop {
        let next = (sampled_at + settings.sample_every).min(end);
        tokio::time::sleep_until(next.into()).await;
        let cpu = server.cpu().unwrap_or_default();
        let elapsed = sampled_at.elapsed();
        let sample = Sample {
            at: started.elapsed(),
            rss: server.rss().unwrap_or(0),
            descriptors: descriptors(server.pid()),
            stats: stats(addr).await,
            cpu_percent: (cpu.saturating_sub(cpu_before)).as_secs_f64() / elapsed.as_secs_f64() * 100.0,
        };
        eprintln!("{sample:?}");
        samples.push(sample);
        (cpu_before, sampled_at) = (cpu, Instant::now());
        if Instant::now() >= end {
            break;
        }
    }

    // Everyone leaves.
    stop.set();
    let broadcasts = broadcaster.await.expect("the broadcaster ends");
    let churned = churn.await.expect("the churn ends");
    let mut held = Outcome::default();
    while let Some(done) = steady.join_next().await {
        held += done.unwrap_or_default();
    }
    // `/stats` itself is one connection: "0 0 1" is the server empty but for the asking one.
    let emptied = Instant::now();
    let mut at_end = stats(addr).await;
    while at_end != "0 0 1" && emptied.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        at_end = stats(addr).await;
    }
    let emptied_in = emptied.elapsed();
    let rest_before = server.cpu_after_settling().await.unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rest = server.cpu().unwrap_or_default().saturating_sub(rest_before);

    println!("Soak: {} streams with a ping every {:?}, {} s, {} clients/s connecting and leaving after {:?}, a broadcast every {:?}", settings.streams, settings.ping, settings.seconds, settings.churn_per_second, settings.hold, settings.broadcast_every);
    println!();
    println!("| t (s) | server RSS (MiB) | server descriptors | collection / streams / connections | server CPU (% of one core) |");
    println!("|---|---|---|---|---|");
    for s in &samples {
        println!(
            "| {:.0} | {:.1} | {} | {} | {:.0} |",
            s.at.as_secs_f64(),
            s.rss as f64 / 1048576.0,
            s.descriptors,
            s.stats.replace(' ', " / "),
            s.cpu_percent
        );
    }
    println!();
    println!("| | value |");
    println!("|---|---|");
    println!("| broadcasts sent | {broadcasts} |");
    println!("| steady streams opened / failed to open | {} / {} |", held.opened, held.failed);
    println!("| steady streams: broadcasts owed / lost | {} / {} |", held.owed, held.lost);
    println!("| churn clients opened / failed to open | {} / {} |", churned.opened, churned.failed);
    println!("| churn clients: broadcasts owed / lost | {} / {} |", churned.owed, churned.lost);
    println!("| collection / streams / connections after everyone left | {} (after {:.0} ms; the last connection is the one asking) |", at_end.replace(' ', " / "), emptied_in.as_secs_f64() * 1000.0);
    println!(
        "| server RSS / descriptors at rest | {:.1} MiB / {} |",
        server.rss().unwrap_or(0) as f64 / 1048576.0,
        descriptors(server.pid())
    );
    println!("| server CPU at rest (10 s after the run) | {:.2} % of one core |", rest.as_secs_f64() / 10.0 * 100.0);
}
