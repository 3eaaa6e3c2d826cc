//! [`StreamMap`]: many keyed streams merged into one.

use std::borrow::Borrow;
use std::fmt;
use std::future::poll_fn;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use crate::macros::support::thread_rng_n;

/// Streams under keys, read as one stream of `(key, item)` pairs.
///
/// Each poll starts at a random entry and goes round the others, so one
/// stream that always has an item ready cannot keep the rest waiting. A
/// stream that ends is removed (and its key with it); the map as a stream
/// ends when it holds no stream, so an empty map yields `None` at once.
///
/// The entries are kept in a vector, not a hash table: lookups by key
/// ([`insert`](Self::insert), [`remove`](Self::remove),
/// [`contains_key`](Self::contains_key)) scan it, which suits the tens or
/// hundreds of streams a map usually holds, and polling walks it without
/// indirection.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use runtime::stream::StreamMap;
/// use runtime::stream::wrappers::ReceiverStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (tx1, rx1) = runtime::sync::mpsc::channel(4);
/// let (tx2, rx2) = runtime::sync::mpsc::channel(4);
/// let mut map = StreamMap::new();
/// map.insert("one", ReceiverStream::new(rx1));
/// map.insert("two", ReceiverStream::new(rx2));
/// tx1.send(1).await.unwrap();
/// tx2.send(2).await.unwrap();
/// drop((tx1, tx2));
///
/// let mut seen: Vec<(&str, i32)> = map.collect().await;
/// seen.sort();
/// assert_eq!(seen, [("one", 1), ("two", 2)]);
/// # });
/// ```
pub struct StreamMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> StreamMap<K, V> {
    /// An empty map.
    pub fn new() -> StreamMap<K, V> {
        StreamMap {
            entries: Vec::new(),
        }
    }

    /// An empty map with room for `capacity` streams.
    pub fn with_capacity(capacity: usize) -> StreamMap<K, V> {
        StreamMap {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.entries.iter()
    }

    /// The entries, mutably, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (K, V)> {
        self.entries.iter_mut()
    }

    /// The keys, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The streams, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The streams, mutably, in no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// How many streams the map can hold before it reallocates.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// How many streams the map holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds no stream.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every stream.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Adds `stream` under `key`, returning the stream that was under
    /// `key` before, if any (it is no longer polled).
    pub fn insert(&mut self, key: K, stream: V) -> Option<V>
    where
        K: Hash + Eq,
    {
        let old = self.remove(&key);
        self.entries.push((key, stream));
        old
    }

    /// Takes out the stream under `key`, if there is one.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.entries.iter().position(|(k, _)| k.borrow() == key)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// Whether a stream is under `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.iter().any(|(k, _)| k.borrow() == key)
    }
}

impl<K, V> StreamMap<K, V>
where
    K: Clone + Unpin,
    V: Stream + Unpin,
{
    /// Polls every stream once, from a random one round the rest: the
    /// first item found (and its key), `None` when the map is (or has just
    /// become) empty, or `Pending` (each pending stream will wake `cx`).
    fn poll_one(&mut self, cx: &mut Context<'_>) -> Poll<Option<(K, V::Item)>> {
        let len = self.entries.len();
        if len == 0 {
            return Poll::Ready(None);
        }
        let mut idx = rand_index(len);
        // Each stream is polled at most once; an ended one is removed and
        // the last entry takes its index, so the walk stays on `idx`.
        for _ in 0..len {
            if idx >= self.entries.len() {
                idx = 0;
            }
            let (key, stream) = &mut self.entries[idx];
            match Pin::new(stream).poll_next(cx) {
                Poll::Ready(Some(item)) => return Poll::Ready(Some((key.clone(), item))),
                Poll::Ready(None) => {
                    self.entries.swap_remove(idx);
                    if self.entries.is_empty() {
                        return Poll::Ready(None);
                    }
                }
                Poll::Pending => idx += 1,
            }
        }
        Poll::Pending
    }

    /// Moves up to `limit` items, with their keys, into `buffer`: what the
    /// streams have ready, taken round-robin from a random start. Returns
    /// how many it moved; `Ready(0)` means the map is empty (every stream
    /// has ended), or `limit` was 0. `Pending` means no stream had an item,
    /// and each of them will wake `cx`.
    pub fn poll_next_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<(K, V::Item)>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 || self.entries.is_empty() {
            return Poll::Ready(0);
        }
        let mut added = 0;
        let mut idx = rand_index(self.entries.len());
        loop {
            // One round over the streams; another while any had an item.
            let mut any = false;
            let mut left = self.entries.len();
            while left > 0 && added < limit {
                left -= 1;
                if idx >= self.entries.len() {
                    idx = 0;
                }
                let (key, stream) = &mut self.entries[idx];
                match Pin::new(stream).poll_next(cx) {
                    Poll::Ready(Some(item)) => {
                        buffer.push((key.clone(), item));
                        added += 1;
                        any = true;
                        idx += 1;
                    }
                    Poll::Ready(None) => {
                        self.entries.swap_remove(idx);
                    }
                    Poll::Pending => idx += 1,
                }
            }
            if !any || added == limit || self.entries.is_empty() {
                break;
            }
        }
        if added > 0 || self.entries.is_empty() {
            Poll::Ready(added)
        } else {
            Poll::Pending
        }
    }

    /// Waits for at least one item, then moves up to `limit` ready items
    /// into `buffer` (see [`poll_next_many`](Self::poll_next_many)).
    /// Returns how many; 0 when the map is empty or `limit` is 0.
    ///
    /// Cancel-safe: items are moved into `buffer` only in the poll that
    /// returns.
    pub async fn next_many(&mut self, buffer: &mut Vec<(K, V::Item)>, limit: usize) -> usize {
        poll_fn(|cx| self.poll_next_many(cx, buffer, limit)).await
    }
}

/// A start index in `0..len` (`len > 0`).
fn rand_index(len: usize) -> usize {
    thread_rng_n(u32::try_from(len).unwrap_or(u32::MAX)) as usize
}

impl<K, V> Stream for StreamMap<K, V>
where
    K: Clone + Unpin,
    V: Stream + Unpin,
{
    type Item = (K, V::Item);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_one(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let mut low = 0usize;
        let mut high = Some(0usize);
        for (_, s) in &self.entries {
            let (l, h) = s.size_hint();
            low = low.saturating_add(l);
            high = match (high, h) {
                (Some(a), Some(b)) => a.checked_add(b),
                _ => None,
            };
        }
        (low, high)
    }
}

impl<K, V> Default for StreamMap<K, V> {
    fn default() -> StreamMap<K, V> {
        StreamMap::new()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for StreamMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for StreamMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> StreamMap<K, V> {
        let mut map = StreamMap::new();
        map.extend(iter);
        map
    }
}

impl<K: Hash + Eq, V> Extend<(K, V)> for StreamMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}
