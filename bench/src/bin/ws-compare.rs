//! Measures sisk's WebSockets beside axum's (its `WebSocketUpgrade`, over the same tungstenite), each
//! server a process of its own speaking the contract's WebSocket routes ([`sisk_bench::contract`]), and
//! prints a markdown table (BENCHMARKS.md).
//!
//! `target/release/ws-compare [--sockets 10000] [--broadcasts 20] [--echo-sockets 50] [--echo-seconds 3]
//! [--rounds 3]`; it builds nothing: `server-sisk` and `server-axum` must sit next to it
//! (`cargo build --release -p sisk-bench --bins`).
//!
//! Order: both servers are started; echo runs round-robin over them (`rounds` × `echo-seconds` each,
//! after a one-second warm-up), so that a noisy moment is shared; then each gets the fan-out on a fresh
//! process, so that memory per socket is the sockets' own. Every step is bounded in time.

use std::io;
use std::time::Duration;

use sisk_bench::driver::servers::ServerProcess;
use sisk_bench::driver::websockets::{self, EchoResult, WsFanoutResult};
use sisk_bench::process::{descriptors_for, load_average, machine_line};

const SERVERS: [&str; 2] = ["sisk", "axum"];
/// Descriptors kept free beyond one per socket.
const SPARE_DESCRIPTORS: u64 = 200;

#[derive(Debug)]
struct Settings {
    sockets: usize,
    broadcasts: usize,
    echo_sockets: usize,
    echo_seconds: u64,
    rounds: usize,
}

fn settings() -> Settings {
    let mut s = Settings { sockets: 10_000, broadcasts: 20, echo_sockets: 50, echo_seconds: 3, rounds: 3 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || value.parse::<usize>().unwrap_or_else(|_| panic!("{flag} takes a number"));
        match flag.as_str() {
            "--sockets" => s.sockets = number(),
            "--broadcasts" => s.broadcasts = number(),
            "--echo-sockets" => s.echo_sockets = number(),
            "--echo-seconds" => s.echo_seconds = number() as u64,
            "--rounds" => s.rounds = number(),
            other => panic!("unknown option {other}"),
        }
    }
    s
}

fn progress(message: &str) {
    eprintln!("[ws-compare] {message}");
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let s = settings();
    let descriptors = descriptors_for(s.sockets as u64, SPARE_DESCRIPTORS, "sockets", "--sockets")?;

    let mut running = Vec::new();
    for name in SERVERS {
        running.push(ServerProcess::start(name)?);
    }
    for server in &running {
        progress(&format!("warming up {}", server.name));
        websockets::echo(server, s.echo_sockets, Duration::from_secs(1)).await?;
    }
    let mut echoes = vec![EchoResult::default(); running.len()];
    for round in 0..s.rounds {
        for (server, total) in running.iter().zip(&mut echoes) {
            progress(&format!("echo round {} on {}", round + 1, server.name));
            let run = websockets::echo(server, s.echo_sockets, Duration::from_secs(s.echo_seconds)).await?;
            total.round_trips += run.round_trips;
            total.errors += run.errors;
            total.elapsed += run.elapsed;
        }
    }
    let mut fanouts: Vec<WsFanoutResult> = Vec::new();
    for server in running {
        let name = server.name;
        drop(server);
        let fresh = ServerProcess::start(name)?;
        progress(&format!("fan-out to {} sockets on a fresh {name}", s.sockets));
        fanouts.push(websockets::fanout(&fresh, s.sockets, s.broadcasts).await?);
    }

    println!("{}", machine_line());
    println!(
        "Settings: `--sockets {} --broadcasts {} --echo-sockets {} --echo-seconds {} --rounds {}`; descriptor limit {descriptors}.\n",
        s.sockets, s.broadcasts, s.echo_sockets, s.echo_seconds, s.rounds
    );
    println!("| server | echo round trips/s | errors | fan-out p50 | fan-out p99 | lost | memory per open socket | opening {} sockets |", s.sockets);
    println!("|---|---|---|---|---|---|---|---|");
    for ((name, echo), fanout) in SERVERS.iter().zip(&echoes).zip(&fanouts) {
        println!(
            "| {name} | {:.0} | {} | {} | {} | {} | {:.1} KiB | {:.2} s |",
            echo.rate(),
            echo.errors,
            millis(fanout.typical(50.0)),
            millis(fanout.typical(99.0)),
            fanout.lost(),
            fanout.bytes_per_socket() / 1024.0,
            fanout.opening.as_secs_f64(),
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.2}", a / b) } else { "–".to_owned() };
    println!(
        "\nsisk ÷ axum: echo rate {}, fan-out p99 {}, memory per socket {}.",
        ratio(echoes[0].rate(), echoes[1].rate()),
        ratio(fanouts[0].typical(99.0).as_secs_f64(), fanouts[1].typical(99.0).as_secs_f64()),
        ratio(fanouts[0].bytes_per_socket(), fanouts[1].bytes_per_socket()),
    );
    println!("Load average at the end: {}.", load_average());
    Ok(())
}
