//! Real MCP clients nobody here wrote — the TypeScript SDK and the Python SDK — on two `mcp-cluster-node`
//! processes sharing a real `redis-server`, through a proxy that plays the load balancer. Each client, in
//! one session:
//!
//! 1. calls a tool with progress on node a; the proxy cuts the connection mid-call and sends what comes
//!    next to node b: the client resumes there with `Last-Event-ID` and gets every step, once, and the
//!    answer of node a;
//! 2. calls a long tool on node a, which is killed with `SIGKILL` mid-call: the steps it saw carry no gap
//!    and nothing twice, and the call fails by its timeout;
//! 3. calls a tool and reads a resource, in the same session, on node b.
//!
//! The clients are the scripts of `tests/clients/`, installed by `.ci/run` (see `SISK_MCP_NODE`,
//! `SISK_MCP_NPM`, `SISK_MCP_PYTHON`); without them, or without `redis-server`, a test says so and
//! passes, except under CI.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use serde_json::Value;
use sisk_test_support::support::installed;
use sisk_tests::node::Node;
use sisk_tests::proxy::Proxy;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::LIMIT;

const NODE: &str = env!("CARGO_BIN_EXE_mcp-cluster-node");

fn client_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients").join(name)
}

/// A client script running: its stdout, line by line, and its stdin.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Client {
    fn start(command: &mut Command) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the client starts");
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Client { child, stdin, lines }
    }

    /// The next line the client printed, as JSON; panics after [`LIMIT`].
    fn next(&self) -> Value {
        let line = self.lines.recv_timeout(LIMIT).expect("the client says something in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// The progress steps printed until the end of a phase, and that end.
    fn steps_until(&self, stop_after: Option<u64>, mut at_stop: impl FnMut()) -> (Vec<u64>, Value) {
        let mut steps = Vec::new();
        loop {
            let said = self.next();
            match said["progress"].as_f64() {
                Some(step) => {
                    steps.push(step as u64);
                    if Some(step as u64) == stop_after {
                        at_stop();
                    }
                }
                None => return (steps, said),
            }
        }
    }

    fn go_on(&mut self) {
        self.stdin.write_all(b"go\n").and_then(|()| self.stdin.flush()).expect("the client reads its stdin");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The three phases, with the client that `command` starts against `proxy`'s URL (its last argument is
/// added here).
async fn three_phases(redis: &RedisServer, client: impl FnOnce(&str) -> Command) {
    let url = redis.url();
    let (mut a, b) = (Node::start(NODE, Some(&url)), Node::start(NODE, Some(&url)));
    let proxy = Proxy::start(a.address()).await;
    let mut command = client(&proxy.url("/mcp"));
    // The blocking reads of the client's lines run beside the proxy's tasks.
    let (phase_one, phase_two, phase_three, node_a) = tokio::task::spawn_blocking(move || {
        let mut client = Client::start(&mut command);
        let one = client.steps_until(Some(5), || {
            proxy.switch_to(b.address());
            proxy.cut();
        });
        proxy.switch_to(a.address());
        client.go_on();
        let two = client.steps_until(Some(10), || {
            proxy.switch_to(b.address());
            a.kill();
        });
        let three = client.steps_until(None, || {});
        drop(client);
        let node_a = format!("pid {}", a_pid(&one.1));
        (one, two, three, node_a)
    })
    .await
    .expect("the client's phases");

    let (steps, end) = phase_one;
    assert_eq!(steps, (1..=20).collect::<Vec<_>>(), "every step once, in order, across the cut: {end}");
    assert_eq!(end["phase"], "resumed");
    assert!(end["text"].as_str().unwrap().starts_with("counted to 20 on pid "), "{end}");

    let (steps, end) = phase_two;
    assert_eq!(end, serde_json::json!({ "phase": "killed", "outcome": "failed" }));
    let last = *steps.last().unwrap();
    assert!(last >= 10);
    assert_eq!(steps, (1..=last).collect::<Vec<_>>(), "no gap and nothing twice across the kill");

    let (steps, end) = phase_three;
    assert_eq!(steps, vec![1, 2, 3]);
    assert_eq!(end["phase"], "after");
    let on = end["text"].as_str().unwrap().trim_start_matches("counted to 3 on ").to_owned();
    assert_ne!(on, node_a, "the session went on on the node left");
    assert_eq!(end["resource"], format!("read on {on}"));
}

/// The pid in `counted to N on pid <pid>`.
fn a_pid(end: &Value) -> String {
    end["text"].as_str().unwrap_or_default().rsplit(' ').next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_resumes_across_nodes_and_outlives_a_killed_one() {
    let (Some(node), Some(packages)) = (installed("SISK_MCP_NODE"), installed("SISK_MCP_NPM")) else { return };
    let Some(redis) = RedisServer::start() else { return };
    three_phases(&redis, |url| {
        let mut command = Command::new(&node);
        command.arg(client_script("mcp_typescript_cluster_client.mjs")).arg(url).arg(&packages);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_resumes_across_nodes_and_outlives_a_killed_one() {
    let Some(python) = installed("SISK_MCP_PYTHON") else { return };
    let Some(redis) = RedisServer::start() else { return };
    three_phases(&redis, |url| {
        let mut command = Command::new(&python);
        command.arg(client_script("mcp_python_cluster_client.py")).arg(url);
        command
    })
    .await;
}
