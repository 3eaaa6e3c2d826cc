//! The scheduler micro-benchmark cases, shared by the `sched` and
//! `compare` binaries: each is written once, generic over
//! [`BenchRuntime`], and runs the same code on every runtime (a
//! [`MicroCase`] set).
//!
//! - `spawn_many`: from inside `block_on`, spawn 10,000 trivial tasks and
//!   wait until all have run;
//! - `yield_many`: 200 tasks each call the runtime's `yield_now` 1,000 times;
//! - `ping_pong`: 1,000 pairs of tasks pass a counter back and forth 10
//!   times through one-slot mailboxes;
//! - `chained_spawn`: a chain of 1,000 tasks, each spawning the next;
//! - `remote_spawn`: a plain thread (not a runtime thread) spawns 10,000
//!   tasks through a handle while `block_on` waits for them all.
//!
//! (The counts of [`Params::full`]; [`Params::quick`] divides them by ten.)
//! Completion is signalled through [`Latch`], and messages travel through
//! [`Mailbox`], the same `std`-only code for every runtime.

use std::hint::black_box;
use std::sync::Arc;

use crate::chan::{Latch, Mailbox};
use crate::micro::{Amounts, MicroCase};
use crate::rt::{BenchRuntime, Spawner};
use crate::stats::{measure, Sample};

/// The benchmark cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Spawn many trivial tasks from inside `block_on`.
    SpawnMany,
    /// Many tasks yield many times.
    YieldMany,
    /// Pairs of tasks pass a counter back and forth.
    PingPong,
    /// A chain of tasks, each spawning the next.
    ChainedSpawn,
    /// A foreign thread spawns many tasks.
    RemoteSpawn,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 5] = [
        Case::SpawnMany,
        Case::YieldMany,
        Case::PingPong,
        Case::ChainedSpawn,
        Case::RemoteSpawn,
    ];

    /// The case's name (`spawn_many`, …).
    pub fn name(self) -> &'static str {
        match self {
            Case::SpawnMany => "spawn_many",
            Case::YieldMany => "yield_many",
            Case::PingPong => "ping_pong",
            Case::ChainedSpawn => "chained_spawn",
            Case::RemoteSpawn => "remote_spawn",
        }
    }
}

impl MicroCase for Case {
    type Params = Params;

    const ALL: &'static [Case] = &Case::ALL;

    fn name(self) -> &'static str {
        Case::name(self)
    }

    /// `iters` repetitions, timed together, reported per repetition.
    fn round<R: BenchRuntime>(self, rt: &R, params: &Params, _workers: usize) -> Sample {
        let iters = (params.iters)(self);
        let ((), sample) = measure(|| {
            for _ in 0..iters {
                run_once(rt, self, params);
            }
        });
        sample.per(iters)
    }
}

/// How much work each case does.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Tasks spawned by `spawn_many`.
    pub spawn_many: usize,
    /// Tasks in `yield_many`.
    pub yield_tasks: usize,
    /// Yields per task in `yield_many`.
    pub yields: usize,
    /// Task pairs in `ping_pong`.
    pub ping_pong_pairs: usize,
    /// Round trips per pair in `ping_pong`.
    pub ping_pong_exchanges: usize,
    /// Length of the `chained_spawn` chain.
    pub chain_depth: usize,
    /// Tasks spawned by `remote_spawn`.
    pub remote_spawn: usize,
    /// Repetitions per round: one round of a case should take some
    /// milliseconds, far above timer and scheduling noise.
    pub iters: fn(Case) -> u32,
}

impl Amounts for Params {
    fn full() -> Params {
        Params {
            spawn_many: 10_000,
            yield_tasks: 200,
            yields: 1_000,
            ping_pong_pairs: 1_000,
            ping_pong_exchanges: 10,
            chain_depth: 1_000,
            remote_spawn: 10_000,
            iters: |case| match case {
                Case::SpawnMany => 20,
                Case::YieldMany => 8,
                Case::PingPong => 60,
                Case::ChainedSpawn => 600,
                Case::RemoteSpawn => 30,
            },
        }
    }

