//! Benchmarks of `runtime::sync`'s locks and signals against tokio's
//! `tokio::sync` (on a tokio multi-thread runtime) and the runtime-agnostic
//! `async-lock` crate (on ours), every runtime with 2 workers.
//!
//! - `mutex_contended`: 8 tasks increment one counter under one mutex;
//! - `mutex_uncontended`: one task locks and unlocks a mutex nobody else
//!   wants;
//! - `semaphore_contended`: 8 tasks take and give back one permit of a
//!   semaphore of 2;
//! - `notify_ping_pong`: two tasks take turns through two `Notify`s (no
//!   `async-lock` equivalent: `-`).
//!
//! Each case runs for a fixed wall time per round (tasks loop until a stop
//! flag is raised) and reports operations per second (lock acquisitions,
//! permit acquisitions, round trips); contenders alternate round by round
//! and the median rate is kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks contending in the contended cases.
pub const TASKS: usize = 8;
/// Workers of every runtime.
pub const WORKERS: usize = 2;

/// A benchmark case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// 8 tasks increment one counter under one mutex.
    MutexContended,
    /// One task locks and unlocks an uncontended mutex.
    MutexUncontended,
    /// 8 tasks take and give back a permit of a semaphore of 2.
    SemaphoreContended,
    /// Two tasks take turns through two `Notify`s.
    NotifyPingPong,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 4] = [
        Case::MutexContended,
        Case::MutexUncontended,
        Case::SemaphoreContended,
        Case::NotifyPingPong,
    ];

    /// The case's name.
    pub fn name(self) -> &'static str {
        match self {
            Case::MutexContended => "mutex_contended",
            Case::MutexUncontended => "mutex_uncontended",
            Case::SemaphoreContended => "semaphore_contended",
            Case::NotifyPingPong => "notify_ping_pong",
        }
    }
}

/// Who is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// `runtime::sync` on `runtime`.
    Runtime,
    /// `tokio::sync` on tokio.
    Tokio,
    /// `async-lock` on `runtime`.
    AsyncLock,
}

impl Contender {
    /// Every contender, in column order.
    pub const ALL: [Contender; 3] = [Contender::Runtime, Contender::Tokio, Contender::AsyncLock];

    /// The contender's name.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Runtime => "runtime",
            Contender::Tokio => "tokio",
            Contender::AsyncLock => "async-lock",
        }
    }
}

/// One of the two runtimes a contender runs on.
enum Rt {
    Ours(runtime::Runtime),
    Tokio(tokio::runtime::Runtime),
}

impl Rt {
    fn for_contender(c: Contender) -> Rt {
        match c {
            Contender::Tokio => Rt::Tokio(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(WORKERS)
                    .enable_all()
                    .build()
                    .expect("building tokio"),
            ),
            _ => Rt::Ours(
                runtime::Builder::new_multi_thread()
                    .worker_threads(WORKERS)
                    .build()
                    .expect("building runtime"),
            ),
        }
    }

    /// Spawns `n` copies of `make(i)` (each returning its operation count),
    /// lets them run for `dur`, raises `stop`, and returns operations per
    /// second.
    fn run<F, Fut>(&self, n: usize, dur: Duration, stop: &Arc<AtomicBool>, make: F) -> f64
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = u64> + Send + 'static,
    {
        let start = Instant::now();
        let total: u64 = match self {
            Rt::Ours(rt) => {
                let hs: Vec<_> = (0..n).map(|i| rt.spawn(make(i))).collect();
                std::thread::sleep(dur);
                stop.store(true, Ordering::Relaxed);
                rt.block_on(async {
                    let mut t = 0;
                    for h in hs {
                        t += h.await.expect("bench task");
                    }
                    t
                })
            }
            Rt::Tokio(rt) => {
                let hs: Vec<_> = (0..n).map(|i| rt.spawn(make(i))).collect();
                std::thread::sleep(dur);
                stop.store(true, Ordering::Relaxed);
                rt.block_on(async {
                    let mut t = 0;
                    for h in hs {
                        t += h.await.expect("bench task");
                    }
                    t
                })
            }
        };
        total as f64 / start.elapsed().as_secs_f64()
    }
}

