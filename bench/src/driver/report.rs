//! [`Report`]: everything one `compare` run measured, printed as the markdown tables of BENCHMARKS.md,
//! with each peer's ratio to sisk and a closing check of the goals of the event-path issue.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::driver::collection::{median, OPERATIONS, SIZES};
use crate::driver::fanout::FanoutResult;
use crate::driver::hello::HelloResult;
use crate::percentile;

/// The results of one run, per server (sisk first).
#[derive(Debug, Default)]
pub struct Report {
    /// The machine and the run's settings, as markdown lines.
    pub preamble: String,
    /// `GET /hello`, per server.
    pub hello: Vec<(&'static str, HelloResult)>,
    /// Fan-out runs per server, smallest first; the last one ran on a fresh process.
    pub fanout: Vec<(&'static str, Vec<FanoutResult>)>,
    /// The kernel's CPU per event write, per fan-out run: the floor under every server's cost.
    pub kernel_write: Vec<Duration>,
    /// Where criterion's results are, if the collection benchmark ran.
    pub criterion: Option<PathBuf>,
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn per(total: Duration, count: usize) -> Duration {
    total.div_f64(count.max(1) as f64)
}

/// `sisk ÷ peer` to two places, or `–` when the peer (or sisk) has no number.
pub(crate) fn ratio(sisk: f64, peer: f64) -> String {
    if peer == 0.0 || !peer.is_finite() || !sisk.is_finite() {
        "–".to_owned()
    } else {
        format!("{:.2}", sisk / peer)
    }
}

/// How a goal's line ends: met, or not met in bold.
pub(crate) fn check(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}

impl Report {
    fn sisk_hello(&self) -> Option<&HelloResult> {
        self.hello.iter().find(|(name, _)| *name == "sisk").map(|(_, r)| r)
    }

    fn fanout_of(&self, server: &str, index: usize) -> Option<&FanoutResult> {
        self.fanout.iter().find(|(name, _)| *name == server).and_then(|(_, runs)| runs.get(index))
    }

    fn largest(&self, server: &str) -> Option<&FanoutResult> {
        self.fanout.iter().find(|(name, _)| *name == server).and_then(|(_, runs)| runs.last())
    }

    /// The whole report as markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.preamble);
        self.render_hello(&mut out);
        self.render_fanout(&mut out);
        self.render_memory_and_connect(&mut out);
        self.render_collection(&mut out);
        self.render_goals(&mut out);
        out
    }

    fn render_hello(&self, out: &mut String) {
        let Some(sisk) = self.sisk_hello() else { return };
        out.push_str("\n### 1. `GET /hello`\n\n");
        out.push_str("| server | requests/s | sisk ÷ server | p50 | p99 | errors | server CPU per request | server CPU | load generator CPU |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (name, r) in &self.hello {
            let seconds = r.elapsed.as_secs_f64().max(f64::EPSILON);
            let _ = writeln!(
                out,
                "| {name} | {:.0} | {} | {} | {} | {} | {} | {:.0} % | {:.0} % |",
                r.rate(),
                ratio(sisk.rate(), r.rate()),
                micros(percentile(&r.latencies, 50.0)),
                micros(percentile(&r.latencies, 99.0)),
                r.errors,
                micros(per(r.server_cpu, r.requests as usize)),
                100.0 * r.server_cpu.as_secs_f64() / seconds,
                100.0 * r.client_cpu.as_secs_f64() / seconds,
            );
        }
        out.push_str("\nCPU columns are percentages of one core over the load time (2 cores = 200 %).\n");
    }

    fn render_fanout(&self, out: &mut String) {
        let runs = self.fanout.first().map_or(0, |(_, runs)| runs.len());
        for index in 0..runs {
            let Some(sisk) = self.fanout_of("sisk", index) else { continue };
            let _ = write!(out, "\n### 2. SSE fan-out: {} streams, {} broadcasts\n\n", sisk.streams, sisk.broadcasts);
            out.push_str("| server | p50 | p99 | max | worst | lost | reached | server CPU per event | sisk ÷ server (p99) | sisk ÷ server (CPU) | load generator CPU per event |\n");
            out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            let sisk_p99 = sisk.typical(99.0).as_secs_f64();
            let sisk_cpu = per(sisk.server_cpu, sisk.received).as_secs_f64();
            for (name, _) in &self.fanout {
                let Some(r) = self.fanout_of(name, index) else { continue };
                let p99 = r.typical(99.0);
                let cpu = per(r.server_cpu, r.received);
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} |",
                    millis(r.typical(50.0)),
                    millis(p99),
                    millis(r.typical(100.0)),
                    millis(r.worst()),
                    r.lost(),
                    r.reached,
                    r.streams * r.broadcasts,
                    micros(cpu),
                    ratio(sisk_p99, p99.as_secs_f64()),
                    ratio(sisk_cpu, cpu.as_secs_f64()),
                    micros(per(r.client_cpu, r.received)),
                );
            }
            if let Some(floor) = self.kernel_write.get(index) {
                let _ = writeln!(out, "| kernel `write` alone | | | | | | | {} | | | |", micros(*floor));
            }
        }
        if runs > 0 {
            out.push_str(
                "\np50, p99 and max are taken across the clients of each broadcast, then the median over the \
                 broadcasts is shown; worst is the slowest single delivery of the run.\n",
            );
        }
    }

