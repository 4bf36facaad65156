//! [`RedisBackplane`]: the event log shared on one Redis stream (`XADD … MAXLEN ~`), read by every node
//! with `XREAD BLOCK` from the last id it has, on a connection of its own.
//!
//! Keys (all under one hash tag, so Redis Cluster keeps them on one shard): `{prefix}:log`, the stream;
//! `{prefix}:epoch`, the epoch, created with `SET NX` by whichever node finds it missing — a Redis that
//! comes back empty gets a new one, and every node tells its clients they are stale (a node reads the
//! epoch with each heartbeat, and reloads its window from the stream when it changed: the new stream's
//! first ids may be at or below the last one read); `{prefix}:nodes` and
//! `{prefix}:connections`, each live node and its count of open identified connections, for the cluster
//! view; `{prefix}:record:<key>`, one hash per [shared record](SharedRecords), with its expiry;
//! `{prefix}:appends:<node>`, what a node appended lately, so that a retry whose first answer was lost
//! appends nothing twice (see `APPEND`). Each entry carries its epoch (`ep`) beside the [`LogEntry`]
//! fields, added by a script that reads the epoch and appends in one step, so no entry lands under an
//! epoch it does not belong to.
//!
//! Two connections per node: appends go in batches, one script call each, on one; the blocking read
//! has its own, whose response timeout is the longest block and two seconds more (the `redis` crate's
//! default would cut an `XREAD BLOCK`; none at all would never notice a partition), and is never
//! cancelled mid-command (it blocks for at most a second, and the loop checks for shutdown between
//! reads). Through Sentinel, a subscription on each Sentinel besides: both connections move to a new
//! master as soon as one is announced (see `master_switches`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::backplane::master_switches::{MasterSwitches, SwitchView};
use crate::backplane::redis_access::{failure_cause, RedisAccess, Topology};
use crate::backplane::redis_connection::RedisConnection;
use crate::backplane::{AppendReply, Backplane, BoxFuture, LogEntry, PresenceEntry, SharedLog, SharedRecords};
use crate::http::streams::{new_epoch, now_millis, EventId, Position};
use crate::notice::{notice, Notice};
use crate::Error;

