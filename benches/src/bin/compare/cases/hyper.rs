//! `hyper`: hyper 1.x's HTTP/1.1 server on `runtime` and on tokio, the
//! same handler on both ([`runtime_benches::hyper_hello`]), under the
//! keep-alive load of the `http` case: the built-in generator, closed
//! loop, one request in flight per connection (as wrk does), every
//! response checked but for its `date` value.

use runtime_benches::contender::Service;
use runtime_benches::hyper_hello;
use runtime_benches::loadgen::Mode;

use super::http::HTTP_CONNS;
use crate::child::{start_servers, Server};
use crate::results::Report;
use crate::rounds::{alternate, load_table};
use crate::settings::Settings;
use crate::syscalls::syscall_rounds;
use crate::Res;

pub(crate) fn hyper_section(s: &Settings, report: &mut Report) -> Res<()> {
    eprintln!("hyper");
    let servers = start_servers(s, Service::Hyper, s.workers)?;
    let protocol = hyper_hello::protocol();
    let label = format!("hyper keep-alive {HTTP_CONNS} conns");
    let spec = |srv: &Server| s.spec(srv, HTTP_CONNS, protocol.clone(), Mode::Closed { depth: 1 });
    let stats = alternate(s, report, &label, &servers, spec);
    // Server CPU per request carries the CPU target (≤ 0.95 × tokio).
    report.rate_and_cpu(&label, &stats, "requests/s", "server CPU/request");
    syscall_rounds(s, report, &label, &servers, spec);
    report.pct_metric(&label, "p99", 99.0, &stats, None);
    let rows = vec![(label, stats)];
    report.sections.push((
        "hyper 1.x, HTTP/1.1 keep-alive".into(),
        format!(
            "hyper {}'s `http1` server answering every request `200 Hello, World!` \
             (`content-length` and `date` added by hyper) with the same handler on each \
             runtime (`runtime_benches::hyper_hello`): on `runtime` our `TcpStream` goes to \
             `serve_connection` as it is (the `hyper` feature) with `runtime::hyper::HyperTimer`; \
             on tokio hyper-util's `TokioIo` and `TokioTimer` (hyper-util {}). Keep-alive load \
             from the built-in generator: {HTTP_CONNS} connections, closed loop, one request \
             in flight per connection (as wrk does), every response checked byte for byte \
             but for its `date` value. Server CPU per request is the server process's user + \
             system time over the window ÷ the requests completed in it; CPU vs tokio is \
             tokio's ÷ the runtime's (> 1: less CPU than tokio). Target: server CPU per \
             request ≤ 0.95 × hyper on tokio.\n\n{}",
            crate::output::lock_version("hyper"),
            crate::output::lock_version("hyper-util"),
            load_table(&rows, &s.contenders, "req")
        ),
    ));
    for (_, srv) in servers {
        srv.proc.close();
    }
    Ok(())
}
