//! `runtime::stream::wrappers` on both schedulers, against the real
//! things: channels (in order, then the end; a lagging broadcast receiver
//! told exactly how much it lost; watch values first or changes only, the
//! latest of a burst), interval ticks, 20 TCP and Unix connections
//! accepted through the listener streams, a real signal, a directory of
//! 50 files, and lines and segments over TCP.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use runtime::stream::wrappers::errors::BroadcastStreamRecvError;
use runtime::stream::wrappers::*;
use runtime::sync::{broadcast, mpsc, watch};
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor, TempDir};

fn mpsc_streams_yield_in_order_then_end(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = mpsc::channel(16);
        runtime::spawn(async move {
            for i in 0..1_000 {
                tx.send(i).await.unwrap();
            }
        });
        let got: Vec<i32> = ReceiverStream::new(rx).collect().await;
        assert_eq!(got, (0..1_000).collect::<Vec<_>>());

        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        let mut stream = UnboundedReceiverStream::new(rx);
        stream.close();
        assert!(tx.send(99).is_err(), "closed to new messages");
        let got: Vec<i32> = stream.collect().await;
        assert_eq!(got, [0, 1, 2, 3, 4], "the queued ones still come");
    });
}

fn broadcast_stream_reports_the_exact_lag(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = broadcast::channel(4);
        let mut stream = BroadcastStream::new(rx);
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        // Capacity 4: 0..6 were overwritten before the stream read them.
        assert_eq!(
            stream.next().await,
            Some(Err(BroadcastStreamRecvError::Lagged(6)))
        );
        for i in 6..10 {
            assert_eq!(stream.next().await, Some(Ok(i)));
        }
        let sender = runtime::spawn(async move {
            runtime::time::sleep(Duration::from_millis(5)).await;
            tx.send(10).unwrap();
            // Dropped: the stream ends after 10.
        });
        assert_eq!(stream.next().await, Some(Ok(10)));
        assert_eq!(stream.next().await, None);
        sender.await.unwrap();
        assert_eq!(
            BroadcastStreamRecvError::Lagged(3).to_string(),
            "stream lagged, 3 values lost"
        );
    });
}

fn watch_streams_yield_current_or_changes(flavor: Flavor) {
    block_on(flavor, async {
        let (tx, rx) = watch::channel(1);
        let mut all = WatchStream::new(rx.clone());
        let mut changes = WatchStream::from_changes(rx);
        assert_eq!(all.next().await, Some(1), "the current value first");
        // A burst while nobody polls: only its latest is seen.
        for v in 2..=5 {
            tx.send(v).unwrap();
        }
        assert_eq!(all.next().await, Some(5));
        assert_eq!(changes.next().await, Some(5), "not the initial 1");
        let pending = runtime::time::timeout(Duration::from_millis(20), all.next()).await;
        assert!(pending.is_err(), "nothing new");
        tx.send(6).unwrap();
        drop(tx);
        assert_eq!(all.next().await, Some(6));
        assert_eq!(all.next().await, None, "every sender gone");
        assert_eq!(changes.next().await, Some(6));
        assert_eq!(changes.next().await, None);
    });
}

fn interval_stream_ticks(flavor: Flavor) {
    block_on(flavor, async {
        let start = runtime::time::Instant::now();
        let interval = runtime::time::interval(Duration::from_millis(2));
        let ticks: Vec<_> = IntervalStream::new(interval).take(5).collect().await;
        assert_eq!(ticks.len(), 5);
        assert!(ticks.windows(2).all(|w| w[0] < w[1]), "due times increase");
        assert!(ticks[4] >= start + Duration::from_millis(8));
    });
}

fn listener_streams_accept_real_connections(flavor: Flavor) {
    let dir = TempDir::new("stream-unix");
    block_on(flavor, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = runtime::spawn(async move {
            for i in 0..20u8 {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(&[i]).await.unwrap();
                let mut back = [0u8; 1];
                s.read_exact(&mut back).await.unwrap();
                assert_eq!(back[0], i.wrapping_mul(3));
            }
        });
        let mut incoming = TcpListenerStream::new(listener);
        for _ in 0..20 {
            let mut s = incoming.next().await.unwrap().unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            s.write_all(&[b[0].wrapping_mul(3)]).await.unwrap();
        }
        clients.await.unwrap();
        assert_eq!(incoming.into_inner().local_addr().unwrap(), addr);

        let path = dir.join("sock");
        let mut incoming = UnixListenerStream::new(UnixListener::bind(&path).unwrap());
        let p = path.clone();
        let clients = runtime::spawn(async move {
            for i in 0..20u8 {
                let mut s = UnixStream::connect(&p).await.unwrap();
                s.write_all(&[i]).await.unwrap();
            }
        });
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            let mut s = incoming.next().await.unwrap().unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            seen.insert(b[0]);
        }
        clients.await.unwrap();
        assert_eq!(seen, (0..20).collect());
    });
}

fn signal_stream_receives_a_real_signal(flavor: Flavor) {
    use runtime::signal::unix::{signal, SignalKind};
    block_on(flavor, async {
        // SIGWINCH: ignored by default, used by nothing else here.
        let kind = SignalKind::window_change();
        let mut stream = SignalStream::new(signal(kind).unwrap());
        // SAFETY: `kill` on this process with a signal it handles.
        let rc = unsafe { libc::kill(libc::getpid(), kind.as_raw_value()) };
        assert_eq!(rc, 0);
        assert_eq!(stream.next().await, Some(()));
    });
}

fn read_dir_stream_lists_every_entry(flavor: Flavor) {
    let dir = TempDir::new("stream-readdir");
    for i in 0..50 {
        std::fs::write(dir.join(&format!("f{i:02}")), [i as u8]).unwrap();
    }
    block_on(flavor, async {
        let entries = ReadDirStream::new(runtime::fs::read_dir(dir.path()).await.unwrap());
        let names: BTreeSet<String> = entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
            .await;
        let want: BTreeSet<String> = (0..50).map(|i| format!("f{i:02}")).collect();
        assert_eq!(names, want);
    });
}

fn lines_and_segments_over_tcp(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        let (server_read, _w) = server.into_split();
        let writer = runtime::spawn(async move {
            client.write_all(b"one\r\ntwo\n").await.unwrap();
            runtime::time::sleep(Duration::from_millis(5)).await;
            client.write_all(b"thr").await.unwrap();
            runtime::time::sleep(Duration::from_millis(5)).await;
            client.write_all(b"ee\nlast").await.unwrap();
        });
        let lines: Vec<String> = LinesStream::new(BufReader::new(server_read).lines())
            .map(Result::unwrap)
            .collect()
            .await;
        writer.await.unwrap();
        assert_eq!(lines, ["one", "two", "three", "last"]);

        let data: &[u8] = b"a,bb,,ccc";
        let segments: Vec<Vec<u8>> = SplitStream::new(BufReader::new(data).split(b','))
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(segments, [&b"a"[..], b"bb", b"", b"ccc"]);
    });
}

flavor_tests!(
    mpsc_streams_yield_in_order_then_end,
    broadcast_stream_reports_the_exact_lag,
    watch_streams_yield_current_or_changes,
    interval_stream_ticks,
    listener_streams_accept_real_connections,
    signal_stream_receives_a_real_signal,
    read_dir_stream_lists_every_entry,
    lines_and_segments_over_tcp,
);
