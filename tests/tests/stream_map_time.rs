//! `runtime::stream::StreamMap` and the timed adapters of
//! `runtime::stream::StreamExt`, on both schedulers: lines from several
//! TCP connections merged under their keys, streams removed as they end or
//! are taken out, one busy stream not starving another, batches taken with
//! `next_many`; and gaps, throttling and chunking measured against the
//! timer (lower bounds only: an upper bound on time would fail on a loaded
//! machine).

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt as _};
use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream};
use runtime::stream::wrappers::{LinesStream, ReceiverStream};
use runtime::stream::{StreamExt as _, StreamMap};
use runtime::sync::mpsc;
use runtime::time::{interval_at, sleep, Instant};
use runtime_tests::{block_on, flavor_tests, Flavor};

fn lines_of_many_connections_merge_under_their_keys(flavor: Flavor) {
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for client in 0..3 {
            runtime::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                for line in 0..50 {
                    s.write_all(format!("{client}:{line}\n").as_bytes())
                        .await
                        .unwrap();
                }
                s.shutdown().await.unwrap();
            });
        }
        let mut map = StreamMap::new();
        for key in 0..3 {
            let (s, _) = listener.accept().await.unwrap();
            map.insert(key, LinesStream::new(BufReader::new(s).lines()));
        }
        assert_eq!(map.len(), 3);
        let mut by_conn: BTreeMap<usize, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
        while let Some((key, line)) = map.next().await {
            let line = line.unwrap();
            let (client, n) = line.split_once(':').unwrap();
            by_conn
                .entry(key)
                .or_default()
                .entry(client.parse().unwrap())
                .or_default()
                .push(n.parse().unwrap());
        }
        assert!(map.is_empty(), "each connection's stream left at its end");
        assert_eq!(by_conn.len(), 3);
        let mut clients = Vec::new();
        for lines in by_conn.values() {
            // A key's lines all come from one connection, in order.
            assert_eq!(lines.len(), 1);
            let (client, ns) = lines.iter().next().unwrap();
            assert_eq!(*ns, (0..50).collect::<Vec<_>>());
            clients.push(*client);
        }
        clients.sort();
        assert_eq!(clients, [0, 1, 2]);
    });
}

fn ended_replaced_and_removed_streams_leave(flavor: Flavor) {
    block_on(flavor, async {
        let (tx_a, rx_a) = mpsc::channel(8);
        let (tx_b, rx_b) = mpsc::channel(8);
        let mut map = StreamMap::new();
        assert!(map.insert("a", ReceiverStream::new(rx_a)).is_none());
        assert!(map.insert("b", ReceiverStream::new(rx_b)).is_none());
        assert!(map.contains_key("a") && map.contains_key("b"));

        // "a" ends: the next item is b's, and "a" is gone once polled
        // (`next_many` polls every stream in a round).
        drop(tx_a);
        tx_b.send(1).await.unwrap();
        let mut buf = Vec::new();
        assert_eq!(map.next_many(&mut buf, 10).await, 1);
        assert_eq!(buf, [("b", 1)]);
        assert!(!map.contains_key("a"));
        assert_eq!(map.len(), 1);

        // Replacing "b" hands back the old stream, whose items stop coming.
        let (tx_c, rx_c) = mpsc::channel(8);
        let old = map
            .insert("b", ReceiverStream::new(rx_c))
            .expect("old stream");
        tx_b.send(3).await.unwrap();
        tx_c.send(30).await.unwrap();
        assert_eq!(map.next().await, Some(("b", 30)));
        let mut old = old;
        assert_eq!(old.next().await, Some(3), "the old stream kept its item");

        // Removed: its items stop coming, and an empty map ends at once.
        let removed = map.remove("b").expect("removed");
        tx_c.send(31).await.unwrap();
        assert!(map.is_empty());
        assert_eq!(map.next().await, None);
        drop(removed);
    });
}

fn a_busy_stream_does_not_starve_another(flavor: Flavor) {
    block_on(flavor, async {
        let mut map = StreamMap::new();
        map.insert(0, stream::repeat(0).boxed());
        map.insert(1, stream::once(async { 1 }).boxed());
        // The start is random per poll: the one-item stream is reached
        // within 64 polls but with a chance of 2^-64.
        let mut seen = false;
        for _ in 0..64 {
            let (key, _) = map.next().await.unwrap();
            if key == 1 {
                seen = true;
                break;
            }
        }
        assert!(seen, "the always-ready stream took every poll");
    });
}

