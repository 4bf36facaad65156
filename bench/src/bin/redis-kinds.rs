//! `redis-kinds`: what each kind of Redis costs the backplane, measured in one run on one machine — a
//! plain `redis-server`, the same over TLS (a CA made for the run), a master whose appends wait for one
//! replica (`wait_for_replicas(1, …)`, Redis's `WAIT 1`), and a Redis Cluster of three masters with a
//! replica each — and how long a Sentinel failover keeps events from being delivered.
//!
//! For each kind, one sisk server in this process on that Redis, with one open stream:
//! - **appends/s**: 64 tasks call `publish_async` (which returns once Redis has the event, after `WAIT`
//!   when asked) in a loop for 3 s;
//! - **append p50/p99**: 500 `publish_async` one at a time;
//! - **delivered p50/p99**: 200 events one at a time, from the call to the event read on the stream;
//! - **Redis CPU per append**: the CPU time the Redis server spent (its `INFO cpu`, user and system)
//!   during the appends/s phase, divided by the events appended: steadier than appends/s on a shared
//!   machine (for one server; not measured on the cluster).
//!
//! Failover: a master, a replica and a Sentinel; one event every 10 ms; `SENTINEL FAILOVER` is asked, and
//! the time is taken to the first event delivered that is in the new master's stream.
//!
//! Needs `redis-server` and `redis-cli` (Debian's packages). Bounded: about 40 s.
//! `cargo run --release -p sisk-bench --bin redis-kinds`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_cluster::{cli, start_cluster, until};
use sisk_tests::redis_server::RedisServer;
use sisk_tests::tls_files::TlsFiles;
use sisk_tests::{hello_and_streams, TestServer};

const PUBLISHERS: usize = 64;
const THROUGHPUT_FOR: Duration = Duration::from_secs(3);
const APPEND_SAMPLES: usize = 500;
const DELIVERY_SAMPLES: usize = 200;

/// One kind's figures.
struct Row {
    kind: &'static str,
    appends_per_second: f64,
    append: (Duration, Duration),
    delivered: (Duration, Duration),
    redis_cpu_per_append: Option<Duration>,
}

/// The CPU time the Redis server on 127.0.0.1:`port` has used so far, user and system.
fn redis_cpu(port: u16) -> Duration {
    let info = cli(port, &["INFO", "cpu"]);
    let seconds = |name: &str| {
        info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<f64>().ok())
    };
    Duration::from_secs_f64(seconds("used_cpu_user").unwrap_or(0.0) + seconds("used_cpu_sys").unwrap_or(0.0))
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

async fn publish(server: &HttpServer, data: String) -> Result<(), sisk::Error> {
    server.event_sources().publish_async(Audience::All, &Event::new().data(data)).await.map(|_| ())
}

