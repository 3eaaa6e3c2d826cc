//! The case families: one module per section of the report, each with one
//! `*_section(&Settings, &mut Report)` that starts what it needs, runs its
//! rounds, adds its metrics to the [`Report`](crate::results::Report) and
//! pushes its markdown section.
//!
//! - load families, whose servers are `--serve` children and whose load
//!   comes from [`runtime_benches::loadgen`] (run by [`crate::rounds`]):
//!   [`headline`], [`echo`] (`echo` and `echo-rate`), [`http`],
//!   [`hyper`], [`proxy`] (whose echo backend is one more child),
//!   [`scaling`];
//! - in-process families, run in `--micro` children by [`micro`]:
//!   [`sched`], [`timers`];
//! - in this process: [`sync`] (each case builds its own runtimes);
//! - connection herds ([`herd`]): [`memory`], [`scale`].
//!
//! # Adding a family
//!
//! A new module here with its `*_section` function; its name in `SECTIONS`,
//! in the `--only` line of `USAGE` and one `part("name")` line in `run`
//! (all three in `main.rs`, in run order). An in-process family also needs
//! its cases in the `--micro` child (`child_micro` in [`crate::roles`],
//! which looks case names up in each case set), and then runs through
//! [`micro::micro_cases`] like `sched` and `timers`.

pub(crate) mod echo;
pub(crate) mod headline;
pub(crate) mod herd;
pub(crate) mod http;
pub(crate) mod hyper;
pub(crate) mod memory;
pub(crate) mod micro;
pub(crate) mod proxy;
pub(crate) mod scale;
pub(crate) mod scaling;
pub(crate) mod sched;
pub(crate) mod sync;
pub(crate) mod timers;
