//! Throughput and latency of `GET /hello`: a fixed number of keep-alive connections, each sending its
//! next request as soon as the previous response is read (as `wrk` does), for a fixed time.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::client::HttpConnection;
use crate::contract::HELLO;
use crate::driver::servers::ServerProcess;
use crate::process::cpu_time;

/// What one or more runs against one server measured.
#[derive(Debug, Default, Clone)]
pub struct HelloResult {
    /// Responses that were `200 Hello, world!`.
    pub requests: u64,
    /// Responses that were anything else, and connections that failed.
    pub errors: u64,
    /// Time spent sending load.
    pub elapsed: Duration,
    /// Latency of every good request, sorted by [`HelloResult::finish`].
    pub latencies: Vec<Duration>,
    /// CPU the server used during the runs.
    pub server_cpu: Duration,
    /// CPU the load generator used during the runs.
    pub client_cpu: Duration,
}

impl HelloResult {
    /// Good responses per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Adds another run's numbers.
    pub fn merge(&mut self, other: HelloResult) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.server_cpu += other.server_cpu;
        self.client_cpu += other.client_cpu;
    }

    /// Sorts the latencies for percentiles.
    pub fn finish(&mut self) {
        self.latencies.sort_unstable();
    }
}

/// One connection's requests until `deadline`: (good responses' latencies, errors).
async fn drive(addr: SocketAddr, deadline: Instant) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::with_capacity(4096);
    let Ok(mut connection) = HttpConnection::connect(addr).await else {
        return (latencies, 1);
    };
    let request = HttpConnection::format_request("GET", "/hello", b"");
    let mut errors = 0;
    while Instant::now() < deadline {
        let started = Instant::now();
        match connection.exchange(&request).await {
            Ok(response) if response.status == 200 && response.body == HELLO.as_bytes() => {
                latencies.push(started.elapsed());
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (latencies, errors)
}

/// Loads `server` with `connections` connections for `duration` and measures both sides' CPU.
pub async fn run(server: &ServerProcess, connections: usize, duration: Duration) -> io::Result<HelloResult> {
    let own = std::process::id();
    let (server_before, client_before) = (server.cpu()?, cpu_time(own)?);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(drive(server.addr, deadline));
    }
    let mut result = HelloResult::default();
    while let Some(joined) = tasks.join_next().await {
        let (latencies, errors) = joined.map_err(io::Error::other)?;
        result.requests += latencies.len() as u64;
        result.errors += errors;
        result.latencies.extend(latencies);
    }
    result.elapsed = started.elapsed();
    result.client_cpu = cpu_time(own)?.saturating_sub(client_before);
    result.server_cpu = server.cpu_after_settling().await?.saturating_sub(server_before);
    Ok(result)
}
