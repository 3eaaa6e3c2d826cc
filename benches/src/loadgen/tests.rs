//! The generator against a blocking echo server of its own: counts, rate,
//! a corrupted byte caught, a herd.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{run, run_observed, Edge, Herd, Mode, Protocol, Spec};

/// A blocking echo server on a thread per connection.
fn echo_server(corrupt: bool) -> SocketAddr {
    echo_server_counting(corrupt, Arc::default())
}

/// [`echo_server`], adding every byte it reads to `read` before it
/// echoes it.
fn echo_server_counting(corrupt: bool, read: Arc<AtomicU64>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let read = read.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut total = 0usize;
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    total += n;
                    read.fetch_add(n as u64, Ordering::SeqCst);
                    if corrupt && total > 1000 {
                        buf[0] ^= 1;
                    }
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn spec(addr: SocketAddr, mode: Mode) -> Spec {
    Spec {
        addr,
        conns: 8,
        threads: 2,
        protocol: Protocol::Echo { size: 100 },
        mode,
        warmup: Duration::from_millis(50),
        window: Duration::from_millis(200),
        cpus: None,
        server_pid: Some(std::process::id()),
    }
}

#[test]
fn closed_loop_counts_and_verifies() {
    let addr = echo_server(false);
    let out = run(&spec(addr, Mode::Closed { depth: 2 })).unwrap();
    assert!(out.completed > 100, "{out:?}");
    assert_eq!(out.latency.count(), out.completed);
    assert!(out.server_cpu.is_some());
}

/// A closed-loop window observed with `run_observed` holds whole
/// exchanges: between the `Start` and `End` calls the server reads exactly
/// the bytes of the messages counted as observed, none of a message sent
/// before the window or still unanswered after it (8 connections, 2 in
/// flight each, so an edge that is not held is off by up to 16 messages).
#[test]
fn observed_closed_loop_window_holds_whole_exchanges() {
    let read = Arc::new(AtomicU64::new(0));
    let addr = echo_server_counting(false, read.clone());
    let sp = spec(addr, Mode::Closed { depth: 2 });
    let (mut at_start, mut at_end) = (None, None);
    let out = run_observed(&sp, &mut |edge| {
        let now = Some(read.load(Ordering::SeqCst));
        match edge {
            Edge::Start => at_start = now,
            Edge::End => at_end = now,
        }
    })
    .unwrap();
    let (a, b) = (at_start.unwrap(), at_end.unwrap());
    assert!(out.observed > 100, "{out:?}");
    assert_eq!(b - a, out.observed * 100, "{out:?}");
    // The load ran on after the window's start: the held messages left.
    assert!(out.completed > 0, "{out:?}");
}

#[test]
fn open_loop_sends_at_the_rate() {
    let addr = echo_server(false);
    let out = run(&spec(addr, Mode::Open { rate: 2000.0 })).unwrap();
    // 2000/s over a 200 ms window: about 400.
    assert!((300..=500).contains(&out.completed), "{out:?}");
    assert_eq!(out.unfinished, 0);
}

#[test]
fn a_wrong_byte_fails_the_run() {
    let addr = echo_server(true);
    let err = run(&spec(addr, Mode::Closed { depth: 1 })).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
}

#[test]
fn herd_connects_and_echoes() {
    let addr = echo_server(false);
    let mut h = Herd::connect(addr, Some("127.0.0.3".parse().unwrap()), 50, 16, 0).unwrap();
    assert_eq!(h.len(), 50);
    h.echo_all(16).unwrap();
}

/// A fixed response's unchecked bytes may be anything; every other byte
/// must match, whichever pieces the response arrives in.
#[test]
fn fixed_response_skips_only_the_unchecked_bytes() {
    use super::payload::Payload;
    let payload = Payload::new(&Protocol::Fixed {
        request: std::sync::Arc::from(&b"GET"[..]),
        response: std::sync::Arc::from(&b"head DATE! tail"[..]),
        unchecked: 5..10,
    });
    let good = b"head 12345 tail";
    for split in 0..=good.len() {
        assert!(payload.matches(0, 0, 0, &good[..split]), "split at {split}");
        assert!(
            payload.matches(0, 0, split, &good[split..]),
            "split at {split}"
        );
    }
    for wrong in (0..5).chain(10..good.len()) {
        let mut bad = *good;
        bad[wrong] ^= 1;
        for split in 0..=bad.len() {
            let whole = payload.matches(0, 0, 0, &bad[..split])
                && payload.matches(0, 0, split, &bad[split..]);
            assert!(!whole, "a wrong byte at {wrong}, split at {split}");
        }
    }
    // With nothing unchecked, every byte counts.
    let exact = Payload::new(&Protocol::Fixed {
        request: std::sync::Arc::from(&b"GET"[..]),
        response: std::sync::Arc::from(&b"head DATE! tail"[..]),
        unchecked: 0..0,
    });
    assert!(exact.matches(0, 0, 0, b"head DATE! tail"));
    assert!(!exact.matches(0, 0, 0, b"head 12345 tail"));
}

/// The `Date` value is found whatever the header name's case and the
/// white space around the value, only in the head, and only when it is an
/// HTTP date's length.
#[test]
fn date_value_is_found_in_the_head_in_any_case() {
    use super::{date_value, HTTP_DATE_LEN};
    use crate::contender::http_hello::{HELLO, HELLO_DATE};
    use crate::hyper_hello::RESPONSE;

    let epoch: &[u8] = b"Thu, 01 Jan 1970 00:00:00 GMT";
    // hyper writes `date: `, http_hello `Date: `.
    let hyper = date_value(RESPONSE).expect("hyper's date");
    assert_eq!(&RESPONSE[hyper.clone()], epoch);
    assert_eq!(&RESPONSE[hyper.start - 8..hyper.start], b"\r\ndate: ");
    assert_eq!(date_value(HELLO), Some(HELLO_DATE));
    for head in [
        &b"HTTP/1.1 200 OK\r\nDATE:Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nServer: x\r\nDaTe: \t Thu, 01 Jan 1970 00:00:00 GMT \r\n\r\n",
        b"HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let r = date_value(head).unwrap_or_else(|| panic!("{:?}", String::from_utf8_lossy(head)));
        assert_eq!(r.len(), HTTP_DATE_LEN);
        assert_eq!(&head[r], epoch);
    }
    for none in [
        &b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, World!"[..],
        // In the body, not the head.
        b"HTTP/1.1 200 OK\r\n\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
        // Other headers that end or start like it.
        b"HTTP/1.1 200 OK\r\nx-date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ndates: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
        // Not an HTTP date's length.
        b"HTTP/1.1 200 OK\r\ndate: Thu, 1 Jan 1970 00:00:00 GMT\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ndate:    \r\n\r\n",
        b"",
    ] {
        assert_eq!(
            date_value(none),
            None,
            "{:?}",
            String::from_utf8_lossy(none)
        );
    }
}

/// hyper's answer with any date is accepted, in whatever pieces it
/// arrives; a wrong byte anywhere else is caught.
#[test]
fn hyper_response_matches_with_any_date() {
    use super::payload::Payload;
    use crate::hyper_hello::{protocol, RESPONSE};

    let payload = Payload::new(&protocol());
    let mut real = RESPONSE.to_vec();
    let date = super::date_value(RESPONSE).unwrap();
    real[date.clone()].copy_from_slice(b"Wed, 02 Dec 2026 22:41:37 GMT");
    for split in 0..=real.len() {
        assert!(
            payload.matches(0, 0, 0, &real[..split])
                && payload.matches(0, 0, split, &real[split..]),
            "split at {split}"
        );
    }
    for wrong in (0..real.len()).filter(|i| !date.contains(i)) {
        let mut bad = real.clone();
        bad[wrong] = bad[wrong].wrapping_add(1);
        assert!(!payload.matches(0, 0, 0, &bad), "a wrong byte at {wrong}");
    }
}

/// A blocking server that answers each `request` it reads (they may come
/// pipelined) with `response`, the bytes at `date` replaced by a value that
/// changes from one answer to the next; from answer `corrupt_after` on (if
/// any), the byte after the date is wrong too.
fn dated_server(
    request: &'static [u8],
    response: &'static [u8],
    date: std::ops::Range<usize>,
    corrupt_after: Option<u64>,
) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let date = date.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut pending = 0usize;
                let mut answered = 0u64;
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending += n;
                    let mut out = Vec::new();
                    while pending >= request.len() {
                        pending -= request.len();
                        let mut r = response.to_vec();
                        let sec = answered % 60;
                        let value =
                            format!("Thu, 01 Jan 1970 00:{:02}:{sec:02} GMT", answered / 60 % 60);
                        r[date.clone()].copy_from_slice(value.as_bytes());
                        if corrupt_after.is_some_and(|k| answered >= k) {
                            r[date.end] ^= 1;
                        }
                        out.extend_from_slice(&r);
                        answered += 1;
                    }
                    if s.write_all(&out).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// The generator over real sockets: hyper's answers with a date that
/// changes on every answer count, closed loop and pipelined.
#[test]
fn the_generator_accepts_a_changing_date() {
    use crate::hyper_hello::{protocol, REQUEST, RESPONSE};
    let date = super::date_value(RESPONSE).unwrap();
    let addr = dated_server(REQUEST, RESPONSE, date, None);
    for depth in [1, 4] {
        let mut spec = spec(addr, Mode::Closed { depth });
        spec.protocol = protocol();
        let out = run(&spec).unwrap_or_else(|e| panic!("depth {depth}: {e}"));
        assert!(out.completed > 0, "depth {depth}: {out:?}");
    }
}

/// ... but a wrong byte outside the date still fails the run.
#[test]
fn a_wrong_byte_beside_a_changing_date_fails_the_run() {
    use crate::hyper_hello::{protocol, REQUEST, RESPONSE};
    let date = super::date_value(RESPONSE).unwrap();
    let addr = dated_server(REQUEST, RESPONSE, date, Some(50));
    let mut spec = spec(addr, Mode::Closed { depth: 1 });
    spec.protocol = protocol();
    let err = run(&spec).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
}
