//! [`StreamRegistry`]: the registry of identified streams a web developer writes when the framework has
//! none — a map from identifier to the sending half of a bounded channel — shared by the hyper, axum and
//! raw tokio servers so that they differ only in what their own idiom requires.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_stream::Stream;

use crate::contract::QUEUE_CAPACITY;

/// Open streams by identifier. A stream leaves when its [`RegisteredStream`] is dropped (the framework
/// drops the response body when the client goes away); a new stream with an identifier already present
/// replaces the old one, whose channel then ends.
#[derive(Debug)]
pub struct StreamRegistry<T> {
    streams: RwLock<HashMap<Arc<str>, Entry<T>>>,
    tickets: AtomicU64,
}

#[derive(Debug)]
struct Entry<T> {
    ticket: u64,
    sender: mpsc::Sender<T>,
}

impl<T> Default for StreamRegistry<T> {
    fn default() -> Self {
        StreamRegistry { streams: RwLock::default(), tickets: AtomicU64::new(0) }
    }
}

impl<T: Clone> StreamRegistry<T> {
    /// Registers a stream under `id` and returns the messages it will receive.
    pub fn open(self: &Arc<Self>, id: &str) -> RegisteredStream<T> {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        let id: Arc<str> = Arc::from(id);
        self.streams.write().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), Entry { ticket, sender });
        RegisteredStream { receiver, registry: self.clone(), id, ticket }
    }

    /// Queues `message` for every stream whose identifier starts with `prefix`; returns how many took it
    /// (a stream whose queue is full is skipped).
    pub fn broadcast(&self, prefix: &str, message: &T) -> usize {
        let streams = self.streams.read().unwrap_or_else(|e| e.into_inner());
        streams
            .iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .filter(|(_, entry)| entry.sender.try_send(message.clone()).is_ok())
            .count()
    }

    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.streams.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no stream is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The receiving side of one registered stream; dropping it unregisters the stream.
#[derive(Debug)]
pub struct RegisteredStream<T> {
    receiver: mpsc::Receiver<T>,
    registry: Arc<StreamRegistry<T>>,
    id: Arc<str>,
    ticket: u64,
}

impl<T> RegisteredStream<T> {
    /// The next message; `None` once a newer stream replaced this one.
    pub async fn recv(&mut self) -> Option<T> {
        self.receiver.recv().await
    }
}

impl<T> Stream for RegisteredStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.receiver.poll_recv(cx)
    }
}

impl<T> Drop for RegisteredStream<T> {
    fn drop(&mut self) {
        let mut streams = self.registry.streams.write().unwrap_or_else(|e| e.into_inner());
        if streams.get(&self.id).is_some_and(|entry| entry.ticket == self.ticket) {
            streams.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn broadcast_reaches_matching_prefixes_and_drop_unregisters() {
        let registry = Arc::new(StreamRegistry::<u32>::default());
        let mut a1 = registry.open("a1");
        let mut a2 = registry.open("a2");
        let b1 = registry.open("b1");
        assert_eq!(registry.broadcast("a", &7), 2);
        assert_eq!(a1.recv().await, Some(7));
        assert_eq!(a2.recv().await, Some(7));
        drop(b1);
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.broadcast("", &8), 2);
    }

    #[tokio::test]
    async fn a_new_stream_replaces_the_old_and_the_old_drop_keeps_the_new() {
        let registry = Arc::new(StreamRegistry::<u32>::default());
        let mut old = registry.open("x");
        let new = registry.open("x");
        assert_eq!(old.recv().await, None, "the replaced stream ends");
        drop(old);
        assert_eq!(registry.len(), 1);
        drop(new);
        assert!(registry.is_empty());
    }
}
