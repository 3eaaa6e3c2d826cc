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
//!   trip: a spawn, a send and a wake-up).
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

/// Runs `ours` and `theirs` (each returning ops done) alternately and
/// returns their median rates.
fn measure(mut ours: impl FnMut() -> usize, mut theirs: impl FnMut() -> usize) -> Rates {
    let rate = |f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let ops = f();
        ops as f64 / start.elapsed().as_secs_f64()
    };
    // Warm-up.
    rate(&mut ours);
    rate(&mut theirs);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            a.push(rate(&mut ours));
            b.push(rate(&mut theirs));
        } else {
            b.push(rate(&mut theirs));
            a.push(rate(&mut ours));
        }
    }
    Rates {
        runtime: median(a),
        tokio: median(b),
    }
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

/// `producers` tasks send [`MESSAGES`] in all through a bounded channel of
/// [`CAPACITY`]; one task receives.
///
/// # Panics
///
/// If a runtime cannot be built or `producers` is 0.
pub fn mpsc_bounded(producers: usize) -> Rates {
    assert!(producers > 0);
    let (ours, tokio_rt) = runtimes();
    measure(
        || {
            ours.inner().block_on(async {
                let (tx, mut rx) = runtime::sync::mpsc::channel::<usize>(CAPACITY);
                for p in 0..producers {
                    let tx = tx.clone();
                    runtime::spawn(async move {
                        for i in 0..share(producers, p) {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                let consumer = runtime::spawn(async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                });
                consumer.await.unwrap()
            })
        },
        || {
            tokio_rt.inner().block_on(async {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<usize>(CAPACITY);
                for p in 0..producers {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..share(producers, p) {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                let consumer = tokio::spawn(async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                });
                consumer.await.unwrap()
            })
        },
    )
}

/// `producers` tasks send [`MESSAGES`] in all through an unbounded channel;
/// one task receives.
///
/// # Panics
///
/// If a runtime cannot be built or `producers` is 0.
pub fn mpsc_unbounded(producers: usize) -> Rates {
    assert!(producers > 0);
    let (ours, tokio_rt) = runtimes();
    measure(
        || {
            ours.inner().block_on(async {
                let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel::<usize>();
                for p in 0..producers {
                    let tx = tx.clone();
                    runtime::spawn(async move {
                        for i in 0..share(producers, p) {
                            tx.send(i).unwrap();
                        }
                    });
                }
                drop(tx);
                let consumer = runtime::spawn(async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                });
                consumer.await.unwrap()
            })
        },
        || {
            tokio_rt.inner().block_on(async {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
                for p in 0..producers {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..share(producers, p) {
                            tx.send(i).unwrap();
                        }
                    });
                }
                drop(tx);
                let consumer = tokio::spawn(async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                });
                consumer.await.unwrap()
            })
        },
    )
}

/// [`ROUND_TRIPS`] times: spawn a task that answers through a oneshot, and
/// await the answer.
///
/// # Panics
///
/// If a runtime cannot be built.
pub fn oneshot_round_trip() -> Rates {
    let (ours, tokio_rt) = runtimes();
    measure(
        || {
            ours.inner().block_on(async {
                runtime::spawn(async {
                    for i in 0..ROUND_TRIPS {
                        let (tx, rx) = runtime::sync::oneshot::channel();
                        runtime::spawn(async move {
                            let _ = tx.send(i);
                        });
                        assert_eq!(rx.await, Ok(i));
                    }
                })
                .await
                .unwrap();
                ROUND_TRIPS
            })
        },
        || {
            tokio_rt.inner().block_on(async {
                tokio::spawn(async {
                    for i in 0..ROUND_TRIPS {
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        tokio::spawn(async move {
                            let _ = tx.send(i);
                        });
                        assert_eq!(rx.await, Ok(i));
                    }
                })
                .await
                .unwrap();
                ROUND_TRIPS
            })
        },
    )
}

/// Every case, by name, in the table's order.
pub fn all() -> Vec<(&'static str, Rates)> {
    vec![
        ("mpsc_bounded_1p", mpsc_bounded(1)),
        ("mpsc_bounded_4p", mpsc_bounded(4)),
        ("mpsc_unbounded_1p", mpsc_unbounded(1)),
        ("mpsc_unbounded_4p", mpsc_unbounded(4)),
        ("oneshot_round_trip", oneshot_round_trip()),
    ]
}