/// Runs `case` for `contender` once for `dur`; `None` where the contender
/// has no such primitive.
fn round(case: Case, contender: Contender, rt: &Rt, dur: Duration) -> Option<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    macro_rules! mutex_case {
        ($m:expr, $lock:ident, $tasks:expr) => {{
            let m = Arc::new($m);
            rt.run($tasks, dur, &stop, move |_| {
                let (m, s) = (m.clone(), s.clone());
                async move {
                    let mut n = 0;
                    while !s.load(Ordering::Relaxed) {
                        *m.$lock().await += 1;
                        n += 1;
                    }
                    n
                }
            })
        }};
    }
    macro_rules! sem_case {
        ($sem:expr) => {{
            let sem = Arc::new($sem);
            rt.run(TASKS, dur, &stop, move |_| {
                let (sem, s) = (sem.clone(), s.clone());
                async move {
                    let mut n = 0;
                    while !s.load(Ordering::Relaxed) {
                        drop(sem.acquire().await);
                        n += 1;
                    }
                    n
                }
            })
        }};
    }
    macro_rules! ping_pong_case {
        ($new:expr) => {{
            let pair = Arc::new(($new, $new));
            rt.run(2, dur, &stop, move |i| {
                let (pair, s) = (pair.clone(), s.clone());
                async move {
                    let (mine, theirs) = if i == 0 {
                        (&pair.0, &pair.1)
                    } else {
                        (&pair.1, &pair.0)
                    };
                    let mut n = 0;
                    if i == 0 {
                        theirs.notify_one();
                    }
                    loop {
                        mine.notified().await;
                        n += 1;
                        theirs.notify_one();
                        if s.load(Ordering::Relaxed) {
                            // Let the other side out of its wait too.
                            theirs.notify_one();
                            return n / 2;
                        }
                    }
                }
            })
        }};
    }
    Some(match (case, contender) {
        (Case::MutexContended, Contender::Runtime) => {
            mutex_case!(runtime::sync::Mutex::new(0u64), lock, TASKS)
        }
        (Case::MutexContended, Contender::Tokio) => {
            mutex_case!(tokio::sync::Mutex::new(0u64), lock, TASKS)
        }
        (Case::MutexContended, Contender::AsyncLock) => {
            mutex_case!(async_lock::Mutex::new(0u64), lock, TASKS)
        }
        (Case::MutexUncontended, Contender::Runtime) => {
            mutex_case!(runtime::sync::Mutex::new(0u64), lock, 1)
        }
        (Case::MutexUncontended, Contender::Tokio) => {
            mutex_case!(tokio::sync::Mutex::new(0u64), lock, 1)
        }
        (Case::MutexUncontended, Contender::AsyncLock) => {
            mutex_case!(async_lock::Mutex::new(0u64), lock, 1)
        }
        (Case::SemaphoreContended, Contender::Runtime) => {
            sem_case!(runtime::sync::Semaphore::new(2))
        }
        (Case::SemaphoreContended, Contender::Tokio) => sem_case!(tokio::sync::Semaphore::new(2)),
        (Case::SemaphoreContended, Contender::AsyncLock) => {
            sem_case!(async_lock::Semaphore::new(2))
        }
        (Case::NotifyPingPong, Contender::Runtime) => {
            ping_pong_case!(runtime::sync::Notify::new())
        }
        (Case::NotifyPingPong, Contender::Tokio) => ping_pong_case!(tokio::sync::Notify::new()),
        (Case::NotifyPingPong, Contender::AsyncLock) => return None,
    })
}

/// The median rate (operations per second) of `case` for each contender,
/// over `rounds` rounds of `dur` each, contenders alternating; `None` where
/// a contender has no such primitive.
pub fn measure_case(case: Case, rounds: usize, dur: Duration) -> Vec<(Contender, Option<f64>)> {
    let rts: Vec<_> = Contender::ALL
        .iter()
        .map(|&c| (c, Rt::for_contender(c)))
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); rts.len()];
    for r in 0..rounds {
        for k in 0..rts.len() {
            let idx = (k + r) % rts.len();
            let (c, rt) = &rts[idx];
            if let Some(rate) = round(case, *c, rt, dur) {
                rates[idx].push(rate);
            }
        }
    }
    rts.iter()
        .zip(rates)
        .map(|((c, _), mut v)| {
            if v.is_empty() {
                return (*c, None);
            }
            v.sort_by(f64::total_cmp);
            (*c, Some(v[v.len() / 2]))
        })
        .collect()
}

/// `measure_case` for `runtime` and tokio only, as one rate each (ours,
/// tokio's), for callers that compare the two.
pub fn runtime_vs_tokio(case: Case, rounds: usize, dur: Duration) -> (f64, f64) {
    let all = measure_case(case, rounds, dur);
    let get = |who| {
        all.iter()
            .find(|(c, _)| *c == who)
            .and_then(|(_, r)| *r)
            .unwrap_or(0.0)
    };
    (get(Contender::Runtime), get(Contender::Tokio))
}
