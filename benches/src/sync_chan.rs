//! Channel benchmarks: `runtime::sync` on `runtime` against `tokio::sync` on
//! tokio, both multi-thread with 2 workers, in one process.
//!
//! Each case function builds both runtimes, runs its workload on each
//! [`ROUNDS`] times (alternating, the starting runtime rotating) and returns
//! the median rate of each in operations per second. One round is a fixed
//! amount of work sized to tens of milliseconds in a release build, so a
//! case takes about a second.
//!
//! - [`mpsc_bounded`]: `producers` tasks share [`MESSAGES`] sends into a
//!   `channel(1024)`, one consumer task receives them all (an op is one
//!   message);
//! - [`mpsc_unbounded`]: the same through `unbounded_channel()`;
//! - [`oneshot_round_trip`]: [`ROUND_TRIPS`] times in a row, spawn a task
//!   that answers through a oneshot and await the answer (an op is one round
//!   trip: a spawn, a send and a wake-up);
//! - [`broadcast_fan_out`]: one sender, [`FAN_OUT`] receiver tasks (an op is
//!   one value received by one receiver).
//!
//! The mpsc cases also run the `async-channel` crate on `runtime`, the
//! runtime-agnostic alternative to writing the channel here.
//!
//! The `sync_chan` binary prints them as a table; `compare` may call them.

use std::time::Instant;

use crate::rt::{Ours, Tokio};

/// Rounds per runtime per case.
pub const ROUNDS: usize = 7;
/// Messages per round of the mpsc cases.
pub const MESSAGES: usize = 200_000;
/// Capacity of the bounded channel.
pub const CAPACITY: usize = 1024;
/// Round trips per round of the oneshot case.
pub const ROUND_TRIPS: usize = 20_000;

/// One case's median rates.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    /// `runtime::sync` on `runtime`, operations per second.
    pub runtime: f64,
    /// `tokio::sync` on tokio, operations per second.
    pub tokio: f64,
    /// The `async-channel` crate on `runtime`, operations per second, for
    /// the cases it has an equivalent of (the written-here-or-not check).
    pub async_channel: Option<f64>,
}

impl Rates {
    /// `runtime`'s rate over tokio's: above 1 means `runtime` is faster.
    pub fn ratio(&self) -> f64 {
        self.runtime / self.tokio
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs each workload (returning the ops it did) in turn, [`ROUNDS`]
/// times after a warm-up, the starting one rotating, and returns their
/// median rates.
fn measure(workloads: &mut [&mut dyn FnMut() -> usize]) -> Vec<f64> {
    let rate = |f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let ops = f();
        ops as f64 / start.elapsed().as_secs_f64()
    };
    for w in workloads.iter_mut() {
        rate(*w);
    }
    let n = workloads.len();
    let mut rates = vec![Vec::new(); n];
    for round in 0..ROUNDS {
        for k in 0..n {
            let i = (round + k) % n;
            rates[i].push(rate(workloads[i]));
        }
    }
    rates.into_iter().map(median).collect()
}

fn runtimes() -> (Ours, Tokio) {
    (
        Ours::new(2).expect("building runtime"),
        Tokio::new(2).expect("building tokio"),
    )
}

/// Splits [`MESSAGES`] among `producers`.
fn share(producers: usize, p: usize) -> usize {
    MESSAGES / producers + usize::from(p < MESSAGES % producers)
}

/// One mpsc round: `producers` tasks spawned with `spawn` send their share
/// through `send`, a consumer task counts what `recv` yields; `block_on`
/// waits for the count.
macro_rules! mpsc_round {
    ($block_on:expr, $spawn:path, $producers:expr, $make:expr, |$tx:ident, $i:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let producers = $producers;
        $block_on(async move {
            #[allow(unused_mut)] // async-channel receives through `&self`
            let ($tx, mut $rx) = $make;
            for p in 0..producers {
                let $tx = $tx.clone();
                $spawn(async move {
                    for $i in 0..share(producers, p) {
                        $send;
                    }
                });
            }
            drop($tx);
            let consumer = $spawn(async move {
                let mut n = 0;
                while $recv {
                    n += 1;
                }
                n
            });
            consumer.await.unwrap()
        })
    }};
}

/// `producers` tasks send [`MESSAGES`] in all through a bounded channel of
/// [`CAPACITY`]; one task receives.
///
/// # Panics
///
/// If a runtime cannot be built or `producers` is 0.
pub fn mpsc_bounded(producers: usize) -> Rates {
    assert!(producers > 0);
    let (ours, theirs) = runtimes();
    let (ours, theirs) = (ours.inner(), theirs.inner());
    let mut a = || {
        mpsc_round!(
            |f| ours.block_on(f),
            runtime::spawn,
            producers,
            runtime::sync::mpsc::channel::<usize>(CAPACITY),
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.is_some()
        )
    };
    let mut b = || {
        mpsc_round!(
            |f| theirs.block_on(f),
            tokio::spawn,
            producers,
            tokio::sync::mpsc::channel::<usize>(CAPACITY),
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.is_some()
        )
    };
    let mut c = || {
        mpsc_round!(
            |f| ours.block_on(f),
            runtime::spawn,
            producers,
            async_channel::bounded::<usize>(CAPACITY),
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.is_ok()
        )
    };
    let r = measure(&mut [&mut a, &mut b, &mut c]);
    Rates {
        runtime: r[0],
        tokio: r[1],
        async_channel: Some(r[2]),
    }
}