/// Measures one kind on `backplane`, and the CPU of the Redis server on `port` when there is one.
async fn measure(kind: &'static str, backplane: RedisBackplane, port: Option<u16>) -> Row {
    let node =
        TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane));
    let mut reader = EventReader::open(&node.url("/sse/reader"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    // Redis is reachable once an event goes through.
    let deadline = Instant::now() + Duration::from_secs(20);
    while publish(&node.server, "warm".into()).await.is_err() {
        assert!(Instant::now() < deadline, "{kind}: the backplane never took an event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reader.data(1).await, ["warm"]);

    let mut append = Vec::with_capacity(APPEND_SAMPLES);
    for n in 0..APPEND_SAMPLES {
        let started = Instant::now();
        publish(&node.server, format!("a{n}")).await.expect("appended");
        append.push(started.elapsed());
    }
    let _ = reader.data(APPEND_SAMPLES).await;

    let mut delivered = Vec::with_capacity(DELIVERY_SAMPLES);
    for n in 0..DELIVERY_SAMPLES {
        let started = Instant::now();
        publish(&node.server, format!("d{n}")).await.expect("appended");
        let frame = reader.next_data().await;
        delivered.push(started.elapsed());
        assert_eq!(frame.data.as_deref(), Some(format!("d{n}").as_str()), "{kind}: in order");
    }

    let appended = Arc::new(AtomicUsize::new(0));
    let cpu_before = port.map(redis_cpu);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let (server, appended) = (node.server.clone(), appended.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while started.elapsed() < THROUGHPUT_FOR {
                if publish(&server, format!("t{p}-{n}")).await.is_ok() {
                    appended.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        }));
    }
    for task in tasks {
        task.await.expect("a publisher");
    }
    let appended = appended.load(Ordering::Relaxed);
    let appends_per_second = appended as f64 / started.elapsed().as_secs_f64();
    let redis_cpu_per_append = port.zip(cpu_before).map(|(port, before)| {
        redis_cpu(port).saturating_sub(before) / u32::try_from(appended.max(1)).unwrap_or(u32::MAX)
    });
    node.stop().await;
    Row {
        kind,
        appends_per_second,
        append: percentiles(append),
        delivered: percentiles(delivered),
        redis_cpu_per_append,
    }
}

/// Time from asking a Sentinel failover to the first event delivered that the new master has.
async fn failover() -> Duration {
    let master = RedisServer::start().expect("redis-server");
    let replica = RedisServer::start_replica_of(master.port).expect("a replica");
    let sentinel = RedisServer::start_sentinel(&master, "bench", Duration::from_millis(1000)).expect("a Sentinel");
    until("the replica is in sync", Duration::from_secs(20), || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    let backplane = RedisBackplane::sentinel([sentinel.url()], "bench").key_prefix("failover");
    let node =
        TestServer::start_with(HttpServer::create_builder().use_router(hello_and_streams()).use_backplane(backplane));
    let mut reader = EventReader::open(&node.url("/sse/reader"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    let mut asked = Instant::now();
    until("the Sentinel starts a failover", Duration::from_secs(30), || {
        asked = Instant::now();
        cli(sentinel.port, &["SENTINEL", "FAILOVER", "bench"]).starts_with("OK")
    })
    .await;
    let mut n = 0;
    loop {
        assert!(asked.elapsed() < Duration::from_secs(30), "no event delivered after the failover");
        let data = format!("probe {n}");
        n += 1;
        if publish(&node.server, data.clone()).await.is_ok() {
            // Earlier probes (or a stale signal, when the failover lost one) may come first.
            let mut seen = false;
            while let Some(frame) = reader.next_within(Duration::from_secs(2)).await {
                if frame.data.as_deref() == Some(data.as_str()) {
                    seen = true;
                    break;
                }
            }
            let on_new_master = cli(replica.port, &["ROLE"]).starts_with("master")
                && cli(replica.port, &["XRANGE", "{failover}:log", "-", "+"]).contains(&data);
            if seen && on_new_master {
                return asked.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let plain = RedisServer::start().expect("redis-server is installed");
    rows.push(measure("plain", RedisBackplane::new(plain.url()).key_prefix("plain"), Some(plain.port)).await);

    let files = TlsFiles::make();
    let tls = RedisServer::start_tls(&files, false, "bench", "bench-password").expect("redis-server with TLS");
    let over_tls = RedisBackplane::new(tls.tls_url("bench:bench-password"))
        .key_prefix("tls")
        .tls_root_certificate(files.ca.clone());
    rows.push(measure("TLS + ACL user", over_tls, Some(tls.port)).await);

    let master = RedisServer::start().expect("redis-server");
    let replica = RedisServer::start_replica_of(master.port).expect("a replica");
    until("the replica is in sync", Duration::from_secs(20), || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    let waiting = RedisBackplane::new(master.url()).key_prefix("wait").wait_for_replicas(1, Duration::from_secs(1));
    rows.push(measure("WAIT 1 (one replica)", waiting, Some(master.port)).await);
    let not_waiting = RedisBackplane::new(master.url()).key_prefix("nowait");
    rows.push(measure("no WAIT, same master", not_waiting, Some(master.port)).await);

    let cluster = start_cluster().await.expect("a Redis Cluster");
    let entry = format!("redis://127.0.0.1:{}/", cluster[0].port);
    rows.push(
        measure("Redis Cluster (3 masters + 3 replicas)", RedisBackplane::cluster([entry]).key_prefix("cluster"), None)
            .await,
    );
    drop(cluster);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "redis-kinds, {PUBLISHERS} publishers for {THROUGHPUT_FOR:?}; load average {}",
        load.split(' ').next().unwrap_or("?")
    );
    println!("| Redis | appends/s | append p50 | append p99 | delivered p50 | delivered p99 | Redis CPU per append |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    for row in &rows {
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} |",
            row.kind,
            row.appends_per_second,
            ms(row.append.0),
            ms(row.append.1),
            ms(row.delivered.0),
            ms(row.delivered.1),
            row.redis_cpu_per_append.map_or("—".to_owned(), |cpu| format!("{:.1} µs", cpu.as_secs_f64() * 1e6))
        );
    }
    let took = failover().await;
    println!("\nSentinel failover asked → first event delivered from the new master: {}", ms(took));
}
