//! The `axum_hello` example: its `Router`, served by the example's own
//! `serve` on this runtime, queried over 127.0.0.1 (raw HTTP/1.1, hyper's
//! client over HTTP/1.1 and HTTP/2), with no tokio runtime in the process.
#![cfg(feature = "tokio-io")]

use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, Version};
use runtime::hyper::HyperExecutor;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{block_on, flavor_tests, Flavor};
use serde_json::{json, Value};

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../runtime/examples/axum_hello.rs"]
mod example;

fn tokio_runtime_absent() -> bool {
    tokio::runtime::Handle::try_current().is_err()
}

/// Sends one request with hyper's HTTP/1.1 client on a fresh connection.
async fn h1(
    addr: std::net::SocketAddr,
    req: Request<Full<Bytes>>,
) -> (StatusCode, Option<String>, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    let conn = runtime::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    drop(sender);
    conn.await.unwrap().unwrap();
    (status, content_type, body)
}

fn get_req(path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("http://localhost{path}"))
        .body(Full::default())
        .unwrap()
}

fn post_req(path: &str, content_type: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut req = Request::post(format!("http://localhost{path}"));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
}

/// Every route answers as documented, JSON is read and written, axum's
/// rejections and 404 come through, HTTP/2 is served on the same port, and
/// neither the handlers nor the test itself have a tokio runtime.
fn axum_router_served_without_tokio_runtime(flavor: Flavor) {
    block_on(flavor, async {
        assert!(tokio_runtime_absent());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // One more route, to look from inside a handler.
        let app = example::app().route(
            "/tokio-runtime",
            get(|| async {
                if tokio_runtime_absent() {
                    "absent"
                } else {
                    "present"
                }
            }),
        );
        let server = runtime::spawn(example::serve(listener, app));

        // Raw HTTP/1.1 over TCP, as curl would send it.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
        assert!(answer.ends_with("\r\n\r\nHello, World!\n"), "{answer:?}");

        let (status, _, body) = h1(addr, get_req("/hello/ferris")).await;
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, &b"Hello, ferris!\n"[..])
        );

        let (status, ct, body) = h1(
            addr,
            post_req("/sum", Some("application/json"), r#"{"numbers":[1,2,3.5]}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct.as_deref(), Some("application/json"));
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value, json!({ "count": 3, "sum": 6.5 }));

        // The handler's own error, and axum's rejections.
        let (status, _, _) = h1(
            addr,
            post_req("/sum", Some("application/json"), r#"{"numbers":"x"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _, _) = h1(addr, post_req("/sum", Some("application/json"), "{")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = h1(addr, post_req("/sum", None, r#"{"numbers":[]}"#)).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, _, _) = h1(addr, get_req("/sum")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _, _) = h1(addr, get_req("/missing")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _, body) = h1(addr, get_req("/tokio-runtime")).await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"absent"[..]));

        // HTTP/2 (prior knowledge) on the same port.
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(HyperExecutor::new(), stream)
                .await
                .unwrap();
        let conn = runtime::spawn(conn);
        for name in ["a", "b", "c"] {
            let resp = sender
                .send_request(get_req(&format!("/hello/{name}")))
                .await
                .unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            assert_eq!(resp.status(), StatusCode::OK);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("Hello, {name}!\n"));
        }
        drop(sender);
        conn.await.unwrap().unwrap();

        server.abort();
        assert!(tokio_runtime_absent());
    });
}

flavor_tests!(axum_router_served_without_tokio_runtime);