/// `producers` tasks send [`MESSAGES`] in all through an unbounded channel;
/// one task receives.
///
/// # Panics
///
/// If a runtime cannot be built or `producers` is 0.
pub fn mpsc_unbounded(producers: usize) -> Rates {
    assert!(producers > 0);
    let (ours, theirs) = runtimes();
    let (ours, theirs) = (ours.inner(), theirs.inner());
    let mut a = || {
        mpsc_round!(
            |f| ours.block_on(f),
            runtime::spawn,
            producers,
            runtime::sync::mpsc::unbounded_channel::<usize>(),
            |tx, i| tx.send(i).unwrap(),
            |rx| rx.recv().await.is_some()
        )
    };
    let mut b = || {
        mpsc_round!(
            |f| theirs.block_on(f),
            tokio::spawn,
            producers,
            tokio::sync::mpsc::unbounded_channel::<usize>(),
            |tx, i| tx.send(i).unwrap(),
            |rx| rx.recv().await.is_some()
        )
    };
    let mut c = || {
        mpsc_round!(
            |f| ours.block_on(f),
            runtime::spawn,
            producers,
            async_channel::unbounded::<usize>(),
            |tx, i| tx.try_send(i).unwrap(),
            |rx| rx.recv().await.is_ok()
        )
    };
    let r = measure(&mut [&mut a, &mut b, &mut c]);
    Rates {
        runtime: r[0],
        tokio: r[1],
        async_channel: Some(r[2]),
    }
}

/// One oneshot round on the runtime crate `$rt` (`runtime` or `tokio`, whose
/// names are the same): [`ROUND_TRIPS`] answers awaited in a row.
macro_rules! oneshot_round {
    ($rt:ident) => {
        async {
            $rt::spawn(async {
                for i in 0..ROUND_TRIPS {
                    let (tx, rx) = $rt::sync::oneshot::channel();
                    $rt::spawn(async move {
                        let _ = tx.send(i);
                    });
                    assert_eq!(rx.await, Ok(i));
                }
            })
            .await
            .unwrap();
            ROUND_TRIPS
        }
    };
}

/// [`ROUND_TRIPS`] times: spawn a task that answers through a oneshot, and
/// await the answer.
///
/// # Panics
///
/// If a runtime cannot be built.
pub fn oneshot_round_trip() -> Rates {
    let (ours, theirs) = runtimes();
    let mut a = || ours.inner().block_on(oneshot_round!(runtime));
    let mut b = || theirs.inner().block_on(oneshot_round!(tokio));
    let r = measure(&mut [&mut a, &mut b]);
    Rates {
        runtime: r[0],
        tokio: r[1],
        async_channel: None,
    }
}

/// Receivers of the broadcast fan-out case.
pub const FAN_OUT: usize = 100;
/// Values sent per round of the broadcast fan-out case.
pub const BROADCASTS: usize = 2_000;

/// One fan-out round on the runtime crate `$rt`: [`BROADCASTS`] values to
/// [`FAN_OUT`] receiver tasks; the ops are the values received in all.
macro_rules! fan_out_round {
    ($rt:ident) => {
        async {
            let (tx, _) = $rt::sync::broadcast::channel::<usize>(BROADCASTS);
            let receivers: Vec<_> = (0..FAN_OUT)
                .map(|_| {
                    let mut rx = tx.subscribe();
                    $rt::spawn(async move {
                        let mut n = 0;
                        while rx.recv().await.is_ok() {
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            for i in 0..BROADCASTS {
                tx.send(i).unwrap();
            }
            drop(tx);
            let mut total = 0;
            for r in receivers {
                total += r.await.unwrap();
            }
            assert_eq!(total, FAN_OUT * BROADCASTS);
            total
        }
    };
}

/// [`FAN_OUT`] receiver tasks each receive [`BROADCASTS`] values from one
/// sender through a `broadcast::channel(BROADCASTS)` (capacity enough that
/// none lags); an op is one value received by one receiver.
///
/// # Panics
///
/// If a runtime cannot be built or a receiver lags.
pub fn broadcast_fan_out() -> Rates {
    let (ours, theirs) = runtimes();
    let mut a = || ours.inner().block_on(fan_out_round!(runtime));
    let mut b = || theirs.inner().block_on(fan_out_round!(tokio));
    let r = measure(&mut [&mut a, &mut b]);
    Rates {
        runtime: r[0],
        tokio: r[1],
        async_channel: None,
    }
}

/// Every case, by name, in the table's order.
pub fn all() -> Vec<(&'static str, Rates)> {
    vec![
        ("mpsc_bounded_1p", mpsc_bounded(1)),
        ("mpsc_bounded_4p", mpsc_bounded(4)),
        ("mpsc_unbounded_1p", mpsc_unbounded(1)),
        ("mpsc_unbounded_4p", mpsc_unbounded(4)),
        ("oneshot_round_trip", oneshot_round_trip()),
        ("broadcast_fan_out_100", broadcast_fan_out()),
    ]
}
