//! hyper 1.x's HTTP/1.1 server on `runtime` and on tokio, the same handler
//! on both: `compare`'s `hyper` case.
//!
//! Every request is answered `200 Hello, World!` by `hello`, whatever
//! its method and path; hyper adds the `content-length` (the body's exact
//! size) and the `date` header. Connections are kept alive, as hyper does
//! by default. The builders are set up alike: each gets its runtime's
//! timer (so hyper's default 30 s `header_read_timeout` is armed for every
//! request head, as in a real server) and nothing else.
//!
//! - On `runtime` (`ours`) an accepted `runtime::net::TcpStream` goes
//!   to `serve_connection` as it is: with our `hyper` feature it
//!   implements hyper's `rt::Read`/`rt::Write` itself (`recv` straight into
//!   hyper's uninitialised buffer). The timer is
//!   [`runtime::hyper::HyperTimer`].
//! - On tokio (`on_tokio`) the `tokio::net::TcpStream` is wrapped in
//!   hyper-util's `TokioIo`, the timer is hyper-util's `TokioTimer`: the
//!   set-up hyper's own guide shows.
//!
//! The load generator expects [`RESPONSE`], but for its `date` value
//! ([`Protocol::http`](crate::loadgen::Protocol::http) leaves it
//! unchecked).

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

use crate::loadgen::Protocol;

/// The body of every answer.
pub const BODY: &[u8] = b"Hello, World!";

/// The request the load generator sends.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// hyper's answer to [`REQUEST`], byte for byte, with the date of the
/// epoch: real answers carry the current date there (always 29 bytes).
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\
date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\nHello, World!";

/// What the load generator sends and checks against these servers.
pub fn protocol() -> Protocol {
    Protocol::http(REQUEST, RESPONSE)
}

/// The handler, on both runtimes.
async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// hyper on `runtime`.
pub(crate) mod ours {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use runtime::hyper::HyperTimer;
    use runtime::net::{TcpListener, TcpStream};

    pub(crate) async fn accept(listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(runtime::spawn(connection(stream))),
                Err(e) => {
                    crate::contender::accept_error(&e);
                    runtime::task::yield_now().await;
                }
            }
        }
    }

    async fn connection(stream: TcpStream) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        stream.set_nodelay(true)?;
        http1::Builder::new()
            .timer(HyperTimer::new())
            .serve_connection(stream, service_fn(super::hello))
            .await?;
        Ok(())
    }
}

/// hyper on tokio.
pub(crate) mod on_tokio {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tokio::net::{TcpListener, TcpStream};

    pub(crate) async fn accept(listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(tokio::spawn(connection(stream))),
                Err(e) => {
                    crate::contender::accept_error(&e);
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    async fn connection(stream: TcpStream) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        stream.set_nodelay(true)?;
        http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service_fn(super::hello))
            .await?;
        Ok(())
    }
}
