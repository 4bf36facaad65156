//! Following a Sentinel failover as it happens: each Sentinel announces on its `+switch-master` channel
//! the moment it names a new master. Without listening, a node's connections stay on the old master
//! until the Sentinel demotes it (at its next look at it, up to ten seconds later), and what the node
//! appends there meanwhile is lost when it resyncs. [`MasterSwitches`] keeps the address last announced
//! for one master name (several Sentinels announce the same switch: it changes once); the backplane's
//! connections see that it changed since they were opened, and reconnect, asking the Sentinels for the
//! master again.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::backplane::SharedLog;

/// How long a Sentinel that cannot be reached is left before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often a Sentinel listened to is pinged: a connection that went silent (a partition, a NAT that
/// forgot it) would otherwise be listened to for ever, and its announcements lost.
const PING_EVERY: Duration = Duration::from_secs(1);
/// How long a Sentinel has to answer a ping, or a step of setting up the subscription.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The address of the master the Sentinels last announced for one master name (`ip port`; empty
/// until the first switch).
#[derive(Debug)]
pub(crate) struct MasterSwitches {
    announced: watch::Sender<String>,
}

impl Default for MasterSwitches {
    fn default() -> Self {
        MasterSwitches { announced: watch::channel(String::new()).0 }
    }
}

/// One connection's view of the switches: whether a switch was announced since it opened.
#[derive(Debug)]
pub(crate) struct SwitchView {
    announced: watch::Receiver<String>,
}

impl SwitchView {
    /// The connection is opening now: switches announced before do not concern it.
    pub(crate) fn opening(&mut self) {
        self.announced.borrow_and_update();
    }

    /// A switch was announced since the connection opened: it should reconnect.
    pub(crate) fn switched(&self) -> bool {
        self.announced.has_changed().unwrap_or(false)
    }
}

impl MasterSwitches {
    /// A view for one connection, to be marked with [`SwitchView::opening`] each time it (re)connects.
    pub(crate) fn view(&self) -> SwitchView {
        SwitchView { announced: self.announced.subscribe() }
    }

    /// Listens to the Sentinel at `url` for switches of `master`, until the server stops; reconnects to
    /// it when its connection fails or it stops answering pings. Each time it listens anew, it asks the
    /// Sentinel for the master too: a switch announced while the node was not listening is not
    /// announced again.
    pub(crate) async fn follow(&self, url: String, master: String, log: SharedLog) {
        let mut listened_before = false;
        while !log.is_stopping() {
            let listened = async {
                let client = redis::Client::open(url.as_str())?;
                let (mut sink, mut messages) = answered(client.get_async_pubsub()).await?.split();
                answered(sink.subscribe("+switch-master")).await?;
                let mut conn = answered(client.get_multiplexed_async_connection()).await?;
                let mut ask = redis::cmd("SENTINEL");
                ask.arg("GET-MASTER-ADDR-BY-NAME").arg(&master);
                let (ip, port): (String, String) = answered(ask.query_async(&mut conn)).await?;
                drop(conn);
                // The first time, this is the master the connections were opened at.
                self.announce(&master, format!("{ip} {port}"), listened_before);
                listened_before = true;
                let mut beat = tokio::time::interval(PING_EVERY);
                beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        message = messages.next() => {
                            let Some(message) = message else { return Ok(()) };
                            // `<master name> <old ip> <old port> <new ip> <new port>`.
                            let payload: String = message.get_payload()?;
                            let words: Vec<&str> = payload.split(' ').collect();
                            if let [name, _, _, ip, port] = words[..] {
                                if name == master {
                                    self.announce(&master, format!("{ip} {port}"), true);
                                }
                            }
                        }
                        _ = beat.tick() => {
                            answered(sink.ping::<redis::Value>()).await?;
                        }
                    }
                }
            };
            tokio::select! {
                listened = listened => {
                    let listened: redis::RedisResult<()> = listened;
                    if let Err(err) = listened {
                        tracing::debug!(%url, error = %err, "listening to a Sentinel failed; trying again");
                    }
                }
                () = log.stopping() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(RETRY_AFTER) => {}
                () = log.stopping() => return,
            }
        }
    }

    /// `master` is at `address`: when that is news and `tell`, the connections are told (not the first
    /// time, when it is the master they were opened at).
    fn announce(&self, master: &str, address: String, tell: bool) {
        let switched = self.announced.send_if_modified(|announced| {
            let changed = *announced != address;
            if changed {
                *announced = address.clone();
            }
            changed && tell
        });
        if switched {
            tracing::info!(%master, new = %address, "a Sentinel switched the master; reconnecting to the new one");
        }
    }
}

/// What `request` answers, or a timeout error when the Sentinel does not answer in time.
async fn answered<T>(request: impl std::future::Future<Output = redis::RedisResult<T>>) -> redis::RedisResult<T> {
    match tokio::time::timeout(ANSWER_WITHIN, request).await {
        Ok(answer) => answer,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the Sentinel did not answer in time").into()),
    }
}
