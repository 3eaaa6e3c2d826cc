//! `io::empty`, `io::repeat` and `io::sink`: what they read and write, and
//! that they take part in the cooperative budget as tokio's do, on both
//! schedulers:
//!
//! - `empty` reads nothing (end of file, also through `fill_buf`), takes
//!   every write whole and seeks to 0; `repeat(b)` fills every buffer with
//!   `b`, vectored too; `sink` takes every write whole.
//! - Each poll spends a unit of budget: ten budgets' worth of operations on
//!   one of them yield about ten times.
//! - A loop that reads `empty` or `repeat`, or writes `sink`, forever
//!   (bounded only by a count that takes far longer to reach than the
//!   timeout) inside `timeout()` still times out, in a `block_on` future and
//!   in a spawned task.

use std::io::{IoSlice, IoSliceMut, SeekFrom};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::io::AsyncSeekExt;
use runtime::io::{empty, repeat, sink, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use runtime::time::{timeout, Instant};
use runtime_reactor::coop::BUDGET;
use runtime_tests::{block_on, flavor_tests, Flavor, PollCounter};

fn empty_reads_nothing_and_takes_every_write(flavor: Flavor) {
    block_on(flavor, async {
        let mut e = empty();
        let mut buf = [7u8; 16];
        assert_eq!(e.read(&mut buf).await.unwrap(), 0);
        assert_eq!(buf, [7u8; 16], "a read of empty wrote into the buffer");
        let mut all = Vec::new();
        assert_eq!(e.read_to_end(&mut all).await.unwrap(), 0);
        assert!(all.is_empty());
        assert!(e.fill_buf().await.unwrap().is_empty());
        let mut line = String::new();
        assert_eq!(e.read_line(&mut line).await.unwrap(), 0);

        assert_eq!(e.write(b"hello").await.unwrap(), 5);
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cde")];
        assert_eq!(e.write_vectored(&bufs).await.unwrap(), 5);
        e.write_all(&[1u8; 100_000]).await.unwrap();
        e.flush().await.unwrap();
        assert_eq!(e.seek(SeekFrom::Start(10)).await.unwrap(), 0);
        assert_eq!(e.seek(SeekFrom::End(-3)).await.unwrap(), 0);
        e.close().await.unwrap();
        assert_eq!(format!("{e:?}"), "Empty { .. }");
    });
}

fn repeat_fills_every_buffer(flavor: Flavor) {
    block_on(flavor, async {
        let mut r = repeat(b'z');
        let mut buf = [0u8; 9];
        assert_eq!(r.read(&mut buf).await.unwrap(), 9);
        assert_eq!(&buf, b"zzzzzzzzz");
        let mut big = vec![0u8; 1 << 20];
        r.read_exact(&mut big).await.unwrap();
        assert!(big.iter().all(|&b| b == b'z'));

        let (mut a, mut b) = ([0u8; 3], [0u8; 5]);
        let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        assert_eq!(r.read_vectored(&mut bufs).await.unwrap(), 8);
        assert_eq!(&a, b"zzz");
        assert_eq!(&b, b"zzzzz");

        assert_eq!(r.read(&mut []).await.unwrap(), 0, "an empty buffer reads 0");
        let mut taken = Vec::new();
        (&mut r).take(1000).read_to_end(&mut taken).await.unwrap();
        assert_eq!(taken, vec![b'z'; 1000]);
    });
}

fn sink_takes_every_write_whole(flavor: Flavor) {
    block_on(flavor, async {
        let mut s = sink();
        assert_eq!(s.write(b"hello").await.unwrap(), 5);
        assert_eq!(s.write(&[]).await.unwrap(), 0);
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(&[]), IoSlice::new(b"cde")];
        assert_eq!(s.write_vectored(&bufs).await.unwrap(), 5);
        s.write_all(&vec![3u8; 1 << 20]).await.unwrap();
        s.flush().await.unwrap();
        s.close().await.unwrap();
        // Copying a reader into it drains the reader.
        let copied = runtime::io::copy(&mut (&b"twelve bytes"[..]), &mut s)
            .await
            .unwrap();
        assert_eq!(copied, 12);
        assert_eq!(format!("{s:?}"), "Sink { .. }");
    });
}

/// Operations done by [`polls_of!`]: ten budgets' worth.
const OPS: usize = 10 * BUDGET as usize;

