//! [`RedisProcess`]: a `redis-server` (Debian's package) that a benchmark starts on a free loopback port
//! without persistence (`--save "" --appendonly no`), measures through `/proc` like the servers, asks for
//! its per-command statistics over a plain socket, and stops by its pid when dropped.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::cpu_time;

/// How long `redis-server` may take to answer its first `PING`, and any command its answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`; dropping it kills it.
#[derive(Debug)]
pub struct RedisProcess {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

/// What `INFO commandstats` says of one command since the statistics were last reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStat {
    /// The command, lower case (`eval`, `xread`, …).
    pub name: String,
    /// How many times it ran (a command a script runs counts too, and its time is also in the script's).
    pub calls: u64,
    /// The microseconds Redis spent running it.
    pub usec: u64,
}

impl RedisProcess {
    /// Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers `PING`.
    pub fn start() -> io::Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start redis-server: {e} (apt-get install redis-server)"))
            })?;
        let redis = RedisProcess { port, child };
        let started = Instant::now();
        loop {
            match redis.command(&["PING"]) {
                Ok(pong) if pong == "PONG" => return Ok(redis),
                _ if started.elapsed() > TIMEOUT => {
                    return Err(io::Error::other(format!("redis-server did not answer PING within {TIMEOUT:?}")))
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user and system) it has used so far.
    pub fn cpu(&self) -> io::Result<Duration> {
        cpu_time(self.pid())
    }

    /// Runs one command on a connection of its own and returns the answer as text: a status, a bulk
    /// string or an integer. An error answer, or any other kind, is an error.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        let mut socket = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        socket.set_read_timeout(Some(TIMEOUT))?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.extend([format!("${}\r\n", arg.len()).as_str(), arg, "\r\n"]);
        }
        socket.write_all(request.as_bytes())?;
        let mut buffer = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(answer) = parse_answer(&buffer)? {
                return Ok(answer);
            }
            let mut chunk = [0u8; 4096];
            let read = socket.read(&mut chunk)?;
            if read == 0 || Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "redis-server did not answer in full"));
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Sets its command statistics back to zero (`CONFIG RESETSTAT`).
    pub fn reset_stats(&self) -> io::Result<()> {
        self.command(&["CONFIG", "RESETSTAT"]).map(drop)
    }

    /// Its command statistics since they were last reset (`INFO commandstats`), busiest first.
    pub fn command_stats(&self) -> io::Result<Vec<CommandStat>> {
        let mut stats = parse_command_stats(&self.command(&["INFO", "commandstats"])?);
        stats.sort_by_key(|s| std::cmp::Reverse(s.usec));
        Ok(stats)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A whole answer at the start of `buffer`, as text; `None` while it is incomplete.
fn parse_answer(buffer: &[u8]) -> io::Result<Option<String>> {
    let Some(line_end) = buffer.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&buffer[1..line_end]).into_owned();
    match buffer[0] {
        b'+' | b':' => Ok(Some(line)),
        b'-' => Err(io::Error::other(format!("redis-server answered an error: {line}"))),
        b'$' => {
            let length: usize =
                line.parse().map_err(|_| io::Error::other(format!("redis-server answered a bulk of `{line}`")))?;
            let start = line_end + 2;
            Ok((buffer.len() >= start + length)
                .then(|| String::from_utf8_lossy(&buffer[start..start + length]).into_owned()))
        }
        other => Err(io::Error::other(format!("redis-server answered a kind this client does not read: {other}"))),
    }
}

/// The `cmdstat_<name>:calls=…,usec=…,…` lines of `INFO commandstats`.
fn parse_command_stats(info: &str) -> Vec<CommandStat> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |wanted: &str| {
                fields.split(',').find_map(|pair| pair.strip_prefix(wanted)?.strip_prefix('=')?.parse::<u64>().ok())
            };
            Some(CommandStat { name: name.to_owned(), calls: field("calls")?, usec: field("usec")? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_whole_or_not_at_all() {
        assert_eq!(parse_answer(b"+PONG\r\n").unwrap().as_deref(), Some("PONG"));
        assert_eq!(parse_answer(b"$5\r\nhel").unwrap(), None);
        assert_eq!(parse_answer(b"$5\r\nhello\r\n").unwrap().as_deref(), Some("hello"));
        assert!(parse_answer(b"-ERR nope\r\n").is_err());
    }

    #[test]
    fn command_stats_are_parsed() {
        let info = "# Commandstats\r\ncmdstat_eval:calls=12,usec=96,usec_per_call=8.00,rejected_calls=0\r\n\
                    cmdstat_xread:calls=3,usec=9,usec_per_call=3.00\r\n";
        let stats = parse_command_stats(info);
        assert_eq!(stats[0], CommandStat { name: "eval".to_owned(), calls: 12, usec: 96 });
        assert_eq!(stats[1].name, "xread");
    }
}
