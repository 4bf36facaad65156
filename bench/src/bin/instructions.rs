//! Counts user-space instructions per `GET /hello`, per delivered event and per opened stream for each
//! server of the contract, under valgrind's callgrind ([`sisk_bench::driver::instructions`]), and prints a
//! markdown table with ratios to sisk. The count does not depend on the machine's load, so it measures a
//! change on a machine shared with other work, where CPU time cannot.
//!
//! `target/release/instructions [--servers sisk,hyper,axum,tokio]` (the `server-*` binaries must sit next
//! to it; `valgrind` must be installed). The callgrind files stay in a temporary directory, named on
//! standard error, for `callgrind_annotate`. About a minute per server.

use std::io;
use std::path::Path;

use sisk_bench::driver::instructions::{measure, output_directory, Sizes};
use sisk_bench::driver::servers::SERVERS;

fn main() -> io::Result<()> {
    let mut servers: Vec<&'static str> = SERVERS.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--servers", Some(list)) => {
                servers = list
                    .split(',')
                    .map(|name| *SERVERS.iter().find(|known| **known == name).expect("a known server"))
                    .collect();
            }
            _ => panic!("usage: instructions [--servers sisk,hyper,axum,tokio]"),
        }
    }
    let directory = std::env::current_exe()?.parent().map(Path::to_path_buf).expect("the driver has a directory");
    let output = output_directory()?;
    eprintln!("[instructions] callgrind files in {}", output.display());
    let sizes = Sizes::default();
    let mut rows = Vec::new();
    for name in servers {
        let counts = measure(name, &directory.join(format!("server-{name}")), sizes, &output)?;
        rows.push((name, counts));
    }
    let sisk = rows.iter().find(|(name, _)| *name == "sisk").map(|(_, counts)| *counts);
    println!("| server | instructions per `GET /hello` | per delivered event | per stream opened and closed | sisk ÷ server (request, event, stream) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, counts) in &rows {
        let ratios = sisk.map_or_else(String::new, |s| {
            format!(
                "{:.2}, {:.2}, {:.2}",
                s.per_request / counts.per_request,
                s.per_event / counts.per_event,
                s.per_stream / counts.per_stream
            )
        });
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {ratios} |",
            counts.per_request, counts.per_event, counts.per_stream
        );
    }
    Ok(())
}