/// Runs `$op` (on `$v`, made by `$io`) [`OPS`] times in a spawned task and
/// returns how many polls that took.
macro_rules! polls_of {
    ($io:expr, |$v:ident| $op:expr) => {{
        let (counted, polls) = PollCounter::new(async move {
            let mut $v = $io;
            for _ in 0..OPS {
                let _amount = $op.await.unwrap();
            }
        });
        runtime::spawn(counted).await.unwrap();
        polls.load(Ordering::SeqCst)
    }};
}

fn every_poll_spends_a_unit_of_budget(flavor: Flavor) {
    block_on(flavor, async {
        let min = OPS / BUDGET as usize;
        let counts = [
            ("empty read", polls_of!(empty(), |e| e.read(&mut [0u8; 8]))),
            ("empty fill_buf", polls_of!(empty(), |e| e.fill_buf())),
            ("empty write", polls_of!(empty(), |e| e.write(b"x"))),
            ("empty flush", polls_of!(empty(), |e| e.flush())),
            (
                "repeat read",
                polls_of!(repeat(1), |r| r.read(&mut [0u8; 8])),
            ),
            (
                "repeat read_vectored",
                polls_of!(repeat(1), |r| r
                    .read_vectored(&mut [IoSliceMut::new(&mut [0u8; 8])])),
            ),
            ("sink write", polls_of!(sink(), |s| s.write(b"x"))),
            (
                "sink write_vectored",
                polls_of!(sink(), |s| s.write_vectored(&[IoSlice::new(b"x")])),
            ),
            ("sink flush", polls_of!(sink(), |s| s.flush())),
            ("sink close", polls_of!(sink(), |s| s.close())),
        ];
        for (what, polls) in counts {
            assert!(
                polls >= min,
                "{OPS} {what} operations took {polls} polls: they never spent the budget"
            );
        }
    });
}

/// A bound on the "forever" loops below, only so that every loop ends: far
/// more operations than fit in [`DEADLINE`] (each takes well under a
/// microsecond; a loop that does not yield runs to it and so fails).
const FOREVER: usize = 100_000_000;

/// The timeout around each forever loop.
const DEADLINE: Duration = Duration::from_millis(20);

async fn read_empty_forever() {
    let mut e = empty();
    let mut buf = [0u8; 8];
    for _ in 0..FOREVER {
        assert_eq!(e.read(&mut buf).await.unwrap(), 0);
    }
}

async fn read_repeat_forever() {
    let mut r = repeat(b'r');
    let mut buf = [0u8; 8];
    for _ in 0..FOREVER {
        assert_eq!(r.read(&mut buf).await.unwrap(), 8);
    }
}

async fn write_sink_forever() {
    let mut s = sink();
    for _ in 0..FOREVER {
        assert_eq!(s.write(b"sunk").await.unwrap(), 4);
    }
}

/// Runs `make()` under a [`DEADLINE`] timeout in this (`block_on`) future
/// and in a spawned task, and checks both time out, not before the deadline.
async fn times_out<F, Fut>(what: &str, make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let res = timeout(DEADLINE, make()).await;
    assert!(
        res.is_err(),
        "{what} in block_on ran to its end inside a timeout: it never yielded"
    );
    assert!(start.elapsed() >= DEADLINE);

    let start = Instant::now();
    let res = runtime::spawn(timeout(DEADLINE, make())).await.unwrap();
    assert!(
        res.is_err(),
        "{what} in a task ran to its end inside a timeout: it never yielded"
    );
    assert!(start.elapsed() >= DEADLINE);
}

fn an_empty_read_loop_inside_timeout_times_out(flavor: Flavor) {
    block_on(flavor, times_out("reading empty", read_empty_forever));
}

fn a_repeat_read_loop_inside_timeout_times_out(flavor: Flavor) {
    block_on(flavor, times_out("reading repeat", read_repeat_forever));
}

fn a_sink_write_loop_inside_timeout_times_out(flavor: Flavor) {
    block_on(flavor, times_out("writing sink", write_sink_forever));
}

flavor_tests!(
    empty_reads_nothing_and_takes_every_write,
    repeat_fills_every_buffer,
    sink_takes_every_write_whole,
    every_poll_spends_a_unit_of_budget,
    an_empty_read_loop_inside_timeout_times_out,
    a_repeat_read_loop_inside_timeout_times_out,
    a_sink_write_loop_inside_timeout_times_out,
);
