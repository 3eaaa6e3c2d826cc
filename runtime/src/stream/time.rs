//! The timed stream adapters of [`StreamExt`]: [`Timeout`],
//! [`TimeoutRepeating`], [`Throttle`] and [`ChunksTimeout`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::Stream;

use crate::time::error::Elapsed;
use crate::time::{sleep, sleep_until, Instant, Interval, Sleep};

/// tokio-stream's timed adapters, for any [`Stream`].
///
/// Only the methods that need a timer are here: `next`, `map`, `filter`
/// and the other combinators are `futures_util::StreamExt`'s. The two
/// traits share no method name, so both can be imported together:
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt as _;
/// use runtime::stream::StreamExt as _;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let items = futures_util::stream::iter([1, 2, 3]).throttle(Duration::from_millis(1));
/// let doubled: Vec<i32> = items.map(|x| x * 2).collect().await;
/// assert_eq!(doubled, [2, 4, 6]);
/// # });
/// ```
pub trait StreamExt: Stream {
    /// Gives each item `duration` to arrive (the first from this call,
    /// each next from the one before): an item yields `Ok(item)`, and a
    /// gap that outlasts `duration` yields one `Err(Elapsed)`, after which
    /// the stream goes on waiting for its next item (with no further
    /// error until an item has arrived). Ends when the stream ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt as _;
    /// use runtime::stream::StreamExt as _;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let slow = futures_util::stream::once(async {
    ///     runtime::time::sleep(Duration::from_millis(50)).await;
    ///     7
    /// });
    /// let mut s = Box::pin(slow.timeout(Duration::from_millis(5)));
    /// assert!(s.next().await.unwrap().is_err());
    /// assert_eq!(s.next().await.unwrap(), Ok(7));
    /// assert!(s.next().await.is_none());
    /// # });
    /// ```
    fn timeout(self, duration: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout {
            stream: self,
            deadline: Box::pin(sleep(duration)),
            duration,
            armed: true,
        }
    }

    /// Like [`timeout`](Self::timeout), but the gaps are measured by
    /// `interval`: each of its ticks with no item since yields an
    /// `Err(Elapsed)`, and keeps doing so while no item comes; an item
    /// resets the interval. An [`interval`](crate::time::interval) ticks
    /// first at once, so start it one period out with
    /// [`interval_at`](crate::time::interval_at) to allow the first item
    /// that long.
    fn timeout_repeating(self, interval: Interval) -> TimeoutRepeating<Self>
    where
        Self: Sized,
    {
        TimeoutRepeating {
            stream: self,
            interval,
        }
    }

    /// Lets items through at most one per `duration`: the first at once,
    /// each later one no sooner than `duration` after the one before
    /// (items are not dropped, only delayed). A zero duration changes
    /// nothing.
    fn throttle(self, duration: Duration) -> Throttle<Self>
    where
        Self: Sized,
    {
        Throttle {
            stream: self,
            delay: Box::pin(sleep_until(Instant::now())),
            duration,
            delayed: false,
        }
    }

    /// Groups items into vectors of up to `max_size`: a group is yielded
    /// when it is full, when `duration` has passed since its first item
    /// arrived, or when the stream ends (then with what it has, if
    /// anything). Items the stream has ready are gathered before the
    /// timer is looked at, so a burst fills whole groups.
    ///
    /// # Panics
    ///
    /// If `max_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt as _;
    /// use runtime::stream::StreamExt as _;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let s = futures_util::stream::iter(1..=5).chunks_timeout(2, Duration::from_secs(1));
    /// let groups: Vec<Vec<i32>> = s.collect().await;
    /// assert_eq!(groups, [vec![1, 2], vec![3, 4], vec![5]]);
    /// # });
    /// ```
    #[track_caller]
    fn chunks_timeout(self, max_size: usize, duration: Duration) -> ChunksTimeout<Self>
    where
        Self: Sized,
    {
        assert!(max_size > 0, "`max_size` must be non-zero.");
        ChunksTimeout {
            stream: self,
            deadline: None,
            duration,
            items: Vec::new(),
            cap: max_size,
        }
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}

/// Projects a pinned adapter onto its pinned stream and its other fields.
///
/// SAFETY (for each use): `stream` is pinned structurally; the adapters
/// never move it out of a pinned `self` (no method takes it by value or
/// hands out `&mut S`), and have no `Drop` of their own. Every other field
/// is `Unpin` (timers are boxed) and is only reached by `&mut`.
macro_rules! project {
    ($self:ident) => {
        // SAFETY: see `project!`.
        unsafe { $self.get_unchecked_mut() }
    };
}

/// Polls `stream` for the timeout adapters: its next item as `Ok` (after
/// `on_item`, which restarts the gap's timer) or its end, or `None` while
/// it is pending.
fn poll_ok<S: Stream>(
    stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    on_item: impl FnOnce(),
) -> Option<Option<Result<S::Item, Elapsed>>> {
    match stream.poll_next(cx) {
        Poll::Pending => None,
        Poll::Ready(item) => {
            if item.is_some() {
                on_item();
            }
            Some(item.map(Ok))
        }
    }
}

/// A stream whose item gaps are bounded; from [`StreamExt::timeout`].
#[must_use = "streams do nothing unless polled"]
pub struct Timeout<S> {
    stream: S,
    deadline: Pin<Box<Sleep>>,
    duration: Duration,
    /// Whether a gap error may still be yielded (cleared by one, set again
    /// by the next item).
    armed: bool,
}

impl<S: Stream> Stream for Timeout<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let me = project!(self);
        // SAFETY: structural pinning of `stream` (see `project!`).
        let stream = unsafe { Pin::new_unchecked(&mut me.stream) };
        if let Some(ready) = poll_ok(stream, cx, || {
            me.deadline.as_mut().reset(Instant::now() + me.duration);
            me.armed = true;
        }) {
            return Poll::Ready(ready);
        }
        if me.armed {
            ready!(me.deadline.as_mut().poll(cx));
            me.armed = false;
            return Poll::Ready(Some(Err(Elapsed::new())));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Each item may be preceded by one error.
        let (low, high) = self.stream.size_hint();
        (low, high.and_then(|h| h.checked_mul(2)?.checked_add(1)))
    }
}

