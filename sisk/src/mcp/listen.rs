//! The streams of `subscriptions/listen` (revision 2026-07-28), where a stateless client hears of
//! changes: each open stream's filter (which lists, which resources), and the delivery of a change to
//! the streams that asked for it, each notification tagged with its stream's subscription id (the id
//! of the `subscriptions/listen` request).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::mcp::json_rpc;
use crate::sync::lock;

/// The `_meta` key that names the stream a notification was delivered on.
pub(crate) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// What a listen stream asked to hear of (its `notifications` filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: HashSet<String>,
}

impl Filter {
    /// The filter of a `subscriptions/listen` request's `notifications`.
    pub(crate) fn of(notifications: &Value) -> Filter {
        let flag = |name: &str| notifications.get(name).and_then(Value::as_bool).unwrap_or(false);
        let uris = notifications.get("resourceSubscriptions").and_then(Value::as_array);
        Filter {
            tools: flag("toolsListChanged"),
            prompts: flag("promptsListChanged"),
            resources: flag("resourcesListChanged"),
            uris: uris.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect(),
        }
    }

    /// The filter as the acknowledgement tells it back: what the server will send.
    pub(crate) fn to_value(&self) -> Value {
        let mut filter = serde_json::Map::new();
        for (name, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                filter.insert(name.to_owned(), json!(true));
            }
        }
        if !self.uris.is_empty() {
            let mut uris: Vec<&String> = self.uris.iter().collect();
            uris.sort();
            filter.insert("resourceSubscriptions".to_owned(), json!(uris));
        }
        Value::Object(filter)
    }

    fn wants_list(&self, method: &str) -> bool {
        match method {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            _ => false,
        }
    }
}

struct Listener {
    subscription: Value,
    filter: Filter,
    sink: UnboundedSender<Value>,
}

impl Listener {
    fn tell(&self, method: &str, mut params: Value) -> bool {
        params["_meta"] = json!({ SUBSCRIPTION_ID: self.subscription });
        self.sink.send(json_rpc::notification(method, params)).is_ok()
    }
}

/// The listen streams this node holds for one provider.
#[derive(Default)]
pub(crate) struct Listeners {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Listener>>,
}

/// A listen stream's place among the [`Listeners`]: it leaves them when dropped.
pub(crate) struct Listening {
    listeners: Arc<Listeners>,
    key: u64,
}

impl Drop for Listening {
    fn drop(&mut self) {
        lock(&self.listeners.open).remove(&self.key);
    }
}

impl Listeners {
    /// Adds the stream opened by request `subscription` with `filter`: the notifications for it come
    /// out of the receiver, until the [`Listening`] is dropped.
    pub(crate) fn add(self: &Arc<Self>, subscription: Value, filter: Filter) -> (Listening, UnboundedReceiver<Value>) {
        let (sink, notifications) = unbounded_channel();
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(key, Listener { subscription, filter, sink });
        (Listening { listeners: self.clone(), key }, notifications)
    }

    /// Tells the streams that asked for it that a list changed (`method` is its notification).
    pub(crate) fn list_changed(&self, method: &str) {
        for listener in lock(&self.open).values().filter(|listener| listener.filter.wants_list(method)) {
            listener.tell(method, json!({}));
        }
    }

    /// Tells the streams subscribed to `uri` that it changed; returns how many.
    pub(crate) fn updated(&self, uri: &str) -> usize {
        let open = lock(&self.open);
        let subscribed = open.values().filter(|listener| listener.filter.uris.contains(uri));
        subscribed.filter(|listener| listener.tell("notifications/resources/updated", json!({ "uri": uri }))).count()
    }

    /// How many streams are open.
    pub(crate) fn len(&self) -> usize {
        lock(&self.open).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reaches_the_streams_whose_filter_takes_it_tagged_with_their_subscription() {
        let listeners = Arc::new(Listeners::default());
        let tools = Filter::of(&json!({ "toolsListChanged": true }));
        let board = Filter::of(&json!({ "resourceSubscriptions": ["notes://board"] }));
        let (tools_stream, mut tools_heard) = listeners.add(json!(7), tools);
        let (_board_stream, mut board_heard) = listeners.add(json!("b"), board);

        listeners.list_changed("notifications/tools/list_changed");
        listeners.list_changed("notifications/prompts/list_changed");
        assert_eq!(listeners.updated("notes://board"), 1);

        let heard = tools_heard.try_recv().unwrap();
        assert_eq!(heard["method"], "notifications/tools/list_changed");
        assert_eq!(heard["params"]["_meta"][SUBSCRIPTION_ID], 7);
        assert!(tools_heard.try_recv().is_err());
        let heard = board_heard.try_recv().unwrap();
        assert_eq!(
            (heard["params"]["uri"].as_str(), &heard["params"]["_meta"][SUBSCRIPTION_ID]),
            (Some("notes://board"), &json!("b"))
        );
        assert!(board_heard.try_recv().is_err());

        drop(tools_stream);
        assert_eq!(listeners.len(), 1);
    }
}
