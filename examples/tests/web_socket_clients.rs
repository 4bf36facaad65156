//! The `websocket-chat` example against a WebSocket client nobody here wrote: `websockets` from PyPI
//! (`tests/clients/websockets_python_client.py`), for the receive loop, the server's receive timeout,
//! close codes and the chat between two clients.
//!
//! `.ci/run` installs it, pinned, in the Python virtual environment `SISK_MCP_PYTHON` names. Without it
//! the test says so and passes, except under CI (`CI=true`), where it fails.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use sisk_test_support::support::installed;
use support::command::run_to_end;
use support::example::Example;

#[test]
fn pythons_websockets_talks_to_the_chat_and_sees_each_close_code() {
    let Some(python) = installed("SISK_MCP_PYTHON") else { return };
    let example = Example::start("websocket-chat");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/websockets_python_client.py");
    let base = example.url("").replacen("http://", "ws://", 1);
    let output = run_to_end(Command::new(python).arg(script).arg(base), Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed:\n{stderr}");
    let line = String::from_utf8_lossy(&output.stdout);
    let seen: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}\n{stderr}"));
    assert_eq!(seen["text"], "echo: hi", "{seen}");
    assert_eq!(seen["binary"], "echo: bytes", "a binary message, read with get_string: {seen}");
    assert_eq!(seen["after_silence"], "timed out", "receive_message(1 s) returned None: {seen}");
    assert_eq!(seen["server_close"], 1000, "{seen}");
    assert_eq!(seen["client_close"], 1000, "{seen}");
    assert_eq!(seen["too_large"], 1009, "{seen}");
    let line = seen["chat_a"].as_str().unwrap_or_default();
    assert!(line.ends_with(": olá de Python"), "{seen}");
    assert_eq!(seen["chat_b"], json!(line), "both clients got the same broadcast: {seen}");
}
