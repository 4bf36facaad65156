//! Measures sisk's MCP server against rmcp's on axum, each a separate process serving the same fixtures
//! ([`sisk_bench::mcp::fixtures`]), and prints markdown tables with ratios (BENCHMARKS.md, "MCP: sisk
//! against rmcp on axum").
//!
//! `target/release/mcp-compare [--connections 16] [--seconds 3] [--rounds 3] [--sessions 1000,5000]
//! [--resume-events 1000] [--resume-trials 5]`, after `cargo build --release -p sisk-bench --bins`; it
//! builds nothing: `mcp-sisk` and `mcp-rmcp` must sit next to it.
//!
//! Order: both servers are started; `tools/call echo` runs round-robin over modes and servers (`rounds`
//! × `seconds` each, after a one-second warm-up of each), so that a noisy moment is shared; then the
//! resume trials of each scenario, round-robin over sisk, rmcp and rmcp with a larger stream cache
//! (`channel_capacity` 1024); then, for each
//! session count, memory per idle session on a fresh process of each server. Every step is bounded in
//! count and time.

use std::io;
use std::time::Duration;

use sisk_bench::driver::servers::ServerProcess;
use sisk_bench::mcp::calls::{self, CallResult};
use sisk_bench::mcp::protocol::Mode;
use sisk_bench::mcp::report::McpReport;
use sisk_bench::mcp::resume::{self, Scenario};
use sisk_bench::mcp::{sessions, McpServer};
use sisk_bench::process::{descriptors_for, load_average, machine_line};

/// Descriptors kept free beyond one per idle session (its `GET` stream's socket, in the driver and in the
/// server alike): control connections, the runtime, standard streams.
const SPARE_DESCRIPTORS: u64 = 200;

/// The servers of the round trips and the memory measurement.
const SERVERS: [McpServer; 2] = [McpServer::Sisk, McpServer::Rmcp];

/// The servers of the resume trials.
const RESUMERS: [McpServer; 3] = [McpServer::Sisk, McpServer::Rmcp, McpServer::RmcpLargeCache];

/// How long a resume trial may take in all.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// The run's settings, from the command line.
#[derive(Debug)]
struct Settings {
    connections: usize,
    seconds: u64,
    rounds: usize,
    sessions: Vec<usize>,
    resume_events: u64,
    resume_trials: usize,
}

fn settings() -> Settings {
    let mut s = Settings {
        connections: 16,
        seconds: 3,
        rounds: 3,
        sessions: vec![1_000, 5_000],
        resume_events: 1_000,
        resume_trials: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || value.trim().parse::<u64>().unwrap_or_else(|_| panic!("{flag} takes a number, not `{value}`"));
        match flag.as_str() {
            "--connections" => s.connections = number() as usize,
            "--seconds" => s.seconds = number(),
            "--rounds" => s.rounds = number() as usize,
            "--sessions" => {
                s.sessions = value
                    .split(',')
                    .map(|v| v.trim().parse().unwrap_or_else(|_| panic!("`{v}` is not a number")))
                    .collect();
            }
            "--resume-events" => s.resume_events = number(),
            "--resume-trials" => s.resume_trials = number() as usize,
            other => panic!("unknown option {other}"),
        }
    }
    assert!(s.connections > 0 && s.rounds > 0 && s.resume_events > 1, "nothing to measure");
    s
}

fn preamble(s: &Settings, descriptors: u64) -> String {
    format!(
        "{}\nSettings: `--connections {} --seconds {} --rounds {} --sessions {} --resume-events {} --resume-trials {}`; \
         descriptor limit {descriptors}.\n",
        machine_line(),
        s.connections,
        s.seconds,
        s.rounds,
        s.sessions.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
        s.resume_events,
        s.resume_trials,
    )
}

fn progress(message: &str) {
    eprintln!("[mcp-compare] {message}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let settings = settings();
    let most = settings.sessions.iter().copied().max().unwrap_or(0) as u64;
    let descriptors = descriptors_for(most, SPARE_DESCRIPTORS, "sessions", "--sessions")?;
    let mut report = McpReport {
        preamble: preamble(&settings, descriptors),
        resume_events: settings.resume_events,
        ..McpReport::default()
    };

    let running: Vec<ServerProcess> = SERVERS.iter().map(|server| server.start()).collect::<io::Result<_>>()?;
    for mode in Mode::ALL {
        for server in &running {
            progress(&format!("warming up {}, {}", server.name, mode.label()));
            calls::run(server, mode, settings.connections, Duration::from_secs(1)).await?;
        }
    }
    let mut totals: Vec<(Mode, usize, CallResult)> =
        Mode::ALL.iter().flat_map(|&mode| (0..running.len()).map(move |i| (mode, i, CallResult::default()))).collect();
    let duration = Duration::from_secs(settings.seconds);
    for round in 0..settings.rounds {
        for (mode, index, total) in &mut totals {
            let server = &running[*index];
            progress(&format!("round {} of tools/call on {}, {}", round + 1, server.name, mode.label()));
            total.merge(calls::run(server, *mode, settings.connections, duration).await?);
        }
    }
    for (mode, index, mut total) in totals {
        total.finish();
        report.calls.push((mode, running[index].name, total));
    }

    // The servers of the round trips resume too; the others are started for the trials.
    let mut resumers = running;
    for server in &RESUMERS[SERVERS.len()..] {
        resumers.push(server.start()?);
    }
    for scenario in Scenario::ALL {
        let mut trials = vec![Vec::new(); resumers.len()];
        for trial in 0..settings.resume_trials {
            for (server, done) in resumers.iter().zip(&mut trials) {
                progress(&format!("resume trial {} on {}, {}", trial + 1, server.name, scenario.label()));
                let id = 1_000 + trial as u64;
                let measured = resume::trial(server, scenario, settings.resume_events, id);
                let measured = tokio::time::timeout(TRIAL_TIMEOUT, measured).await.map_err(|_| {
                    io::Error::other(format!("a resume trial on {} took over {TRIAL_TIMEOUT:?}", server.name))
                })??;
                done.push(measured);
            }
        }
        for (server, done) in resumers.iter().zip(trials) {
            report.resume.push((scenario, server.name, done));
        }
    }
    drop(resumers);

    for &count in &settings.sessions {
        for server in SERVERS {
            let fresh = server.start()?;
            progress(&format!("{count} idle sessions on a fresh {}", fresh.name));
            report.idle.push((fresh.name, sessions::run(&fresh, count).await?));
        }
    }
    report.preamble.push_str(&format!("Load average at the end: {}.\n", load_average()));
    print!("{}", report.render());
    Ok(())
}
