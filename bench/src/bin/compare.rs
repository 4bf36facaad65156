//! Measures sisk against bare hyper, axum and a raw tokio server, each a separate process speaking the
//! same contract ([`sisk_bench::contract`]), and prints markdown tables with ratios (BENCHMARKS.md).
//!
//! `bench/run` builds everything, runs the collection benchmark and then this driver; alone it is
//! `target/release/compare [--servers sisk,hyper,axum,tokio] [--streams 1000,10000] [--broadcasts 20]
//! [--connections 50] [--hello-seconds 3] [--rounds 3]`. It builds nothing: the `server-*` binaries must
//! sit next to it.
//!
//! Order: every server is started; `GET /hello` runs round-robin over them (`rounds` × `hello-seconds`
//! each, after a one-second warm-up) so that a noisy moment is shared; then, per server, fan-out with
//! every stream count but the last on that same process, and the last on a fresh process (so that memory
//! freed by earlier steps cannot hide the streams' own). Every step is bounded in time.

use std::io;
use std::time::Duration;

use sisk_bench::driver::collection::criterion_directory;
use sisk_bench::driver::fanout::{self, FanoutResult};
use sisk_bench::driver::floor::kernel_write_cost;
use sisk_bench::driver::hello::{self, HelloResult};
use sisk_bench::driver::report::Report;
use sisk_bench::driver::servers::{ServerProcess, SERVERS};
use sisk_bench::process::{descriptors_for, load_average, machine_line};

/// Descriptors kept free beyond one per stream (control connections, the runtime, standard streams).
const SPARE_DESCRIPTORS: u64 = 200;

/// The run's settings, from the command line.
#[derive(Debug)]
struct Settings {
    servers: Vec<&'static str>,
    streams: Vec<usize>,
    broadcasts: usize,
    connections: usize,
    hello_seconds: u64,
    rounds: usize,
}

fn parse_list<T: std::str::FromStr>(value: &str) -> Vec<T> {
    value.split(',').map(|v| v.trim().parse().unwrap_or_else(|_| panic!("`{v}` is not a number"))).collect()
}

fn settings() -> Settings {
    let mut s = Settings {
        servers: SERVERS.to_vec(),
        streams: vec![1_000, 10_000],
        broadcasts: 20,
        connections: 50,
        hello_seconds: 3,
        rounds: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--servers" => {
                s.servers = value
                    .split(',')
                    .map(|name| {
                        *SERVERS
                            .iter()
                            .find(|known| **known == name)
                            .unwrap_or_else(|| panic!("unknown server `{name}`"))
                    })
                    .collect();
            }
            "--streams" => s.streams = parse_list(&value),
            "--broadcasts" => s.broadcasts = value.parse().expect("--broadcasts takes a number"),
            "--connections" => s.connections = value.parse().expect("--connections takes a number"),
            "--hello-seconds" => s.hello_seconds = value.parse().expect("--hello-seconds takes a number"),
            "--rounds" => s.rounds = value.parse().expect("--rounds takes a number"),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(!s.streams.is_empty() && !s.servers.is_empty(), "nothing to measure");
    s
}

fn preamble(settings: &Settings, descriptors: u64) -> String {
    format!(
        "{}\nSettings: `--servers {} --streams {} --broadcasts {} --connections {} --hello-seconds {} --rounds {}`; \
         descriptor limit {descriptors}.\n",
        machine_line(),
        settings.servers.join(","),
        settings.streams.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
        settings.broadcasts,
        settings.connections,
        settings.hello_seconds,
        settings.rounds,
    )
}

fn progress(message: &str) {
    eprintln!("[compare] {message}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let settings = settings();
    let most = settings.streams.iter().copied().max().unwrap_or(0);
    let descriptors = descriptors_for(most as u64, SPARE_DESCRIPTORS, "streams", "--streams")?;
    let mut report = Report { preamble: preamble(&settings, descriptors), ..Report::default() };

    let mut running = Vec::new();
    for name in &settings.servers {
        running.push(ServerProcess::start(name)?);
    }
    let mut hello_results: Vec<HelloResult> = vec![HelloResult::default(); running.len()];
    for server in &running {
        progress(&format!("warming up {}", server.name));
        hello::run(server, settings.connections, Duration::from_secs(1)).await?;
    }
    for round in 0..settings.rounds {
        for (server, total) in running.iter().zip(&mut hello_results) {
            progress(&format!("GET /hello round {} on {}", round + 1, server.name));
            total.merge(hello::run(server, settings.connections, Duration::from_secs(settings.hello_seconds)).await?);
        }
    }
    for (server, mut result) in running.iter().zip(hello_results) {
        result.finish();
        report.hello.push((server.name, result));
    }

    let (last, earlier) = settings.streams.split_last().expect("at least one stream count");
    for server in running {
        let mut runs: Vec<FanoutResult> = Vec::new();
        for &streams in earlier {
            progress(&format!("fan-out of {streams} streams on {}", server.name));
            runs.push(fanout::run(&server, streams, settings.broadcasts).await?);
        }
        let name = server.name;
        drop(server);
        let fresh = ServerProcess::start(name)?;
        progress(&format!("fan-out of {last} streams on a fresh {name}"));
        runs.push(fanout::run(&fresh, *last, settings.broadcasts).await?);
        report.fanout.push((name, runs));
    }

    for &streams in &settings.streams {
        progress(&format!("kernel write floor over {streams} connections"));
        // Both ends of every connection live in this process: stay within its descriptor limit.
        let pairs = usize::try_from(descriptors.saturating_sub(SPARE_DESCRIPTORS) / 2).unwrap_or(usize::MAX);
        report.kernel_write.push(kernel_write_cost(streams.min(pairs), settings.broadcasts)?);
    }
    report.criterion = criterion_directory().filter(|d| d.join("get_by_identifier").exists());
    report.preamble.push_str(&format!("Load average at the end: {}.\n", load_average()));
    print!("{}", report.render());
    Ok(())
}
