//! The timing thread of a run: it starts the generator threads (each
//! opens its connections, then all start together), fixes the instants
//! every thread works to, opens and closes the measurement window, samples
//! the server's CPU time at its edges, and merges what the threads measured.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use super::payload::Payload;
use super::worker::{Conn, Hold, Worker};
use super::{Mode, Outcome, Spec};
use crate::hist::Histogram;
use crate::procfs;

/// The instants every thread works to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    pub(super) start: Instant,
    pub(super) window_start: Instant,
    pub(super) window_end: Instant,
    /// Open loop: when to give up on unanswered messages.
    pub(super) drain_end: Instant,
}

/// Runs the load described by `spec` and reports what it measured.
///
/// # Errors
///
/// A connection that fails to connect, closes, errs, or returns one byte
/// that differs from what was expected fails the whole run (the error says
/// which connection and message).
pub fn run(spec: &Spec) -> io::Result<Outcome> {
    run_with(spec, &mut |_| {}, false)
}

/// An edge of the measurement window, as [`run_observed`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The window has just opened.
    Start,
    /// The window has just closed.
    End,
}

/// [`run`], calling `observe` from the timing thread as the window opens
/// and as it closes (e.g. to attach a tracer to the server over the window
/// only). The server's CPU time is sampled after the `Start` call and
/// before the `End` call, so a slow `observe` shortens neither.
///
/// In the closed loop both edges are held: before each call the generator
/// sends nothing new until every message in flight has come back (the
/// held messages go out as soon as the `Start` call returns). So
/// [`Outcome::observed`] counts exactly the messages whose whole exchange,
/// request to response, lies between the two calls, and the server
/// handles no other message meanwhile. (Without the hold, a tracer
/// attached while 1,000 connections each have a message in flight missed
/// the server's reads of up to 1,000 messages it was then charged for.)
/// In the open loop the schedule cannot be held: `observed` counts the
/// messages completed from the return of the `Start` call to the window's
/// end, give or take one message per connection in flight at each edge.
///
/// # Errors
///
/// As [`run`]; also if the messages in flight at an edge do not all come
/// back within 10 s.
pub fn run_observed(spec: &Spec, observe: &mut dyn FnMut(Edge)) -> io::Result<Outcome> {
    run_with(spec, observe, true)
}

/// How long a held edge waits for the messages in flight.
const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// Holds the load and waits until each of `threads` has nothing in flight
/// (or one has failed, or [`HOLD_LIMIT`] passed).
fn hold_until_quiet(hold: &Hold, threads: usize, failed: &AtomicBool) -> io::Result<()> {
    hold.hold();
    let limit = Instant::now() + HOLD_LIMIT;
    while hold.quiet() < threads {
        if failed.load(Ordering::SeqCst) {
            return Err(io::Error::other("a generator thread failed"));
        }
        if Instant::now() >= limit {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("messages in flight did not all come back within {HOLD_LIMIT:?}"),
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

fn run_with(spec: &Spec, observe: &mut dyn FnMut(Edge), held: bool) -> io::Result<Outcome> {
    let threads = spec.threads.clamp(1, spec.conns.max(1));
    let payload = Payload::new(&spec.protocol);
    let barrier = Barrier::new(threads + 1);
    let times = OnceLock::new();
    let failed = AtomicBool::new(false);
    let closed = Gate::default();
    let done: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let done_now = || done.iter().map(|d| d.load(Ordering::Relaxed)).sum::<u64>();
    let hold = (held && matches!(spec.mode, Mode::Closed { .. })).then(Hold::default);
    let hold = hold.as_ref();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let ids: Vec<u64> = (t..spec.conns).step_by(threads).map(|i| i as u64).collect();
                let (payload, barrier, times, failed, closed, done) =
                    (&payload, &barrier, &times, &failed, &closed, &done);
                std::thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn_scoped(scope, move || {
                        if let Some(cpus) = &spec.cpus {
                            let _ = procfs::pin_current_thread(cpus);
                        }
                        let conns = match ids
                            .iter()
                            .map(|&id| Conn::open(spec.addr, id))
                            .collect::<io::Result<Vec<_>>>()
                        {
                            Ok(c) => Some(c),
                            Err(e) => {
                                failed.store(true, Ordering::SeqCst);
                                barrier.wait();
                                barrier.wait();
                                return Err(e);
                            }
                        };
                        barrier.wait();
                        barrier.wait();
                        if failed.load(Ordering::SeqCst) {
                            return Err(io::Error::other("another generator thread failed"));
                        }
                        let times: Times = *times.get().expect("set before the barrier");
                        let rate = match spec.mode {
                            Mode::Open { rate } => Some(rate / threads as f64),
                            Mode::Closed { .. } => None,
                        };
                        let mut worker = Worker::new(
                            conns.unwrap_or_default(),
                            payload,
                            spec.mode,
                            times,
                            rate,
                            &done[t],
                            hold,
                        )?;
                        let part = worker.run();
                        if part.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        // The connections stay open until the window has
                        // been observed closed, so that their closing is
                        // not part of it.
                        closed.wait();
                        part
                    })
                    .expect("spawn a generator thread")
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let window_start = start + spec.warmup;
        let window_end = window_start + spec.window;
        let drain = match spec.mode {
            Mode::Open { .. } => Duration::from_secs(2),
            Mode::Closed { .. } => Duration::ZERO,
        };
        times
            .set(Times {
                start,
                window_start,
                window_end,
                drain_end: window_end + drain,
            })
            .expect("set once");
        barrier.wait();
        let mut server_cpu = None;
        let mut observed = 0;
        let mut edge_err = None;
        if let (Some(hold), false) = (hold, failed.load(Ordering::SeqCst)) {
            sleep_until(window_start);
            let mut edges = || -> io::Result<()> {
                hold_until_quiet(hold, threads, &failed)?;
                observe(Edge::Start);
                let first = done_now();
                let before = spec.server_pid.and_then(procfs::cpu_split_of);
                hold.run();
                std::thread::sleep(spec.window);
                // `End` answers `Start` even if the hold fails (a tracer
                // is detached either way).
                let quiet = hold_until_quiet(hold, threads, &failed);
                let after = spec.server_pid.and_then(procfs::cpu_split_of);
                observed = done_now() - first;
                observe(Edge::End);
                server_cpu = before.zip(after).map(|(b, a)| a.since(b));
                quiet
            };
            edge_err = edges().err();
            hold.stop();
        } else if !failed.load(Ordering::SeqCst) {
            sleep_until(window_start);
            observe(Edge::Start);
            let first = done_now();
            let before = spec.server_pid.and_then(procfs::cpu_split_of);
            sleep_until(window_end);
            let after = spec.server_pid.and_then(procfs::cpu_split_of);
            observed = done_now() - first;
            observe(Edge::End);
            server_cpu = before.zip(after).map(|(b, a)| a.since(b));
        }
        closed.open();
        let mut out = Outcome {
            completed: 0,
            window: spec.window,
            latency: Histogram::new(),
            server_cpu: server_cpu.map(procfs::CpuTimes::total),
            server_system: server_cpu.map(|c| c.system),
            unfinished: 0,
            observed,
        };
        let mut first_err = None;
        for w in workers {
            match w.join().expect("generator thread panicked") {
                Ok(part) => {
                    out.completed += part.completed;
                    out.unfinished += part.unfinished;
                    out.latency.merge(&part.latency);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err.or(edge_err) {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}

/// A gate threads wait at until it is opened, once.
#[derive(Default)]
struct Gate {
    open: std::sync::Mutex<bool>,
    cond: std::sync::Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.cond.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}
