//! A headless Debian chromium driven through chromedriver (WebDriver, with fantoccini): where they are
//! installed ([`Installation`]), and a browser session that cleans up after itself ([`Browser`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::support::process::Process;

/// How long chromedriver may take to listen, and the browser to open a session.
const START_LIMIT: Duration = Duration::from_secs(20);

/// The install command this test needs, for messages.
pub const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// Flags for a browser that runs as root in a container with no network beyond 127.0.0.1: no sandbox, no
/// GPU, and none of the background traffic (updates, sync, QUIC probes) that would stall there.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// The chromium and chromedriver executables found on `PATH`.
#[derive(Debug)]
pub struct Installation {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Installation {
    /// Both executables, or `None` when either is missing.
    pub fn find() -> Option<Installation> {
        Some(Installation { chromium: on_path("chromium")?, chromedriver: on_path("chromedriver")? })
    }
}

/// The first executable file called `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A browser profile directory, made fresh and removed when dropped.
#[derive(Debug)]
struct Profile(PathBuf);

impl Profile {
    /// A directory of its own, also beside the other browsers of this process (tests run in parallel).
    fn fresh() -> Profile {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("chromium-profile-{}-{n}", std::process::id());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Profile(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A WebDriver session with a headless chromium. Ending it with [`Browser::quit`] closes the session; when
/// a test fails first, dropping it kills chromedriver and the browser with it, then removes the profile.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client of the session.
    pub client: Client,
    // Dropped in this order: the driver's process group (chromium included) goes before its profile.
    _driver: Process,
    _profile: Profile,
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port and opens a session with a fresh profile; chromium
    /// gets `extra_flags` besides the usual ones.
    ///
    /// # Panics
    /// When chromedriver does not start, or the browser does not open a session, within the start limit.
    pub async fn launch(installation: &Installation, extra_flags: &[&str]) -> Browser {
        let profile = Profile::fresh();
        let mut command = Command::new(&installation.chromedriver);
        command.args(["--port=0", "--log-level=WARNING"]).stderr(Stdio::null());
        let (driver, port) = Process::start(&mut command, START_LIMIT, |line| {
            let port = line.strip_prefix("ChromeDriver was started successfully on port ")?;
            Some(port.trim_end_matches('.').to_owned())
        });

        let mut args: Vec<String> = FLAGS.iter().chain(extra_flags).map(|flag| flag.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.0.display()));
        let mut capabilities = Capabilities::new();
        capabilities.insert("goog:chromeOptions".to_owned(), json!({ "binary": installation.chromium, "args": args }));
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = tokio::time::timeout(START_LIMIT, builder.connect(&format!("http://127.0.0.1:{port}")))
            .await
            .unwrap_or_else(|_| panic!("chromium did not open a WebDriver session within {START_LIMIT:?}"))
            .unwrap_or_else(|e| panic!("chromium did not open a WebDriver session: {e}"));
        Browser { client, _driver: driver, _profile: profile }
    }

    /// Closes the session (the browser quits), then stops chromedriver and removes the profile.
    pub async fn quit(self) {
        let _ = tokio::time::timeout(START_LIMIT, self.client.close()).await;
    }
}
