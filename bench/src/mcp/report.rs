//! [`McpReport`]: everything one `mcp-compare` run measured, printed as the markdown tables of
//! BENCHMARKS.md ("MCP: sisk against rmcp on axum"), each row with its ratio to sisk's, and a closing
//! check of issue 20's goal: ahead of rmcp on each measure.

use std::fmt::Write;
use std::time::Duration;

use crate::driver::report::{check, ratio};
use crate::mcp::calls::CallResult;
use crate::mcp::protocol::Mode;
use crate::mcp::resume::{ResumeTrial, Scenario};
use crate::mcp::sessions::IdleResult;
use crate::percentile;

/// The name of the peer the goals are measured against.
const PEER: &str = "rmcp";

/// The results of one run, per server (sisk first).
#[derive(Debug, Default)]
pub struct McpReport {
    /// The machine and the run's settings, as markdown lines.
    pub preamble: String,
    /// `tools/call echo` round trips, per mode and server.
    pub calls: Vec<(Mode, &'static str, CallResult)>,
    /// Idle sessions, per session count and server.
    pub idle: Vec<(&'static str, IdleResult)>,
    /// Resume trials, per scenario and server.
    pub resume: Vec<(Scenario, &'static str, Vec<ResumeTrial>)>,
    /// Notifications each `count` of the resume trials sent.
    pub resume_events: u64,
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn kilobytes(bytes: f64) -> String {
    format!("{:.1} KB", bytes / 1024.0)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn per(total: Duration, count: u64) -> Duration {
    total.div_f64(count.max(1) as f64)
}

/// The times of the trials that got their answer, sorted.
fn times(trials: &[ResumeTrial]) -> Vec<Duration> {
    let mut times: Vec<Duration> = trials.iter().filter_map(|t| t.time).collect();
    times.sort_unstable();
    times
}

/// True when every trial got every event once, in order, and one answer.
fn exact(trials: &[ResumeTrial]) -> bool {
    trials.iter().all(|t| t.time.is_some() && t.lost + t.duplicated + t.out_of_order == 0 && t.answers == 1)
}

impl McpReport {
    fn call(&self, mode: Mode, server: &str) -> Option<&CallResult> {
        self.calls.iter().find(|(m, name, _)| *m == mode && *name == server).map(|(_, _, r)| r)
    }

    fn idle_of(&self, server: &str, sessions: usize) -> Option<&IdleResult> {
        self.idle.iter().find(|(name, r)| *name == server && r.sessions == sessions).map(|(_, r)| r)
    }

    fn trials(&self, scenario: Scenario, server: &str) -> Option<&[ResumeTrial]> {
        self.resume.iter().find(|(s, name, _)| *s == scenario && *name == server).map(|(_, _, t)| t.as_slice())
    }

    /// The whole report as markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.preamble);
        self.render_calls(&mut out);
        self.render_idle(&mut out);
        self.render_resume(&mut out);
        self.render_goals(&mut out);
        out
    }

    fn render_calls(&self, out: &mut String) {
        out.push_str("\n### `tools/call echo` round trips\n\n");
        out.push_str("| mode | server | answered as | calls/s | sisk ÷ server (rate) | p50 | p99 | sisk ÷ server (p99) | errors | server CPU per call | sisk ÷ server (CPU) | load generator CPU per call |\n");
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for mode in Mode::ALL {
            let Some(sisk) = self.call(mode, "sisk") else { continue };
            let sisk_p99 = percentile(&sisk.latencies, 99.0).as_secs_f64();
            let sisk_cpu = per(sisk.server_cpu, sisk.calls).as_secs_f64();
            for (_, name, r) in self.calls.iter().filter(|(m, _, _)| *m == mode) {
                let p99 = percentile(&r.latencies, 99.0);
                let cpu = per(r.server_cpu, r.calls);
                let _ = writeln!(
                    out,
                    "| {} | {name} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    mode.label(),
                    r.answered_as(),
                    r.rate(),
                    ratio(sisk.rate(), r.rate()),
                    micros(percentile(&r.latencies, 50.0)),
                    micros(p99),
                    ratio(sisk_p99, p99.as_secs_f64()),
                    r.errors,
                    micros(cpu),
                    ratio(sisk_cpu, cpu.as_secs_f64()),
                    micros(per(r.client_cpu, r.calls)),
                );
            }
        }
        out.push_str(
            "\nLatency: from writing the request to reading the answer's last byte (the connection is free again). ",
        );
        out.push_str("A rate ratio above 1 and a p99 or CPU ratio below 1 favour sisk.\n");
        for (mode, name, r) in &self.calls {
            if let Some(error) = &r.first_error {
                let _ = writeln!(out, "\nFirst error of {name}, {}: `{error}`", mode.label());
            }
        }
    }

    fn render_idle(&self, out: &mut String) {
        out.push_str("\n### Memory per idle session holding a `GET` stream (fresh server process)\n\n");
        out.push_str("| server | sessions | RSS before | RSS with the sessions open | per session | sisk ÷ server | sessions opened per second |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        let mut counts: Vec<usize> = self.idle.iter().map(|(_, r)| r.sessions).collect();
        counts.dedup();
        for sessions in counts {
            let Some(sisk) = self.idle_of("sisk", sessions) else { continue };
            for (name, r) in self.idle.iter().filter(|(_, r)| r.sessions == sessions) {
                let _ = writeln!(
                    out,
                    "| {name} | {sessions} | {} | {} | {} | {} | {:.0} |",
                    megabytes(r.rss_before),
                    megabytes(r.rss_after),
                    kilobytes(r.per_session()),
                    ratio(sisk.per_session(), r.per_session()),
                    sessions as f64 / r.opening.as_secs_f64().max(f64::EPSILON),
                );
            }
        }
    }

    fn render_resume(&self, out: &mut String) {
        let n = self.resume_events;
        let _ = write!(
            out,
            "\n### Resuming a call's stream: `count` with {n} notifications, dropped after the first, \
             resumed with `GET` and `Last-Event-ID`\n\n"
        );
        out.push_str("| client comes back | server | trials | events on the resumed stream | median | min | max | sisk ÷ server (median) | lost | duplicated | out of order | answers | failed trials |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for scenario in Scenario::ALL {
            let Some(sisk) = self.trials(scenario, "sisk") else { continue };
            let sisk_median = percentile(&times(sisk), 50.0).as_secs_f64();
            for (_, name, trials) in self.resume.iter().filter(|(s, _, _)| *s == scenario) {
                let times = times(trials);
                let shown = |d: Duration| if times.is_empty() { "–".to_owned() } else { millis(d) };
                let mut resumed: Vec<usize> = trials.iter().map(|t| t.resumed).collect();
                resumed.sort_unstable();
                let resumed = match (resumed.first(), resumed.last()) {
                    (Some(low), Some(high)) if low == high => low.to_string(),
                    (Some(low), Some(high)) => format!("{low}–{high}"),
                    _ => "–".to_owned(),
                };
                let median = percentile(&times, 50.0);
                let _ = writeln!(
                    out,
                    "| {} | {name} | {} | {resumed} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    scenario.label(),
                    trials.len(),
                    shown(median),
                    shown(times.first().copied().unwrap_or_default()),
                    shown(times.last().copied().unwrap_or_default()),
                    if times.is_empty() { "–".to_owned() } else { ratio(sisk_median, median.as_secs_f64()) },
                    trials.iter().map(|t| t.lost).sum::<u64>(),
                    trials.iter().map(|t| t.duplicated).sum::<u64>(),
                    trials.iter().map(|t| t.out_of_order).sum::<u64>(),
                    trials.iter().map(|t| t.answers).sum::<usize>(),
                    trials.iter().filter(|t| t.failure.is_some()).count(),
                );
            }
        }
        out.push_str("\nLost, duplicated, out of order and answers are summed over the trials (each trial should have 0, 0, 0 and 1).\n");
        for (scenario, name, trials) in &self.resume {
            if let Some(failure) = trials.iter().find_map(|t| t.failure.as_ref()) {
                let _ = writeln!(out, "\nFirst failure of {name}, {}: {failure}.", scenario.label());
            }
        }
    }

    fn render_goals(&self, out: &mut String) {
        out.push_str("\n### Goal (issue 20): ahead of rmcp on each\n\n");
        for mode in Mode::ALL {
            let (Some(sisk), Some(peer)) = (self.call(mode, "sisk"), self.call(mode, PEER)) else { continue };
            let (sisk_p99, peer_p99) = (percentile(&sisk.latencies, 99.0), percentile(&peer.latencies, 99.0));
            let _ = writeln!(
                out,
                "- {}, calls/s: {:.0} vs {:.0} = {} — {}; p99: {} vs {} = {} — {}",
                mode.label(),
                sisk.rate(),
                peer.rate(),
                ratio(sisk.rate(), peer.rate()),
                check(sisk.rate() > peer.rate() && sisk.errors == 0),
                micros(sisk_p99),
                micros(peer_p99),
                ratio(sisk_p99.as_secs_f64(), peer_p99.as_secs_f64()),
                check(sisk_p99 < peer_p99 && sisk.errors == 0),
            );
        }
        let mut counts: Vec<usize> = self.idle.iter().map(|(_, r)| r.sessions).collect();
        counts.dedup();
        for sessions in counts {
            let (Some(sisk), Some(peer)) = (self.idle_of("sisk", sessions), self.idle_of(PEER, sessions)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "- memory per idle session, {sessions} sessions: {} vs {} = {} — {}",
                kilobytes(sisk.per_session()),
                kilobytes(peer.per_session()),
                ratio(sisk.per_session(), peer.per_session()),
                check(sisk.per_session() < peer.per_session()),
            );
        }
        for scenario in Scenario::ALL {
            let Some(sisk) = self.trials(scenario, "sisk") else { continue };
            let sisk_median = percentile(&times(sisk), 50.0);
            for (_, name, trials) in self.resume.iter().filter(|(s, name, _)| *s == scenario && *name != "sisk") {
                let median = percentile(&times(trials), 50.0);
                let line = if exact(trials) {
                    format!(
                        "{} vs {} = {} — {}",
                        millis(sisk_median),
                        millis(median),
                        ratio(sisk_median.as_secs_f64(), median.as_secs_f64()),
                        check(exact(sisk) && sisk_median < median),
                    )
                } else {
                    format!(
                        "sisk {} with every event once, {name} does not resume every event once (see the table) — {}",
                        millis(sisk_median),
                        check(exact(sisk)),
                    )
                };
                let _ = writeln!(out, "- resuming {} against {name}: {line}", scenario.label());
            }
        }
    }
}
