//! [`RedisServer`]: a real `redis-server` (Debian's package) on a free loopback port, started for one
//! test and stopped by its pid — or, where it is not installed, a note that the test did not run (a
//! failure under CI, where `.ci/run` installs it).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a `redis-server` may take to answer its first `PING`.
const START_LIMIT: Duration = Duration::from_secs(10);

/// A running `redis-server`; dropping it kills it.
#[derive(Debug)]
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its TLS port on 127.0.0.1, when it has one.
    pub tls_port: Option<u16>,
    /// Where it keeps its append-only file, when it has one.
    data: Option<PathBuf>,
    /// Arguments beyond the port and persistence (TLS files, ACL users, the master it replicates).
    extra: Vec<String>,
    /// For a Sentinel: its configuration file (Sentinel rewrites it as it learns).
    sentinel_config: Option<PathBuf>,
    /// A folder of its own to remove when it stops (a cluster node's configuration).
    scratch: Option<PathBuf>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one without persistence on a free port. `None` when `redis-server` is not installed (the
    /// test should then return, having passed), except under CI, where that panics.
    pub fn start() -> Option<RedisServer> {
        Self::start_in(None, Vec::new(), false)
    }

    /// Starts one that a Sentinel cannot demote (its `REPLICAOF` and `SLAVEOF` renamed away): after a
    /// failover it stays a master and takes writes, as an old master does until the Sentinel next looks
    /// at it (up to ten seconds), for as long as the test needs.
    pub fn start_refusing_demotion() -> Option<RedisServer> {
        let renamed = ["--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", ""];
        Self::start_in(None, renamed.iter().map(|arg| arg.to_string()).collect(), false)
    }

    /// Starts one that also listens for TLS with the certificates of `tls` (asking clients for one of
    /// theirs when `client_certificates`), and has the ACL user `user` with `password` beside the default
    /// user, allowed only what the book says a backplane's user needs, on the keys of the prefixes
    /// `sisk`, `tls` and `mtls`. The plain port stays, for the readiness check.
    pub fn start_tls(
        tls: &crate::tls_files::TlsFiles,
        client_certificates: bool,
        user: &str,
        password: &str,
    ) -> Option<RedisServer> {
        let mut extra: Vec<String> = vec![
            "--tls-cert-file".into(),
            tls.path("server.crt"),
            "--tls-key-file".into(),
            tls.path("server.key"),
            "--tls-ca-cert-file".into(),
            tls.path("ca.crt"),
            "--tls-auth-clients".into(),
            (if client_certificates { "yes" } else { "no" }).into(),
        ];
        let password = format!(">{password}");
        let acl = ["--user", user, "on", &password, "~{sisk}*", "~{tls}*", "~{mtls}*", "&*"];
        let commands = ["+@read", "+@write", "+@stream", "+@scripting", "+ping", "+client"];
        extra.extend(acl.iter().chain(&commands).map(|arg| arg.to_string()));
        Self::start_in(None, extra, true)
    }

    /// Starts one that writes every command to an append-only file (`appendfsync always`), so a restart
    /// brings its data back.
    pub fn start_persistent() -> Option<RedisServer> {
        let dir = std::env::temp_dir().join(format!("sisk-redis-{}-{}", std::process::id(), crate::unique()));
        std::fs::create_dir_all(&dir).expect("a directory for the append-only file");
        Self::start_in(Some(dir), Vec::new(), false)
    }

    fn start_in(data: Option<PathBuf>, extra: Vec<String>, tls: bool) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "redis-server is not installed (apt-get install -y redis-server); under CI it must be");
            let _ = writeln!(
                std::io::stderr(),
                "\nskipped: redis-server is not installed (apt-get install -y redis-server)\n"
            );
            return None;
        }
        // A port found free may be taken before the server binds it (by a test running beside this
        // one): then this server exits at once, and another port is tried.
        for _ in 0..10 {
            let free = || {
                TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("a free port").port()
            };
            let (port, tls_port) = (free(), tls.then(free));
            let mut server = RedisServer {
                port,
                tls_port,
                data: data.clone(),
                extra: extra.clone(),
                sentinel_config: None,
                scratch: None,
                child: None,
            };
            if server.try_restart() {
                return Some(server);
            }
        }
        panic!("redis-server could not start on a free port in ten tries");
    }

    /// Starts an empty node of a Redis Cluster (`--cluster-enabled yes`, a node timeout of one second), its
    /// cluster configuration in a folder of its own; `redis-cli --cluster create` makes nodes a cluster.
    pub fn start_cluster_node() -> Option<RedisServer> {
        let dir = std::env::temp_dir().join(format!("sisk-cluster-{}-{}", std::process::id(), crate::unique()));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster configuration");
        let extra = vec![
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-node-timeout".into(),
            "1000".into(),
            "--dir".into(),
            dir.to_string_lossy().into_owned(),
        ];
        let mut node = Self::start_in(None, extra, false)?;
        node.scratch = Some(dir);
        Some(node)
    }

    /// Starts a replica of the master at 127.0.0.1:`master_port` (`--replicaof`; the port of a proxy in
    /// front of the master, for a link the test can partition), without persistence.
    pub fn start_replica_of(master_port: u16) -> Option<RedisServer> {
        let extra = vec!["--replicaof".into(), "127.0.0.1".into(), master_port.to_string()];
        Self::start_in(None, extra, false)
    }

    /// Starts a Sentinel (`redis-server --sentinel`) that watches `master` under the name `name`, with a
    /// quorum of one and a master counted down after `down_after` without an answer.
    pub fn start_sentinel(master: &RedisServer, name: &str, down_after: Duration) -> Option<RedisServer> {
        let dir = std::env::temp_dir().join(format!("sisk-sentinel-{}-{}", std::process::id(), crate::unique()));
        std::fs::create_dir_all(&dir).expect("a directory for the Sentinel's configuration");
        let config = dir.join("sentinel.conf");
        let text = format!(
            "bind 127.0.0.1\nsentinel monitor {name} 127.0.0.1 {port} 1\nsentinel down-after-milliseconds {name} {ms}\n\
             sentinel failover-timeout {name} 10000\nsentinel parallel-syncs {name} 1\n",
            port = master.port,
            ms = down_after.as_millis(),
        );
        std::fs::write(&config, text).expect("the Sentinel's configuration is written");
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            return Self::start_in(None, Vec::new(), false); // says it is missing (and fails under CI)
        }
        for _ in 0..10 {
            let port =
                TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("a free port").port();
            let mut sentinel = RedisServer {
                port,
                tls_port: None,
                data: Some(dir.clone()),
                extra: Vec::new(),
                sentinel_config: Some(config.clone()),
                scratch: None,
                child: None,
            };
            if sentinel.try_restart() {
                return Some(sentinel);
            }
        }
        panic!("redis-server --sentinel could not start on a free port in ten tries");
    }

    /// Stops it (SIGSTOP) without closing anything: it neither answers nor replicates until
    /// [`resume`](Self::resume).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running server");
        let sent = Command::new("kill").arg(signal).arg(child.id().to_string()).status().expect("kill runs");
        assert!(sent.success(), "kill {signal} {}", child.id());
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `rediss://<user_info>@127.0.0.1:<tls port>/` (or without user info when it is empty).
    pub fn tls_url(&self, user_info: &str) -> String {
        let port = self.tls_port.expect("a server started with start_tls");
        let user_info = if user_info.is_empty() { String::new() } else { format!("{user_info}@") };
        format!("rediss://{user_info}127.0.0.1:{port}/")
    }

    /// Kills it (SIGKILL, by pid), as a crash or a lost machine would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port — empty, or with its data back when it is persistent — and
    /// waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.try_restart(), "redis-server could not start again on port {}", self.port);
    }

    /// Starts it on its port; false when it exits at once (the port is taken).
    fn try_restart(&mut self) -> bool {
        self.kill();
        let mut command = Command::new("redis-server");
        if let Some(config) = &self.sentinel_config {
            command.arg(config).arg("--sentinel");
        }
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""]);
        if let Some(tls_port) = self.tls_port {
            command.args(["--tls-port", &tls_port.to_string()]);
        }
        command.args(&self.extra);
        match (&self.data, &self.sentinel_config) {
            (_, Some(_)) => &mut command,
            (Some(dir), None) => command.args(["--appendonly", "yes", "--appendfsync", "always", "--dir"]).arg(dir),
            (None, None) => command.args(["--appendonly", "no"]),
        };
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if self.exited() {
                self.child = None;
                return false;
            }
            // Answered, and by this server: it is still running after the answer.
            if self.answers_ping() && !self.exited() {
                return true;
            }
            assert!(started.elapsed() < START_LIMIT, "redis-server did not answer PING within {START_LIMIT:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn exited(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_some())
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        for dir in [&self.data, &self.scratch].into_iter().flatten() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