/// Appends a batch of this node's entries, all or none, each once: a retry of an entry that already
/// landed (its answer was lost to a connection that broke) is answered with the epoch and id it got, not
/// appended again. Each node numbers its entries in the order it first sends them and keeps, in a hash
/// of its own, the number of the last one that landed (`n`) and what its last batch was answered
/// (`sent`: `<number> <epoch> <id>` for each entry, space-separated). That is enough: the entries a node
/// sends again are always some of those of the batch it sent last, whose answer it did not get. The
/// epoch is read first, and created if the key is missing (a Redis that came back empty gets a new one),
/// so the common case costs one `GET`, not a `SET NX` besides. KEYS: epoch, stream, this node's hash.
/// ARGV: candidate epoch, max length, how long the hash outlives the batch (ms), then for each entry its
/// number, its count of fields, and its field–value pairs. Answers `{epoch, id}` for each entry, or
/// `{'', ''}` for one that landed but is not in the last batch's answer (which a node never asks).
const APPEND: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local landed = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local last, earlier, answers, sent = nil, nil, {}, {}
local at = 4
while at <= #ARGV do
  local number, first = ARGV[at], at + 2
  at = first + 2 * tonumber(ARGV[at + 1])
  local answer
  if tonumber(number) <= landed then
    if not earlier then
      earlier = {}
      for was, was_epoch, was_id in string.gmatch(redis.call('HGET', KEYS[3], 'sent') or '', '(%d+) (%S+) (%S+)') do
        earlier[was] = {was_epoch, was_id}
      end
    end
    answer = earlier[number] or {'', ''}
  else
    answer = {epoch, redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'ep', epoch, unpack(ARGV, first, at - 1))}
    last = number
  end
  answers[#answers + 1] = answer
  if answer[1] ~= '' then
    sent[#sent + 1] = number .. ' ' .. answer[1] .. ' ' .. answer[2]
  end
end
if last then
  redis.call('HSET', KEYS[3], 'n', last, 'sent', table.concat(sent, ' '))
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return answers
";

/// Starts a new epoch in place of `ARGV[1]` (unless another node did already, or the key is gone and
/// this one sets it): what a node does when the stream lost entries it had delivered. Returns the epoch
/// there is. KEYS: epoch. ARGV: the epoch that lost entries, a candidate new one.
const REPLACE_EPOCH: &str = r"
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or epoch == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return epoch
";

/// Restarts a record's expiry and reads it, in one step. KEYS: the record. ARGV: its time to live in ms.
const TOUCH: &str = r"
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HGETALL', KEYS[1])
end
return false
";

/// Sets a field of a record that still exists. KEYS: the record. ARGV: field, value.
const SET_FIELD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
";

/// Most entries appended in one pipeline.
const BATCH: usize = 256;
/// How long a node's hash of appends outlives the node's last batch. A node cut off from Redis for
/// longer than this, with entries still waiting in its outbox, may append one of them twice.
const APPENDS_KEPT: Duration = Duration::from_secs(24 * 60 * 60);
/// Most entries read by one `XREAD`.
const READ_COUNT: usize = 1024;
/// How long one `XREAD` blocks.
const READ_BLOCK: Duration = Duration::from_secs(1);
/// How long the reading connection waits for an answer: a blocking read's longest block and two seconds
/// more. A Redis cut off by a partition (nothing answers, nothing closes) is noticed in that time, and
/// a healthy blocking read is never cut short.
const READ_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a node counts as live after it last reported: a node killed without a word is counted for
/// up to this long.
const NODE_TTL: Duration = Duration::from_secs(3);
/// How often a node reports that it is live, with its count of connections (the blocking read is cut
/// short to keep the beat).
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// How long `start` waits for Redis before it serves from the node's own window.
const START_WAIT: Duration = Duration::from_secs(3);

/// A backplane on Redis Streams.
///
/// ```no_run
/// use sisk::backplane::RedisBackplane;
/// use sisk::prelude::*;
///
/// # async fn run(r: Router) -> Result<(), sisk::Error> {
/// let app = HttpServer::create_builder()
///     .use_listening_port("http://0.0.0.0:5000/")
///     .use_router(r)
///     .use_backplane(RedisBackplane::new("redis://127.0.0.1:6379/0").key_prefix("myapp"))
///     .build()?;
/// app.start().await
/// # }
/// ```
#[derive(Debug)]
pub struct RedisBackplane {
    access: RedisAccess,
    prefix: String,
    outbox: usize,
    /// Replicas an append waits for (`WAIT`), and for how long.
    replicas: Option<(usize, Duration)>,
    node: String,
    reachable: AtomicBool,
    /// Why Redis could not be reached, last time it could not (logged when it changes).
    failure: std::sync::Mutex<Option<String>>,
    /// The connection for queries, once opened, with the view of the master switches it was opened at.
    queries: tokio::sync::Mutex<Option<(RedisConnection, SwitchView)>>,
    /// Through Sentinel: the master switches announced, after which connections reconnect.
    switches: MasterSwitches,
    /// Entries waiting for the appending task (taken by `start`).
    sender: mpsc::Sender<Pending>,
    receiver: std::sync::Mutex<Option<mpsc::Receiver<Pending>>>,
}

/// A stream entry as Redis returns it: its id, and its fields and values in turn.
type StreamEntry = (String, Vec<String>);

/// An entry on its way to the shared log.
#[derive(Debug)]
struct Pending {
    fields: Vec<(&'static str, String)>,
    reply: Option<AppendReply>,
    /// Its number among this node's appends, given when it is first sent (0 until then).
    number: u64,
}

/// The keys of one app.
#[derive(Debug, Clone)]
struct Keys {
    stream: String,
    epoch: String,
    nodes: String,
    connections: String,
    records: String,
    /// This node's appends: the number of the last that landed, and what its last batch was answered.
    appends: String,
}

impl RedisBackplane {
    /// A backplane on the Redis at `url`, with the key prefix `sisk`: `redis://host:port/db`, or
    /// `rediss://host:port/db` for TLS (on rustls, trusting the system's CAs unless
    /// [`tls_root_certificate`](Self::tls_root_certificate) gives one); an ACL user and password may be
    /// in the URL (`rediss://user:password@host:port/db`) or given with
    /// [`credentials`](Self::credentials). Logs and errors never show the password.
    pub fn new(url: impl Into<String>) -> Self {
        let access = RedisAccess { url: url.into(), ..RedisAccess::default() };
        Self::with_queue(access, "sisk".to_owned(), 0)
    }

    /// A backplane on the Redis master that the Sentinels at `sentinels` (`redis://host:26379`, one or
    /// more) know as `master`: each connection asks them where the master is, so after a failover the
    /// node reconnects to the promoted replica and reads on from its last id. The master is reached with
    /// the user, password and TLS of [`credentials`](Self::credentials) and the certificates given (for
    /// TLS to the master, see [`master_url`](Self::master_url)).
    ///
    /// Replication is asynchronous: a failover can lose entries the old master had acknowledged. A node
    /// that already delivered one of them finds, when it reconnects, that its last entry is gone from the
    /// promoted master's stream; it then starts a new epoch of the log, so every node's clients get the
    /// stale signal, as for any gap — never a silent gap, never an id used twice.
    /// [`wait_for_replicas`](Self::wait_for_replicas) makes an append wait until replicas have it.
    pub fn sentinel(sentinels: impl IntoIterator<Item = impl Into<String>>, master: impl Into<String>) -> Self {
        let sentinels: Vec<String> = sentinels.into_iter().map(Into::into).collect();
        let topology = Topology::Sentinel { sentinels, master: master.into() };
        let access = RedisAccess { topology, url: "redis://sentinel-master/".to_owned(), ..RedisAccess::default() };
        Self::with_queue(access, "sisk".to_owned(), 0)
    }

    /// For a backplane found through [Sentinel](Self::sentinel): the user, password, database and
    /// scheme of `url` (`rediss://user:password@any/0`) are those the master is reached with; its host
    /// and port are not used (the Sentinels say where the master is).
    pub fn master_url(mut self, url: impl Into<String>) -> Self {
        self.access.url = url.into();
        self
    }

    /// A backplane on the Redis Cluster reached through `nodes` (`redis://host:port`, one or more; it
    /// finds the others). Every key of the backplane has one hash tag, the key prefix, so one app's log
    /// lives on one shard (and one core) of the cluster; the connection follows `MOVED` and `ASK`
    /// redirections, a slot migrating to another master, and a failover to a replica. For more than one
    /// shard's worth of events, give each log its own prefix (a tenant, a room family) and so its own
    /// shard.
    pub fn cluster(nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        let url = nodes.first().cloned().unwrap_or_default();
        let access = RedisAccess { topology: Topology::Cluster { nodes }, url, ..RedisAccess::default() };
        Self::with_queue(access, "sisk".to_owned(), 0)
    }

    fn with_queue(access: RedisAccess, prefix: String, outbox: usize) -> Self {
        // What waits for the appending task: the outbox, or a batch's worth of entries in flight.
        let (sender, receiver) = mpsc::channel(outbox.max(4 * BATCH));
        RedisBackplane {
            access,
            prefix,
            outbox,
            replicas: None,
            node: new_epoch().to_string(),
            reachable: AtomicBool::new(false),
            failure: std::sync::Mutex::new(None),
            queries: tokio::sync::Mutex::new(None),
            switches: MasterSwitches::default(),
            sender,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }

    /// The prefix of every key (default `sisk`): one per app sharing a Redis.
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        let replicas = self.replicas;
        Self { replicas, ..Self::with_queue(self.access, prefix.into(), self.outbox) }
    }

    /// Logs in as the ACL user `username` with `password` (Redis 6's `AUTH username password`), in
    /// place of any user and password in the URL. For the default user, give `"default"`.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.access.username = Some(username.into());
        self.access.password = Some(password.into());
        self
    }

    /// Trusts the CA whose certificate `pem` holds (PEM) for Redis's certificate, in place of the
    /// system's CAs: a Redis with a certificate of its own CA, as managed offerings and most private
    /// setups have. Needs a `rediss://` URL.
    ///
    /// ```no_run
    /// use sisk::backplane::RedisBackplane;
    ///
    /// # fn run() -> std::io::Result<()> {
    /// let backplane = RedisBackplane::new("rediss://redis.internal:6380/0")
    ///     .credentials("sisk-app", std::env::var("REDIS_PASSWORD").unwrap_or_default())
    ///     .tls_root_certificate(std::fs::read("/etc/redis/ca.crt")?);
    /// # let _ = backplane;
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.access.root_certificate = Some(pem.into());
        self
    }

    /// Shows the certificate `certificate_pem`, with its private key `key_pem` (both PEM), to a Redis
    /// that asks clients for one (`tls-auth-clients yes`). Needs a `rediss://` URL.
    pub fn tls_client_certificate(mut self, certificate_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.access.client_certificate = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Lets up to `entries` events wait while Redis is unreachable, appended in order once it is back
    /// (default 0: publishing fails at once while Redis is unreachable). A full outbox fails at once too.
    pub fn outbox(self, entries: usize) -> Self {
        let replicas = self.replicas;
        Self { replicas, ..Self::with_queue(self.access, self.prefix, entries) }
    }

    /// Makes each append wait, before its publisher is answered, until `replicas` replicas have it, for
    /// at most `timeout` (Redis's `WAIT`): a publish that waits (`publish_async` and the like) returns
    /// only then. When fewer replicas have it in time, it fails with
    /// [`ErrorKind::NotReplicated`](crate::ErrorKind::NotReplicated): the event *is* in the log and may
    /// reach every client, but a failover now could lose it. Without it (the default), an append is
    /// answered as soon as the master has it. What it costs is measured in `BENCHMARKS.md`.
    pub fn wait_for_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.replicas = (replicas > 0).then_some((replicas, timeout));
        self
    }

    fn keys(&self) -> Keys {
        let tag = format!("{{{}}}", self.prefix);
        Keys {
            stream: format!("{tag}:log"),
            epoch: format!("{tag}:epoch"),
            nodes: format!("{tag}:nodes"),
            connections: format!("{tag}:connections"),
            records: format!("{tag}:record:"),
            appends: format!("{tag}:appends:{}", self.node),
        }
    }

    async fn connect(&self, response_timeout: Option<Duration>) -> Result<RedisConnection, redis::RedisError> {
        self.access.connect(response_timeout).await
    }

    /// A connection with the append script loaded; returns it and the script's hash.
    async fn connect_with_script(
        &self,
        response_timeout: Option<Duration>,
    ) -> Result<(RedisConnection, String), redis::RedisError> {
        let mut conn = self.connect(response_timeout).await?;
        let append: String = redis::cmd("SCRIPT").arg("LOAD").arg(APPEND).query_async(&mut conn).await?;
        Ok((conn, append))
    }

    /// The connection for queries (the cluster count, the records), opened once and shared until it
    /// fails or a Sentinel names another master.
    async fn query_connection(&self) -> Result<RedisConnection, redis::RedisError> {
        let mut queries = self.queries.lock().await;
        if let Some((conn, switches)) = &*queries {
            if !switches.switched() {
                return Ok(conn.clone());
            }
        }
        let mut switches = self.switches.view();
        switches.opening();
        let conn = self.connect(Some(Duration::from_secs(2))).await?;
        Ok(queries.insert((conn, switches)).0.clone())
    }

    /// The query connection, for a shared record.
    async fn records_connection(&self) -> Result<RedisConnection, Error> {
        self.query_connection().await.map_err(records_unreachable)
    }

    /// What a query on the records answered; a failure drops the query connection (the next query
    /// opens another).
    async fn settle<T>(&self, answered: Result<T, redis::RedisError>) -> Result<T, Error> {
        if answered.is_err() {
            *self.queries.lock().await = None;
        }
        answered.map_err(records_unreachable)
    }

    /// Redis answered.
    fn set_reachable(&self) {
        crate::sync::lock(&self.failure).take();
        if !self.reachable.swap(true, Ordering::Relaxed) {
            tracing::info!(url = %self.access.shown(), "the Redis backplane is reachable");
        }
    }

    /// Redis could not be reached, because of `err`: said when it was reachable before, or when the
    /// cause changed (a wrong password fixed, then the network down), not at every retry.
    fn set_unreachable(&self, err: &redis::RedisError) {
        let cause = failure_cause(err);
        let was_reachable = self.reachable.swap(false, Ordering::Relaxed);
        let changed = crate::sync::lock(&self.failure).replace(cause.clone()).as_ref() != Some(&cause);
        if was_reachable || changed {
            tracing::warn!(url = %self.access.shown(), %cause, "the Redis backplane cannot reach Redis; publishing fails until it is back");
        }
    }

    /// Why Redis cannot be reached, as last seen.
    fn failure(&self) -> String {
        crate::sync::lock(&self.failure).clone().unwrap_or_else(|| "it has not answered yet".to_owned())
    }

    /// Appends what arrives, in order, in batches (one script call each). The connection is kept open (and reopened
    /// as soon as it fails, which is what says Redis is reachable again); a batch that fails on a
    /// connection that just broke is tried once more on a new one. After that, an entry whose caller
    /// waits is failed; the others, which were taken, wait for Redis (or for the server to stop). A
    /// batch lands whole or not at all, and an entry sent again after it landed is not appended twice
    /// (see `APPEND`).
    async fn append_loop(self: Arc<Self>, mut receiver: mpsc::Receiver<Pending>, log: SharedLog) {
        let keys = self.keys();
        let mut waiting: VecDeque<Pending> = VecDeque::new();
        // The connection, and the SHA1 of the append script loaded on it (sent by hash, not whole: the
        // script's text was most of Redis's work per event).
        let mut connection: Option<(RedisConnection, String)> = None;
        let mut backoff = Backoff::default();
        let mut retried = false;
        let mut numbered = 0;
        let mut switches = self.switches.view();
        loop {
            // A Sentinel named another master: what is sent from now on goes to it.
            if connection.is_some() && switches.switched() {
                connection = None;
            }
            let Some((conn, append)) = &mut connection else {
                switches.opening();
                match self.connect_with_script(Some(Duration::from_secs(5))).await {
                    Ok(loaded) => {
                        connection = Some(loaded);
                        self.set_reachable();
                        backoff.reset();
                    }
                    Err(err) => {
                        // Take what arrived meanwhile too, so a caller that waits is told now, not when
                        // Redis comes back.
                        Self::take_more(&mut receiver, &mut waiting);
                        self.fail_batch(&mut waiting, &err);
                        if backoff.wait(&log).await {
                            return;
                        }
                    }
                }
                continue;
            };
            if waiting.is_empty() {
                tokio::select! {
                    next = receiver.recv() => match next {
                        Some(pending) => waiting.push_back(pending),
                        None => return,
                    },
                    () = log.stopping() => return,
                }
            }
            Self::take_more(&mut receiver, &mut waiting);
            let batch = waiting.len().min(BATCH);
            let mut pipeline = redis::pipe();
            let command = pipeline.cmd("EVALSHA").arg(&*append).arg(3);
            command.arg(&keys.epoch).arg(&keys.stream).arg(&keys.appends);
            command.arg(new_epoch().to_string()).arg(log.window_size().max(1) * 2).arg(millis(APPENDS_KEPT));
            for pending in waiting.iter_mut().take(batch) {
                // Numbered in the order they are first sent, so a number at or below the last that
                // landed is an entry sent before (see `APPEND`).
                if pending.number == 0 {
                    numbered += 1;
                    pending.number = numbered;
                }
                command.arg(pending.number).arg(pending.fields.len());
                for (field, value) in &pending.fields {
                    command.arg(*field).arg(value);
                }
            }
            if let Some((replicas, timeout)) = self.replicas {
                pipeline.cmd("WAIT").arg(replicas).arg(millis(timeout));
            }
            match pipeline.query_async::<Vec<redis::Value>>(conn).await.and_then(|answers| appended(answers, batch)) {
                Ok((appended, replicated)) => {
                    retried = false;
                    let short = self.replicas.filter(|(replicas, _)| replicated.is_some_and(|acked| acked < *replicas));
                    for (pending, (epoch, id)) in waiting.drain(..batch).zip(appended) {
                        if let Some(reply) = pending.reply {
                            let answer = match (event_id(&epoch, &id), short) {
                                (Ok(id), Some((replicas, timeout))) => {
                                    Err(Error::not_replicated(&id, replicated.unwrap_or(0), replicas, timeout))
                                }
                                (answer, _) => answer,
                            };
                            let _ = reply.send(answer);
                        }
                    }
                }
                Err(err) => {
                    connection = None;
                    if !retried {
                        retried = true;
                        continue;
                    }
                    retried = false;
                    self.fail_batch(&mut waiting, &err);
                }
            }
        }
    }

    /// Moves what waits in the channel to `waiting`, up to a batch.
    fn take_more(receiver: &mut mpsc::Receiver<Pending>, waiting: &mut VecDeque<Pending>) {
        while waiting.len() < BATCH {
            match receiver.try_recv() {
                Ok(pending) => waiting.push_back(pending),
                Err(_) => break,
            }
        }
    }

    /// Redis did not take a batch: those whose caller waits are told (that Redis may have the entry, when
    /// it was sent: its answer may be what was lost); the others wait for a retry.
    fn fail_batch(&self, waiting: &mut VecDeque<Pending>, err: &redis::RedisError) {
        self.set_unreachable(err);
        tracing::debug!(error = %err, "appending to the Redis stream failed");
        waiting.retain_mut(|pending| match pending.reply.take() {
            Some(reply) => {
                let why = format!("Redis: {}", failure_cause(err));
                let failed = match pending.number {
                    0 => Error::broker_unavailable(why),
                    _ => Error::broker_unanswered(why),
                };
                let _ = reply.send(Err(failed.caused_by(err.clone())));
                false
            }
            None => true,
        });
    }

    /// Follows the stream: on each (re)connection, checks the epoch and, when needed, loads the recent
    /// window; then reads on from the last id until the connection fails or the server stops.
    async fn read_loop(self: Arc<Self>, log: SharedLog, ready: tokio::sync::oneshot::Sender<()>) {
        let keys = self.keys();
        let mut ready = Some(ready);
        let mut last: Option<Position> = None;
        let mut backoff = Backoff::default();
        let mut switches = self.switches.view();
        while !log.is_stopping() {
            let result = async {
                switches.opening();
                let mut conn = self.connect(Some(READ_RESPONSE_TIMEOUT)).await?;
                // The epoch there is, created if missing; `SET NX` never replaces another node's.
                let (mut epoch,): (String,) = redis::pipe()
                    .cmd("SET")
                    .arg(&keys.epoch)
                    .arg(new_epoch().to_string())
                    .arg("NX")
                    .ignore()
                    .cmd("GET")
                    .arg(&keys.epoch)
                    .query_async(&mut conn)
                    .await?;
                if epoch != log.epoch() {
                    log.set_epoch(&epoch);
                    last = None;
                }
                if let Some(position) = last.filter(|position| *position != Position::default()) {
                    if let Some(replaced) = self.check_still_there(&mut conn, &keys, &epoch, position).await? {
                        log.set_epoch(&replaced);
                        epoch = replaced;
                        last = None;
                    }
                }
                if last.is_none() {
                    last = Some(self.load_window(&mut conn, &keys, &log, &epoch).await?);
                }
                self.set_reachable();
                backoff.reset();
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                let mut reported = tokio::time::Instant::now() - NODE_TTL;
                while !log.is_stopping() {
                    if reported.elapsed() >= REPORT_EVERY {
                        let now_there = self.report(&mut conn, &keys, &log).await?;
                        reported = tokio::time::Instant::now();
                        if now_there.as_deref() != Some(epoch.as_str()) {
                            // The log started anew (emptied, or another node found entries lost) and
                            // nothing was read under the new epoch: its first ids need not come after
                            // the last one read, so the reconnection reads it from its start.
                            return Ok(());
                        }
                    }
                    // `BLOCK 0` would block for ever: at least a millisecond.
                    let block = READ_BLOCK.min(REPORT_EVERY.saturating_sub(reported.elapsed()));
                    let block = block.as_millis().max(1) as u64;
                    let from = last.map(|p| p.to_string()).unwrap_or_else(|| "0-0".to_owned());
                    let reply: Option<Vec<(String, Vec<StreamEntry>)>> = redis::cmd("XREAD")
                        .arg("COUNT")
                        .arg(READ_COUNT)
                        .arg("BLOCK")
                        .arg(block)
                        .arg("STREAMS")
                        .arg(&keys.stream)
                        .arg(from)
                        .query_async(&mut conn)
                        .await?;
                    for (_, entries) in reply.unwrap_or_default() {
                        for (id, fields) in entries {
                            if entry_epoch(&fields).is_some_and(|theirs| theirs != epoch) {
                                // An entry of a log that started anew: the entries before it under the
                                // new epoch may have ids at or below the last one read (a stream made
                                // again in the same millisecond), which this read skipped. The
                                // reconnection loads the new log's window, all of it.
                                last = None;
                                return Ok(());
                            }
                            if let Some(position) = self.deliver(&log, &id, &fields, &epoch) {
                                last = Some(position);
                            }
                        }
                    }
                    // A Sentinel named another master: read on from it (checking it has what was read).
                    if switches.switched() {
                        break;
                    }
                }
                Ok::<(), redis::RedisError>(())
            }
            .await;
            if let Err(err) = result {
                tracing::debug!(error = %err, "reading the Redis stream failed; reconnecting");
                self.set_unreachable(&err);
                if backoff.wait(&log).await {
                    return;
                }
            }
        }
    }

    /// Checks, on a new connection, that the last entry this node delivered is still in the stream. When
    /// it is gone but the stream does not begin after it, the Redis now answering lost entries it had
    /// acknowledged (a replica promoted before it had them): a new epoch is started, and returned, so
    /// that every node tells its clients what they saw is gone and no id is given twice. When the
    /// stream begins after it, this node fell further behind than the stream keeps (`MAXLEN`); that is
    /// logged.
    async fn check_still_there(
        &self,
        conn: &mut RedisConnection,
        keys: &Keys,
        epoch: &str,
        last: Position,
    ) -> Result<Option<String>, redis::RedisError> {
        let id = last.to_string();
        let (at_last, first): (Vec<StreamEntry>, Vec<StreamEntry>) = redis::pipe()
            .cmd("XRANGE")
            .arg(&keys.stream)
            .arg(&id)
            .arg(&id)
            .cmd("XRANGE")
            .arg(&keys.stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        if !at_last.is_empty() {
            return Ok(None);
        }
        let first: Option<Position> = first.first().and_then(|(id, _)| id.parse().ok());
        if first.is_some_and(|first| first > last) {
            tracing::warn!(
                last = %id,
                "this node fell further behind than the Redis stream keeps; the events between are gone for its clients"
            );
            return Ok(None);
        }
        let replaced: String = redis::Script::new(REPLACE_EPOCH)
            .key(&keys.epoch)
            .arg(epoch)
            .arg(new_epoch().to_string())
            .invoke_async(conn)
            .await?;
        notice(
            Notice::Warn,
            format_args!(
                "the Redis stream lost entries this node had delivered (up to {id}; a failover to a replica that \
                 did not have them?): the log starts a new epoch and clients are told they are stale"
            ),
        );
        Ok(Some(replaced))
    }

    /// Loads the newest entries of the stream into the window; returns the position to read on from.
    async fn load_window(
        &self,
        conn: &mut RedisConnection,
        keys: &Keys,
        log: &SharedLog,
        epoch: &str,
    ) -> Result<Position, redis::RedisError> {
        let size = log.window_size();
        let newest: Vec<StreamEntry> = redis::cmd("XREVRANGE")
            .arg(&keys.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(size.max(1))
            .query_async(conn)
            .await?;
        let Some((newest_id, _)) = newest.first() else {
            return Ok(Position::default());
        };
        let newest_position = newest_id.parse().unwrap_or_default();
        if size == 0 {
            return Ok(newest_position);
        }
        if newest.len() == size {
            if let Some(first) = newest.last().and_then(|(id, _)| id.parse().ok()) {
                log.starts_at(first);
            }
        }
        for (id, fields) in newest.iter().rev() {
            self.deliver(log, id, fields, epoch);
        }
        Ok(newest_position)
    }

    /// Hands one stream entry of `epoch` to the window; returns its position. An entry under another
    /// epoch is skipped (a leftover of a log that is gone).
    fn deliver(&self, log: &SharedLog, id: &str, fields: &[String], epoch: &str) -> Option<Position> {
        let position: Position = id.parse().ok()?;
        if entry_epoch(fields)? != epoch {
            return Some(position);
        }
        let pairs: Vec<(&str, &str)> = fields.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
        let fields = pairs.into_iter().filter(|(field, _)| *field != "ep");
        if fields.clone().any(|(field, _)| field == "pr") {
            match PresenceEntry::from_fields(fields) {
                Some(entry) => log.presence(position, entry),
                None => tracing::warn!(id, "an entry of the Redis stream is not a presence entry; skipped"),
            }
        } else {
            match LogEntry::from_fields(fields) {
                Some(entry) => log.receive(position, entry),
                None => tracing::warn!(id, "an entry of the Redis stream is not an event; skipped"),
            }
        }
        Some(position)
    }

    /// Says this node is live, with its count of open identified connections, and learns which nodes
    /// are live: the connections of the others are forgotten. Returns the epoch there is now (none if
    /// the key is gone).
    async fn report(
        &self,
        conn: &mut RedisConnection,
        keys: &Keys,
        log: &SharedLog,
    ) -> Result<Option<String>, redis::RedisError> {
        let now = now_millis();
        let (live, epoch): (Vec<String>, Option<String>) = redis::pipe()
            .cmd("ZADD")
            .arg(&keys.nodes)
            .arg(now + NODE_TTL.as_millis() as u64)
            .arg(&self.node)
            .ignore()
            .cmd("HSET")
            .arg(&keys.connections)
            .arg(&self.node)
            .arg(log.local_connections())
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&keys.nodes)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("ZRANGE")
            .arg(&keys.nodes)
            .arg(0)
            .arg(-1)
            .cmd("GET")
            .arg(&keys.epoch)
            .query_async(conn)
            .await?;
        log.live_nodes(&live);
        Ok(epoch)
    }
}

impl Backplane for RedisBackplane {
    fn start(self: Arc<Self>, log: SharedLog) -> BoxFuture<()> {
        Box::pin(async move {
            let receiver = crate::sync::lock(&self.receiver).take();
            let Some(receiver) = receiver else {
                tracing::warn!("this Redis backplane was already started");
                return;
            };
            if let Topology::Sentinel { sentinels, master } = &self.access.topology {
                for url in sentinels.clone() {
                    let (backplane, master, log) = (self.clone(), master.clone(), log.clone());
                    tokio::spawn(async move { backplane.switches.follow(url, master, log).await });
                }
            }
            tokio::spawn(self.clone().append_loop(receiver, log.clone()));
            let (ready, is_ready) = tokio::sync::oneshot::channel();
            tokio::spawn(self.clone().read_loop(log, ready));
            if tokio::time::timeout(START_WAIT, is_ready).await.is_err() {
                notice(
                    Notice::Warn,
                    format_args!(
                        "the Redis backplane cannot reach {} ({}); serving from this node's own window until it is back",
                        self.access.shown(),
                        self.failure()
                    ),
                );
            }
        })
    }

    fn append(&self, entry: LogEntry, reply: Option<AppendReply>) -> Result<(), Error> {
        let fields = entry.to_fields()?;
        if self.outbox == 0 && !self.reachable.load(Ordering::Relaxed) {
            return Err(Error::broker_unavailable(format!(
                "Redis at {} cannot be reached: {}",
                self.access.shown(),
                self.failure()
            )));
        }
        self.sender.try_send(Pending { fields, reply, number: 0 }).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => Error::broker_unavailable("the backplane's outbox is full"),
            mpsc::error::TrySendError::Closed(_) => Error::broker_unavailable("the backplane is not running"),
        })
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn announce(&self, entry: PresenceEntry) {
        if let Err(err) = self.sender.try_send(Pending { fields: entry.to_fields(), reply: None, number: 0 }) {
            tracing::debug!(error = %err, "a presence entry could not be queued; dropped");
        }
    }

    fn records(self: Arc<Self>) -> Option<Arc<dyn SharedRecords>> {
        Some(self)
    }

    fn other_nodes_connections(self: Arc<Self>) -> BoxFuture<Result<usize, Error>> {
        Box::pin(async move {
            let unavailable =
                |err: redis::RedisError| Error::cluster_unreachable(format!("Redis: {err}")).caused_by(err);
            let keys = self.keys();
            let mut conn = self.query_connection().await.map_err(unavailable)?;
            let counted = async {
                let mut live: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                    .arg(&keys.nodes)
                    .arg(now_millis())
                    .arg("+inf")
                    .query_async(&mut conn)
                    .await?;
                live.retain(|node| *node != self.node);
                if live.is_empty() {
                    return Ok(0);
                }
                let counts: Vec<Option<usize>> =
                    redis::cmd("HMGET").arg(&keys.connections).arg(&live).query_async(&mut conn).await?;
                Ok(counts.into_iter().flatten().sum())
            }
            .await;
            if counted.is_err() {
                *self.queries.lock().await = None;
            }
            counted.map_err(unavailable)
        })
    }
}

/// The records live beside the log, under its hash tag: `{prefix}:record:<key>`.
impl SharedRecords for RedisBackplane {
    fn create(
        self: Arc<Self>,
        key: String,
        fields: Vec<(String, String)>,
        ttl: Duration,
    ) -> BoxFuture<Result<(), Error>> {
        let key = format!("{}{key}", self.keys().records);
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.atomic().del(&key).ignore();
            if !fields.is_empty() {
                pipe.hset_multiple(&key, &fields).ignore();
            }
            pipe.pexpire(&key, millis(ttl)).ignore();
            let mut conn = self.records_connection().await?;
            let answered = pipe.query_async::<()>(&mut conn).await;
            self.settle(answered).await
        })
    }

    fn touch(self: Arc<Self>, key: String, ttl: Duration) -> BoxFuture<Result<Option<HashMap<String, String>>, Error>> {
        let key = format!("{}{key}", self.keys().records);
        Box::pin(async move {
            let mut conn = self.records_connection().await?;
            let answered: Result<Option<Vec<String>>, _> =
                redis::Script::new(TOUCH).key(&key).arg(millis(ttl)).invoke_async(&mut conn).await;
            let fields = self.settle(answered).await?;
            Ok(fields.map(|fields| fields.chunks_exact(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect()))
        })
    }

    fn set_field(self: Arc<Self>, key: String, field: String, value: String) -> BoxFuture<Result<bool, Error>> {
        let key = format!("{}{key}", self.keys().records);
        Box::pin(async move {
            let mut conn = self.records_connection().await?;
            let answered: Result<i64, _> =
                redis::Script::new(SET_FIELD).key(&key).arg(&field).arg(&value).invoke_async(&mut conn).await;
            Ok(self.settle(answered).await? == 1)
        })
    }

    fn remove(self: Arc<Self>, key: String) -> BoxFuture<Result<bool, Error>> {
        let key = format!("{}{key}", self.keys().records);
        Box::pin(async move {
            let mut conn = self.records_connection().await?;
            let answered: Result<i64, _> = redis::cmd("DEL").arg(&key).query_async(&mut conn).await;
            Ok(self.settle(answered).await? == 1)
        })
    }
}

