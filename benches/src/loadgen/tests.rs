//! The generator against a blocking echo server of its own: counts, rate,
//! a corrupted byte caught, a herd.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use super::{run, Herd, Mode, Protocol, Spec};

/// A blocking echo server on a thread per connection.
fn echo_server(corrupt: bool) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut total = 0usize;
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    total += n;
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
