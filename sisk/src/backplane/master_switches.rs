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

impl MasterSwitches {
    /// A view of the address, for one connection: it has changed once a switch was announced after the
    /// connection marked it ([`watch::Receiver::borrow_and_update`]) when it opened.
    pub(crate) fn watch(&self) -> watch::Receiver<String> {
        self.announced.subscribe()
    }

    /// Listens to the Sentinel at `url` for switches of `master`, until the server stops; reconnects to
    /// it when its connection fails.
    pub(crate) async fn follow(&self, url: String, master: String, log: SharedLog) {
        while !log.is_stopping() {
            let listened = async {
                let mut pubsub = redis::Client::open(url.as_str())?.get_async_pubsub().await?;
                pubsub.subscribe("+switch-master").await?;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    // `<master name> <old ip> <old port> <new ip> <new port>`.
                    let payload: String = message.get_payload()?;
                    let words: Vec<&str> = payload.split(' ').collect();
                    let [name, _, _, ip, port] = words[..] else { continue };
                    if name != master {
                        continue;
                    }
                    let address = format!("{ip} {port}");
                    let switched = self.announced.send_if_modified(|announced| {
                        let changed = *announced != address;
                        if changed {
                            announced.clone_from(&address);
                        }
                        changed
                    });
                    if switched {
                        tracing::info!(%master, new = %address, "a Sentinel switched the master; reconnecting to the new one");
                    }
                }
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                listened = listened => {
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
}