/// What an append pipeline answered: each entry's epoch and id, and `WAIT`'s count of replicas when it
/// was asked.
type Appended = (Vec<(String, String)>, Option<usize>);

/// The answers of an append pipeline of `batch` entries, read: the script's, then `WAIT`'s if asked.
fn appended(answers: Vec<redis::Value>, batch: usize) -> redis::RedisResult<Appended> {
    let mut answers = answers.into_iter();
    let script = answers.next().ok_or_else(|| unanswered("the append script"))?;
    let appended: Vec<(String, String)> = redis::from_redis_value(script)?;
    if appended.len() != batch {
        return Err(unanswered("an entry of the batch"));
    }
    let replicated = answers.next().map(redis::from_redis_value::<usize>).transpose()?;
    Ok((appended, replicated))
}

/// Redis's answer to an append left `what` out.
fn unanswered(what: &str) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "Redis's answer to an append is short",
        what.to_owned(),
    ))
}

/// The epoch an entry of the stream was appended under (its `ep` field).
fn entry_epoch(fields: &[String]) -> Option<&str> {
    fields.chunks_exact(2).find(|pair| pair[0] == "ep").map(|pair| pair[1].as_str())
}

fn records_unreachable(err: redis::RedisError) -> Error {
    Error::records_unreachable(format!("Redis: {err}")).caused_by(err)
}

/// `duration` in whole milliseconds, at least one (Redis refuses an expiry of 0).
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The id of an entry appended under `epoch` at stream id `id`.
fn event_id(epoch: &str, id: &str) -> Result<EventId, Error> {
    let position: Position =
        id.parse().map_err(|()| Error::broker_unavailable(format!("Redis answered an odd stream id {id:?}")))?;
    Ok(EventId::new(Arc::from(epoch), position))
}

/// Waits between retries: 50 ms, doubling up to 1 s.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// Waits the next delay; true when the server began to stop meanwhile.
    async fn wait(&mut self, log: &SharedLog) -> bool {
        let delay = self.next.unwrap_or(Duration::from_millis(50));
        self.next = Some((delay * 2).min(Duration::from_secs(1)));
        tokio::select! {
            () = tokio::time::sleep(delay) => log.is_stopping(),
            () = log.stopping() => true,
        }
    }

    fn reset(&mut self) {
        self.next = None;
    }
}