    fn quick() -> Params {
        Params {
            spawn_many: 1_000,
            yield_tasks: 20,
            yields: 1_000,
            ping_pong_pairs: 100,
            ping_pong_exchanges: 10,
            chain_depth: 100,
            remote_spawn: 1_000,
            iters: |_| 1,
        }
    }
}

/// Runs one repetition of a case on a runtime.
pub fn run_once<R: BenchRuntime>(rt: &R, case: Case, p: &Params) {
    let s = rt.spawner();
    match case {
        Case::SpawnMany => rt.block_on(spawn_many(s, p.spawn_many)),
        Case::YieldMany => rt.block_on(yield_many(s, p.yield_tasks, p.yields)),
        Case::PingPong => rt.block_on(ping_pong(s, p.ping_pong_pairs, p.ping_pong_exchanges)),
        Case::ChainedSpawn => rt.block_on(chained_spawn(s, p.chain_depth)),
        Case::RemoteSpawn => remote_spawn(rt, s, p.remote_spawn),
    }
}

async fn spawn_many<S: Spawner>(s: S, n: usize) {
    let done = Arc::new(Latch::new(n));
    for i in 0..n {
        let done = done.clone();
        s.spawn(async move {
            black_box(i);
            done.count_down();
        });
    }
    done.wait().await;
}

async fn yield_many<S: Spawner>(s: S, tasks: usize, yields: usize) {
    let done = Arc::new(Latch::new(tasks));
    for _ in 0..tasks {
        let done = done.clone();
        s.spawn(async move {
            for _ in 0..yields {
                S::yield_now().await;
            }
            done.count_down();
        });
    }
    done.wait().await;
}

async fn ping_pong<S: Spawner>(s: S, pairs: usize, exchanges: usize) {
    let done = Arc::new(Latch::new(pairs));
    for _ in 0..pairs {
        let ping = Arc::new(Mailbox::<usize>::new());
        let pong = Arc::new(Mailbox::<usize>::new());
        {
            let (ping, pong) = (ping.clone(), pong.clone());
            s.spawn(async move {
                for _ in 0..exchanges {
                    let v = ping.recv().await;
                    pong.send(v + 1).expect("pong slot is empty");
                }
            });
        }
        let done = done.clone();
        s.spawn(async move {
            for i in 0..exchanges {
                ping.send(2 * i).expect("ping slot is empty");
                let v = pong.recv().await;
                assert_eq!(v, 2 * i + 1);
            }
            done.count_down();
        });
    }
    done.wait().await;
}

async fn chained_spawn<S: Spawner>(s: S, depth: usize) {
    fn link<S: Spawner>(s: S, left: usize, done: Arc<Latch>) {
        if left == 0 {
            done.count_down();
            return;
        }
        s.clone().spawn(async move { link(s, left - 1, done) });
    }
    let done = Arc::new(Latch::new(1));
    link(s, depth, done.clone());
    done.wait().await;
}

fn remote_spawn<R: BenchRuntime>(rt: &R, s: R::Spawner, n: usize) {
    let done = Arc::new(Latch::new(n));
    std::thread::scope(|scope| {
        let remote_done = done.clone();
        scope.spawn(move || {
            for i in 0..n {
                let done = remote_done.clone();
                s.spawn(async move {
                    black_box(i);
                    done.count_down();
                });
            }
        });
        rt.block_on(done.wait());
    });
}

#[cfg(test)]
mod tests {
    use super::Case;

    /// Every case completes on every runtime set-up (with the `--quick`
    /// amounts).
    #[test]
    fn every_case_runs_on_every_runtime() {
        crate::micro::every_case_runs_on_every_contender::<Case>();
    }
}