    fn render_memory_and_connect(&self, out: &mut String) {
        let Some(sisk) = self.largest("sisk") else { return };
        let _ = write!(
            out,
            "\n### 3. Memory per open stream and 5. connect rate, {} streams (fresh server process)\n\n",
            sisk.streams
        );
        out.push_str("| server | RSS before | RSS with streams open | per stream | sisk ÷ server (memory) | streams opened per second | sisk ÷ server (rate) | `/stats` open → after close | time to notice every close | sisk ÷ server (notice) |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (name, _) in &self.fanout {
            let Some(r) = self.largest(name) else { continue };
            let _ = writeln!(
                out,
                "| {name} | {:.1} MB | {:.1} MB | {:.1} KB | {} | {:.0} | {} | {} → {} | {} | {} |",
                r.rss_before as f64 / 1e6,
                r.rss_after as f64 / 1e6,
                r.bytes_per_stream() / 1e3,
                ratio(sisk.bytes_per_stream(), r.bytes_per_stream()),
                r.connect_rate(),
                ratio(sisk.connect_rate(), r.connect_rate()),
                r.open_per_stats,
                r.open_after_close,
                millis(r.noticing),
                ratio(sisk.noticing.as_secs_f64(), r.noticing.as_secs_f64()),
            );
        }
    }

    fn render_collection(&self, out: &mut String) {
        out.push_str("\n### 4. `HttpEventSourceCollection` operations (criterion median)\n\n");
        let Some(directory) = &self.criterion else {
            out.push_str("Not measured: run `cargo bench -p sisk-bench --bench collection` first.\n");
            return;
        };
        out.push_str("| operation | 1k | 10k | 100k | 100k ÷ 1k |\n|---|---:|---:|---:|---:|\n");
        for operation in OPERATIONS {
            let medians: Vec<Option<Duration>> = SIZES.iter().map(|&size| median(directory, operation, size)).collect();
            let cells: Vec<String> = medians
                .iter()
                .map(|m| m.map_or("–".to_owned(), |d| format!("{:.3} µs", d.as_secs_f64() * 1e6)))
                .collect();
            let growth = match (medians[0], medians[2]) {
                (Some(small), Some(large)) => format!("{:.1}", large.as_secs_f64() / small.as_secs_f64()),
                _ => "–".to_owned(),
            };
            let _ = writeln!(out, "| `{operation}` | {} | {} | {} | {growth} |", cells[0], cells[1], cells[2]);
        }
    }

    /// The goals of the event-path issue (sisk's twelfth): CPU per delivered event at most 1.2 × the raw
    /// tokio server's and at least 20 % below axum's at every stream count; the fan-out p99 at the largest
    /// count at most 0.9 × axum's; `GET /hello` at least 0.95 of bare hyper; memory per open stream (pings
    /// on) at most bare hyper's; nothing lost.
    fn render_goals(&self, out: &mut String) {
        out.push_str("\n### Goals\n\n");
        let hello = |name: &str| self.hello.iter().find(|(n, _)| *n == name).map(|(_, r)| r.rate());
        if let (Some(sisk), Some(hyper)) = (hello("sisk"), hello("hyper")) {
            let r = sisk / hyper;
            let _ = writeln!(out, "- `GET /hello` at least 0.95 of bare hyper: {r:.2} — {}", check(r >= 0.95));
        }
        let cpu = |run: &FanoutResult| per(run.server_cpu, run.received).as_secs_f64();
        let runs = self.fanout.first().map_or(0, |(_, runs)| runs.len());
        for index in 0..runs {
            let (Some(sisk), Some(axum), Some(tokio)) =
                (self.fanout_of("sisk", index), self.fanout_of("axum", index), self.fanout_of("tokio", index))
            else {
                continue;
            };
            let (to_tokio, to_axum) = (cpu(sisk) / cpu(tokio), cpu(sisk) / cpu(axum));
            let _ = writeln!(
                out,
                "- {} streams, CPU per event at most 1.2 × the raw tokio server's: {to_tokio:.2} — {}; at least 20 % \
                 below axum's: {to_axum:.2} of it — {}; events lost: {} — {}",
                sisk.streams,
                check(to_tokio <= 1.2),
                check(to_axum <= 0.8),
                sisk.lost(),
                check(sisk.lost() == 0)
            );
        }
        if let (Some(sisk), Some(axum)) = (self.largest("sisk"), self.largest("axum")) {
            let r = sisk.typical(99.0).as_secs_f64() / axum.typical(99.0).as_secs_f64().max(f64::EPSILON);
            let _ = writeln!(
                out,
                "- {} streams, fan-out p99 at most 0.9 × axum's: {} vs {} = {r:.2} — {}",
                sisk.streams,
                millis(sisk.typical(99.0)),
                millis(axum.typical(99.0)),
                check(r <= 0.9)
            );
        }
        if let (Some(sisk), Some(hyper)) = (self.largest("sisk"), self.largest("hyper")) {
            let r = sisk.bytes_per_stream() / hyper.bytes_per_stream().max(1.0);
            let _ = writeln!(
                out,
                "- memory per open stream (pings on) at most bare hyper's: {:.1} KB vs {:.1} KB = {r:.2} — {}",
                sisk.bytes_per_stream() / 1e3,
                hyper.bytes_per_stream() / 1e3,
                check(r <= 1.0)
            );
        }
        if let Some(directory) = &self.criterion {
            if let (Some(small), Some(large)) =
                (median(directory, "get_by_identifier", SIZES[0]), median(directory, "get_by_identifier", SIZES[2]))
            {
                let r = large.as_secs_f64() / small.as_secs_f64();
                let _ = writeln!(
                    out,
                    "- `get_by_identifier` independent of the count: 100k ÷ 1k = {r:.2} — {}",
                    check(r < 2.0)
                );
            }
        }
    }
}
