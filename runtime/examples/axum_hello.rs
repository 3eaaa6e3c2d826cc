//! An axum `Router` served on this runtime, with no tokio runtime anywhere
//! in the process.
//!
//! ```text
//! cargo run --example axum_hello --features hyper,tokio-io -- 127.0.0.1:3001
//! ```
//!
//! Try it with:
//!
//! ```text
//! curl http://127.0.0.1:3001/
//! curl http://127.0.0.1:3001/hello/ferris
//! curl -H 'content-type: application/json' -d '{"numbers":[1,2,3.5]}' http://127.0.0.1:3001/sum
//! curl --http2-prior-knowledge http://127.0.0.1:3001/
//! ```
//!
//! How it fits together:
//!
//! - [`runtime::net::TcpListener`] accepts; each connection is a task of
//!   this runtime.
//! - hyper-util's `TokioIo` wraps the stream: with the `tokio-io` feature
//!   our streams implement tokio's `AsyncRead`/`AsyncWrite` (the traits
//!   only; reads go into hyper's uninitialised buffer, nothing is zeroed).
//!   (With the `hyper` feature alone the stream could be handed to hyper
//!   bare, as `hyper_hello` does.)
//! - hyper-util's `auto` builder serves HTTP/1.1 and HTTP/2 (prior
//!   knowledge) on the connection, spawning HTTP/2 stream tasks through
//!   [`runtime::hyper::HyperExecutor`] and timing out through
//!   [`runtime::hyper::HyperTimer`].
//! - `TowerToHyperService` adapts the `Router` (a tower `Service`) to
//!   hyper's `Service`.
//!
//! What of axum needs tokio's runtime: everything behind its `tokio` cargo
//! feature, which this example leaves off (`default-features = false`,
//! feature `json` only). That is `axum::serve` (it accepts on tokio's
//! listeners and spawns with `tokio::spawn`), `ConnectInfo` through
//! `Router::into_make_service_with_connect_info` (built for `axum::serve`),
//! `Sse::keep_alive` (a `tokio::time::Sleep`), and WebSockets (feature `ws`
//! turns on `tokio`; `WebSocketUpgrade::on_upgrade` runs the socket in a
//! `tokio::spawn`). Routing, handlers, extractors (`Path`, `Json`, `State`,
//! ...), responses and tower middleware that does not itself use tokio's
//! timers run as they are. For the peer address without `ConnectInfo`, put
//! it in each connection's service, for example with
//! `router.clone().layer(axum::Extension(peer))` before adapting it.

use std::io;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use runtime::hyper::{HyperExecutor, HyperTimer};
use runtime::net::TcpListener;
use serde_json::{json, Value};

#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("axum_hello listening on http://{}/", listener.local_addr()?);
    serve(listener, app()).await
}

/// The application: three routes.
///
/// - `GET /`: `Hello, World!`;
/// - `GET /hello/{name}`: `Hello, {name}!` (a path parameter);
/// - `POST /sum` with `{"numbers": [...]}`: `{"count": N, "sum": S}`
///   (JSON both ways; a body that is not such JSON gets `400` or `422`,
///   axum's rejections).
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello, World!\n" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move { format!("Hello, {name}!\n") }),
        )
        .route("/sum", post(sum))
}

async fn sum(Json(body): Json<Value>) -> Result<Json<Value>, (StatusCode, String)> {
    let numbers = body.get("numbers").and_then(Value::as_array).ok_or((
        StatusCode::UNPROCESSABLE_ENTITY,
        "expected {\"numbers\": [...]}\n".to_string(),
    ))?;
    let mut sum = 0.0;
    for n in numbers {
        sum += n.as_f64().ok_or((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("not a number: {n}\n"),
        ))?;
    }
    Ok(Json(json!({ "count": numbers.len(), "sum": sum })))
}

/// Accepts connections forever and serves `app` on each, in a task of its
/// own.
///
/// # Errors
///
/// None so far: an accept error is reported and accepting goes on (the
/// listener backs off by itself when out of file descriptors).
pub async fn serve(listener: TcpListener, app: Router) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("{peer}: {e}");
        }
        let service = TowerToHyperService::new(app.clone());
        runtime::spawn(async move {
            let mut builder = auto::Builder::new(HyperExecutor::new());
            builder.http1().timer(HyperTimer::new());
            builder.http2().timer(HyperTimer::new());
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
