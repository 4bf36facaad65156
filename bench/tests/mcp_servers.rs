//! Both MCP servers of `mcp-compare` (`mcp-sisk`, `mcp-rmcp`) serve the same fixtures
//! (`sisk_bench::mcp::fixtures`): each is started as its own process, as the driver does, and checked
//! through the driver's own measurements at a tiny size, which check every answer. This runs in CI;
//! the measurements themselves do not.

use std::path::Path;
use std::time::Duration;

use sisk_bench::mcp::calls;
use sisk_bench::mcp::protocol::Mode;
use sisk_bench::mcp::resume::{self, Scenario};
use sisk_bench::mcp::{sessions, McpServer};

fn directory() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mcp-sisk")).parent().expect("the binaries' directory")
}

async fn round_trips_are_right(server: McpServer) {
    let process = server.start_in(directory()).expect("the server starts");
    for (mode, answered_as) in [(Mode::Stateless, "JSON"), (Mode::Session, "SSE")] {
        let result = calls::run(&process, mode, 2, Duration::from_millis(200)).await.expect("the calls run");
        assert_eq!((result.errors, result.first_error.as_deref()), (0, None), "{}, {}", server.name(), mode.label());
        assert!(result.calls > 0, "{}, {}", server.name(), mode.label());
        assert_eq!(result.answered_as(), answered_as, "{}, {}", server.name(), mode.label());
    }
    let idle = sessions::run(&process, 10).await.expect("ten idle sessions open");
    assert_eq!(idle.sessions, 10);
}

#[tokio::test(flavor = "current_thread")]
async fn sisk_answers_every_call() {
    round_trips_are_right(McpServer::Sisk).await;
}

#[tokio::test(flavor = "current_thread")]
async fn rmcp_answers_every_call() {
    round_trips_are_right(McpServer::Rmcp).await;
}

#[tokio::test(flavor = "current_thread")]
async fn sisk_resumes_every_event_once() {
    let process = McpServer::Sisk.start_in(directory()).expect("the server starts");
    for scenario in Scenario::ALL {
        let trial = resume::trial(&process, scenario, 50, 1).await.expect("the trial runs");
        assert_eq!(trial.failure, None, "{}", scenario.label());
        assert!(trial.time.is_some(), "{}", scenario.label());
        assert_eq!((trial.lost, trial.duplicated, trial.out_of_order, trial.answers), (0, 0, 0, 1));
    }
}
