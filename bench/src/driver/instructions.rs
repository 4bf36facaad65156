//! User-space instructions per request, per delivered event and per opened stream, counted by valgrind's
//! callgrind: unlike CPU time, the count is the same whatever else runs on the machine, so one change can
//! be measured on a shared machine.
//!
//! Each count is the difference of two runs of a fresh server process under callgrind that differ only
//! in the size of one workload (1,000 or 6,000 `GET /hello`, 5 or 25 broadcasts to the same streams, 100
//! or 500 streams opened), divided by the difference in size: start-up, shutdown and the fixed costs of
//! the workload cancel out. The client runs outside valgrind, one request or one broadcast at a time, so
//! the server's work does not depend on timing. The kernel's share (the system calls themselves) is not
//! counted.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::client::{EventStreamClient, HttpConnection};
use crate::contract::HELLO;
use crate::driver::fanout::{open_all, payload};
use crate::driver::servers::ServerProcess;

/// What one workload run under callgrind does, once the server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// This many `GET /hello`, one after the other on one keep-alive connection.
    Hello(usize),
    /// This many identified streams opened (64 at a time), then this many broadcasts to all of them, each
    /// read by every stream before the next is sent; then the streams close.
    Fanout(usize, usize),
}

/// The instructions one workload took: the total of a server process's whole life under callgrind.
pub fn count(name: &'static str, binary: &Path, workload: Workload, output: &Path) -> io::Result<u64> {
    let out_file = output.join(format!("callgrind.{name}.{workload:?}.out").replace([' ', '(', ')', ','], "_"));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg("-q")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(binary)
        .arg("127.0.0.1:0");
    let server = ServerProcess::start_command(name, command)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(server.addr, workload))?;
    server.terminate()?;
    total_instructions(&out_file)
}

async fn run(addr: SocketAddr, workload: Workload) -> io::Result<()> {
    let mut control = HttpConnection::connect(addr).await?;
    match workload {
        Workload::Hello(requests) => {
            let request = HttpConnection::format_request("GET", "/hello", b"");
            for _ in 0..requests {
                let response = control.exchange(&request).await?;
                if response.status != 200 || response.body != HELLO.as_bytes() {
                    return Err(io::Error::other("GET /hello answered something else"));
                }
            }
        }
        Workload::Fanout(streams, broadcasts) => {
            let targets: Vec<(SocketAddr, String)> = (0..streams).map(|i| (addr, format!("/sse/s{i}"))).collect();
            let mut clients: Vec<EventStreamClient> = open_all(&targets).await?;
            while control.request("GET", "/stats", b"").await?.1.trim() != streams.to_string() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            for seq in 0..broadcasts {
                let (status, _) = control.request("POST", "/broadcast?prefix=s", payload(seq).as_bytes()).await?;
                if status != 200 {
                    return Err(io::Error::other(format!("POST /broadcast answered {status}")));
                }
                for client in &mut clients {
                    client.next_data().await?.ok_or_else(|| io::Error::other("a stream ended"))?;
                }
            }
            drop(clients);
            while control.request("GET", "/stats", b"").await?.1.trim() != "0" {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
    Ok(())
}

/// The `summary:` (or `totals:`) line of a callgrind output file: every instruction of every thread.
fn total_instructions(file: &Path) -> io::Result<u64> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .find_map(|line| line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:")))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no instruction total in {}", file.display())))
}

/// What the instruction counts of one server say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Per `GET /hello`.
    pub per_request: f64,
    /// Per event delivered to one stream.
    pub per_event: f64,
    /// Per stream opened and closed (connection, request, registration, close).
    pub per_stream: f64,
}

/// The sizes of the workloads whose differences make [`Counts`].
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `GET /hello` in the small and the large run.
    pub requests: (usize, usize),
    /// Streams in the small and the large run.
    pub streams: (usize, usize),
    /// Broadcasts to the large number of streams, in the small and the large run.
    pub broadcasts: (usize, usize),
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes { requests: (1_000, 6_000), streams: (100, 500), broadcasts: (5, 25) }
    }
}

/// Measures one server binary: five runs under callgrind.
pub fn measure(name: &'static str, binary: &Path, sizes: Sizes, output: &Path) -> io::Result<Counts> {
    let total = |workload| {
        let instructions = count(name, binary, workload, output)?;
        eprintln!("[instructions] {name} {workload:?}: {instructions}");
        Ok::<_, io::Error>(instructions as f64)
    };
    let (r1, r2) = sizes.requests;
    let (s1, s2) = sizes.streams;
    let (b1, b2) = sizes.broadcasts;
    let hello = (total(Workload::Hello(r2))? - total(Workload::Hello(r1))?) / (r2 - r1) as f64;
    let fewer_streams = total(Workload::Fanout(s1, b1))?;
    let few_broadcasts = total(Workload::Fanout(s2, b1))?;
    let many_broadcasts = total(Workload::Fanout(s2, b2))?;
    let per_event = (many_broadcasts - few_broadcasts) / (s2 * (b2 - b1)) as f64;
    // The extra streams of the larger run also received `b1` broadcasts each.
    let per_stream = (few_broadcasts - fewer_streams) / (s2 - s1) as f64 - per_event * b1 as f64;
    Ok(Counts { per_request: hello, per_event, per_stream })
}

/// A directory for the callgrind output files, kept for `callgrind_annotate`.
pub fn output_directory() -> io::Result<PathBuf> {
    let directory = std::env::temp_dir().join(format!("sisk-instructions-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}