/// A stream that reports every interval without an item; from
/// [`StreamExt::timeout_repeating`].
#[must_use = "streams do nothing unless polled"]
pub struct TimeoutRepeating<S> {
    stream: S,
    interval: Interval,
}

impl<S: Stream> Stream for TimeoutRepeating<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let me = project!(self);
        // SAFETY: structural pinning of `stream` (see `project!`).
        let stream = unsafe { Pin::new_unchecked(&mut me.stream) };
        if let Some(ready) = poll_ok(stream, cx, || me.interval.reset()) {
            return Poll::Ready(ready);
        }
        ready!(me.interval.poll_tick(cx));
        Poll::Ready(Some(Err(Elapsed::new())))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Any number of errors may come between items.
        (self.stream.size_hint().0, None)
    }
}

/// A stream slowed to one item per period; from [`StreamExt::throttle`].
#[must_use = "streams do nothing unless polled"]
pub struct Throttle<S> {
    stream: S,
    delay: Pin<Box<Sleep>>,
    duration: Duration,
    /// Whether the wait since the last item is over.
    delayed: bool,
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let me = project!(self);
        let throttled = !me.duration.is_zero();
        if throttled && !me.delayed {
            ready!(me.delay.as_mut().poll(cx));
            me.delayed = true;
        }
        // SAFETY: structural pinning of `stream` (see `project!`).
        let stream = unsafe { Pin::new_unchecked(&mut me.stream) };
        let item = ready!(stream.poll_next(cx));
        if item.is_some() {
            if throttled {
                me.delay.as_mut().reset(Instant::now() + me.duration);
            }
            me.delayed = false;
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

/// A stream of groups of items; from [`StreamExt::chunks_timeout`].
#[must_use = "streams do nothing unless polled"]
pub struct ChunksTimeout<S: Stream> {
    stream: S,
    /// Set when a group's first item arrives.
    deadline: Option<Pin<Box<Sleep>>>,
    duration: Duration,
    items: Vec<S::Item>,
    cap: usize,
}

impl<S: Stream> Stream for ChunksTimeout<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let me = project!(self);
        loop {
            // SAFETY: structural pinning of `stream` (see `project!`).
            let stream = unsafe { Pin::new_unchecked(&mut me.stream) };
            match stream.poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(item)) => {
                    if me.items.is_empty() {
                        let at = Instant::now() + me.duration;
                        match &mut me.deadline {
                            Some(d) => d.as_mut().reset(at),
                            None => me.deadline = Some(Box::pin(sleep_until(at))),
                        }
                        me.items.reserve_exact(me.cap);
                    }
                    me.items.push(item);
                    if me.items.len() >= me.cap {
                        return Poll::Ready(Some(std::mem::take(&mut me.items)));
                    }
                }
                Poll::Ready(None) => {
                    if me.items.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(std::mem::take(&mut me.items)));
                }
            }
        }
        if me.items.is_empty() {
            return Poll::Pending;
        }
        if let Some(d) = &mut me.deadline {
            ready!(d.as_mut().poll(cx));
        }
        Poll::Ready(Some(std::mem::take(&mut me.items)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every group holds at least one item and at most `cap`.
        let (low, high) = self.stream.size_hint();
        let queued = self.items.len();
        let low = low.saturating_add(queued).div_ceil(self.cap);
        (low, high.and_then(|h| h.checked_add(queued)))
    }
}

macro_rules! debug_adapter {
    ($($name:ident),*) => {$(
        impl<S: Stream + fmt::Debug> fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("stream", &self.stream)
                    .finish_non_exhaustive()
            }
        }
    )*};
}

debug_adapter!(Timeout, TimeoutRepeating, Throttle, ChunksTimeout);
