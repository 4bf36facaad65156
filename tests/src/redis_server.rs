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
    /// Arguments beyond the port and persistence (TLS files, ACL users).
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one without persistence on a free port. `None` when `redis-server` is not installed (the
    /// test should then return, having passed), except under CI, where that panics.
    pub fn start() -> Option<RedisServer> {
        Self::start_in(None, Vec::new(), false)
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
            let mut server = RedisServer { port, tls_port, data: data.clone(), extra: extra.clone(), child: None };
            if server.try_restart() {
                return Some(server);
            }
        }
        panic!("redis-server could not start on a free port in ten tries");
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
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""]);
        if let Some(tls_port) = self.tls_port {
            command.args(["--tls-port", &tls_port.to_string()]);
        }
        command.args(&self.extra);
        match &self.data {
            Some(dir) => command.args(["--appendonly", "yes", "--appendfsync", "always", "--dir"]).arg(dir),
            None => command.args(["--appendonly", "no"]),
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
        if let Some(dir) = &self.data {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