fn next_many_takes_what_is_ready(flavor: Flavor) {
    block_on(flavor, async {
        let mut map = StreamMap::new();
        for key in 0..3 {
            map.insert(key, stream::iter(0..5));
        }
        let mut buf = Vec::new();
        assert_eq!(map.next_many(&mut buf, 7).await, 7);
        assert_eq!(map.next_many(&mut buf, 100).await, 8);
        assert_eq!(map.next_many(&mut buf, 100).await, 0, "all ended");
        assert!(map.is_empty());
        let mut per_key: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for (k, v) in buf {
            per_key.entry(k).or_default().push(v);
        }
        for (k, vs) in per_key {
            assert_eq!(vs, [0, 1, 2, 3, 4], "key {k}: every item once, in order");
        }
        let mut empty: StreamMap<i32, stream::Iter<std::ops::Range<i32>>> = StreamMap::new();
        assert_eq!(empty.next_many(&mut Vec::new(), 5).await, 0);
    });
}

/// Sends `items` with the given pauses before each, then ends.
fn paced(items: Vec<(u64, i32)>) -> ReceiverStream<i32> {
    let (tx, rx) = mpsc::channel(16);
    runtime::spawn(async move {
        for (pause_ms, item) in items {
            if pause_ms > 0 {
                sleep(Duration::from_millis(pause_ms)).await;
            }
            tx.send(item).await.unwrap();
        }
    });
    ReceiverStream::new(rx)
}

fn timeout_reports_each_long_gap_once(flavor: Flavor) {
    block_on(flavor, async {
        let s = paced(vec![(0, 1), (200, 2), (0, 3)]);
        let got: Vec<Result<i32, _>> = s.timeout(Duration::from_millis(50)).collect().await;
        let oks: Vec<i32> = got.iter().filter_map(|r| r.ok()).collect();
        assert_eq!(oks, [1, 2, 3], "every item, in order: {got:?}");
        let at = |x: i32| got.iter().position(|r| *r == Ok(x)).unwrap();
        assert!(
            got[at(1)..at(2)].iter().any(Result::is_err),
            "the 200 ms gap outlasted 50 ms: {got:?}"
        );
        assert!(
            got.windows(2).all(|w| w[0].is_ok() || w[1].is_ok()),
            "one error per gap, not one per period: {got:?}"
        );
    });
}

fn timeout_repeating_reports_every_interval(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let s = paced(vec![(400, 1)]);
        let period = Duration::from_millis(30);
        let got: Vec<Result<i32, _>> = s
            .timeout_repeating(interval_at(start + period, period))
            .collect()
            .await;
        let errors = got.iter().filter(|r| r.is_err()).count();
        // 400 ms of silence spans 13 ticks of 30 ms; only a test thread
        // held off for most of it would see fewer than two.
        assert!(errors >= 2, "{got:?}");
        assert!(start.elapsed() >= Duration::from_millis(400));
        assert_eq!(got.last(), Some(&Ok(1)));
        assert!(got[..got.len() - 1].iter().all(|r| r.is_err()));
    });
}

fn throttle_spaces_items(flavor: Flavor) {
    block_on(flavor, async {
        let start = Instant::now();
        let got: Vec<i32> = stream::iter(0..5)
            .throttle(Duration::from_millis(20))
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2, 3, 4]);
        // The first at once, four more at least 20 ms apart.
        assert!(start.elapsed() >= Duration::from_millis(80));
        let got: Vec<i32> = stream::iter(0..3).throttle(Duration::ZERO).collect().await;
        assert_eq!(got, [0, 1, 2]);
    });
}

fn chunks_timeout_groups_by_size_and_by_time(flavor: Flavor) {
    block_on(flavor, async {
        // Four queued before the first poll, a pause much longer than the
        // timeout, one more.
        let (tx, rx) = mpsc::channel(8);
        for i in 1..=4 {
            tx.try_send(i).unwrap();
        }
        runtime::spawn(async move {
            sleep(Duration::from_millis(300)).await;
            tx.send(5).await.unwrap();
        });
        let s = ReceiverStream::new(rx);
        let got: Vec<Vec<i32>> = s
            .chunks_timeout(3, Duration::from_millis(50))
            .collect()
            .await;
        assert_eq!(got, [vec![1, 2, 3], vec![4], vec![5]]);
    });
}

#[test]
#[should_panic(expected = "max_size")]
fn chunks_of_zero_panic() {
    let _ = stream::iter(0..3).chunks_timeout(0, Duration::from_millis(1));
}

flavor_tests!(
    lines_of_many_connections_merge_under_their_keys,
    ended_replaced_and_removed_streams_leave,
    a_busy_stream_does_not_starve_another,
    next_many_takes_what_is_ready,
    timeout_reports_each_long_gap_once,
    timeout_repeating_reports_every_interval,
    throttle_spaces_items,
    chunks_timeout_groups_by_size_and_by_time,
);
