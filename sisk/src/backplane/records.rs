//! [`SharedRecords`]: small records with an expiry that every node of a backplane reads and writes —
//! the state a client leaves on one node and comes back for on another (an MCP session's protocol
//! version, capabilities, logging level and subscriptions), kept by the broker so no node has to be
//! sticky.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::backplane::BoxFuture;
use crate::Error;

/// Records of named fields, each expiring `ttl` after it was last written or touched. Every method
/// fails with [`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable) when the broker
/// cannot be asked; then nothing was changed.
pub trait SharedRecords: Send + Sync + 'static {
    /// Writes record `key` with `fields` (replacing any record of that key), to expire after `ttl`.
    fn create(
        self: Arc<Self>,
        key: String,
        fields: Vec<(String, String)>,
        ttl: Duration,
    ) -> BoxFuture<Result<(), Error>>;

    /// Reads record `key` and restarts its expiry at `ttl`; `None` once it expired or was removed.
    fn touch(self: Arc<Self>, key: String, ttl: Duration) -> BoxFuture<Result<Option<HashMap<String, String>>, Error>>;

    /// Sets one field of record `key` if the record still exists; false when it does not.
    fn set_field(self: Arc<Self>, key: String, field: String, value: String) -> BoxFuture<Result<bool, Error>>;

    /// Removes record `key`; false when there was none.
    fn remove(self: Arc<Self>, key: String) -> BoxFuture<Result<bool, Error>>;
}
