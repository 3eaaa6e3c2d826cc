//! The servers `compare` measures, each in its own process as `compare`
//! runs them, checked with the load generator: every runtime's echo and
//! HTTP server answers correctly (every byte, pipelined HTTP in order).
//! So do hyper's servers and the proxies, on the set-ups that have them.
//! Also the HTTP responder on its own, and the raw epoll server's edge
//! cases (backpressure, end of stream, resets, descriptors given back).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use runtime_benches::contender::http_hello::{date, respond, Next, DATE_LEN, HELLO, HELLO_DATE};
use runtime_benches::contender::{Contender, Service};
use runtime_benches::loadgen::{self, Herd, Mode, Protocol, Spec};

/// A `compare --serve` child; killed on drop.
struct Server(Child, SocketAddr);

impl Server {
    fn start(c: Contender, case: &str) -> Server {
        Server::start_with(c, case, &[])
    }

    /// With more arguments (`--upstream A`).
    fn start_with(c: Contender, case: &str, more: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args(["--serve", c.name(), "--workers", "2", "--case", case])
            .args(more)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{c}: said {line:?}"))
            .parse()
            .unwrap();
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin ends the server; kill in case it does not.
        drop(self.0.stdin.take());
        std::thread::sleep(Duration::from_millis(20));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spec(addr: SocketAddr, protocol: Protocol, mode: Mode, pid: u32) -> Spec {
    Spec {
        addr,
        conns: 10,
        threads: 1,
        protocol,
        mode,
        warmup: Duration::from_millis(20),
        window: Duration::from_millis(150),
        cpus: None,
        server_pid: Some(pid),
    }
}

#[test]
fn every_server_echoes_and_answers_http() {
    let http = Protocol::Fixed {
        request: Arc::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        response: Arc::from(HELLO),
        unchecked: HELLO_DATE,
    };
    for c in Contender::ALL {
        let echo = Server::start(c, "echo");
        let pid = echo.0.id();
        for size in [64, 5000] {
            let out = loadgen::run(&spec(
                echo.1,
                Protocol::Echo { size },
                Mode::Closed { depth: 2 },
                pid,
            ))
            .unwrap_or_else(|e| panic!("{c} echo {size}: {e}"));
            assert!(out.completed > 0, "{c} echo {size}");
            assert!(out.server_cpu.is_some());
        }
        let mut herd =
            Herd::connect(echo.1, None, 100, 32, 0).unwrap_or_else(|e| panic!("{c} herd: {e}"));
        herd.echo_all(32).unwrap();
        drop(herd);
        drop(echo);
        if !c.serves(Service::Http) {
            continue;
        }
        let server = Server::start(c, "http");
        for depth in [1, 8] {
            let out = loadgen::run(&spec(
                server.1,
                http.clone(),
                Mode::Closed { depth },
                server.0.id(),
            ))
            .unwrap_or_else(|e| panic!("{c} http depth {depth}: {e}"));
            assert!(out.completed > 0, "{c} http depth {depth}");
        }
    }
}

/// The descriptors `pid` has open.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Waits (bounded, generously) until `pid` has `n` descriptors open.
fn wait_for_fds(pid: u32, n: usize) -> usize {
    let mut now = open_fds(pid);
    for _ in 0..2000 {
        if now == n {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        now = open_fds(pid);
    }
    now
}

/// A connection to `addr` whose reads give up (fail) after a generous
/// while instead of hanging the test.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

#[test]
fn raw_epoll_echoes_every_byte_through_backpressure_eof_and_resets() {
    let server = Server::start(Contender::RawEpoll, "echo");
    let (pid, addr) = (server.0.id(), server.1);
    // Once a connection has been echoed on, the server is up (its epoll
    // made) and holds that connection's descriptor besides its own.
    let mut first = connect(addr);
    first.write_all(b"x").unwrap();
    first.read_exact(&mut [0]).unwrap();
    let idle = open_fds(pid) - 1;
    drop(first);

    // 8 MiB sent before a byte is read back: the server's sends fall short
    // and it keeps the rest until the socket is writable again.
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let sent = data.clone();
    let w = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        // End of stream: the server closes once it has echoed everything.
        writer.shutdown(Shutdown::Write).unwrap();
    });
    std::thread::sleep(Duration::from_millis(100));
    let mut back = Vec::with_capacity(data.len());
    stream
        .read_to_end(&mut back)
        .expect("echo up to end of stream");
    w.join().unwrap();
    assert_eq!(back.len(), data.len(), "every byte echoed, then closed");
    assert!(back == data, "bytes echoed in order");
    drop(stream);

    // Many small messages on several connections at once, one byte at a
    // time and in bursts.
    let mut conns: Vec<TcpStream> = (0..8).map(|_| connect(addr)).collect();
    for round in 0..50u8 {
        for (i, c) in conns.iter_mut().enumerate() {
            let msg = vec![round ^ i as u8; 1 + (round as usize * 97 + i) % 3000];
            c.write_all(&msg).unwrap();
            let mut got = vec![0; msg.len()];
            c.read_exact(&mut got).unwrap();
            assert_eq!(got, msg);
        }
    }

    // Resets: a peer that aborts with unread echo pending, and one that
    // aborts mid-stream; the server drops both and serves on.
    for c in conns.iter_mut().take(4) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `linger` is a valid `struct linger` of the size passed;
        // the fd is open.
        let rc = unsafe {
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        c.write_all(&[7; 100_000]).unwrap();
    }
    drop(conns);

    // Every connection's descriptor is given back.
    assert_eq!(wait_for_fds(pid, idle), idle, "no descriptor leaked");

    // A message and the FIN right behind it: the FIN is often queued
    // before the server reads the message (a short read), and its edge is
    // already taken then; the server must still see it and close.
    for i in 0..200u32 {
        let mut c = connect(addr);
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let msg = i.to_le_bytes().repeat(1 + i as usize % 50);
        c.write_all(&msg).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back)
            .unwrap_or_else(|e| panic!("connection {i}: no close after the echo: {e}"));
        assert_eq!(back, msg, "connection {i}");
    }

    let mut last = connect(addr);
    last.write_all(b"still here").unwrap();
    let mut got = [0; 10];
    last.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"still here");
    last.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        last.read(&mut got).unwrap(),
        0,
        "closed after end of stream"
    );
    drop(last);
    assert_eq!(wait_for_fds(pid, idle), idle, "no descriptor leaked");
}

/// hyper on every `runtime` and tokio set-up answers keep-alive and
/// pipelined requests as the `hyper` case expects (but for the date).
#[test]
fn hyper_servers_answer_as_expected() {
    let mut served = 0;
    for c in Contender::ALL {
        if !c.serves(Service::Hyper) {
            continue;
        }
        served += 1;
        let server = Server::start(c, "hyper");
        for depth in [1, 4] {
            let out = loadgen::run(&spec(
                server.1,
                runtime_benches::hyper_hello::protocol(),
                Mode::Closed { depth },
                server.0.id(),
            ))
            .unwrap_or_else(|e| panic!("{c} hyper depth {depth}: {e}"));
            assert!(out.completed > 0, "{c} hyper depth {depth}");
        }
    }
    assert_eq!(
        served, 5,
        "runtime, runtime-thread, runtime-ct, tokio, tokio-ct"
    );
}

/// Every proxy passes echo through to the backend and back, every byte,
/// for small messages and for the `proxy` case's 64 KiB ones.
#[test]
fn proxies_carry_every_byte_both_ways() {
    let backend = Server::start(Contender::RawEpoll, "echo");
    let upstream = backend.1.to_string();
    for c in Contender::ALL {
        let service = Service::Proxy {
            upstream: backend.1,
        };
        if !c.serves(service) {
            continue;
        }
        let proxy = Server::start_with(c, "proxy", &["--upstream", &upstream]);
        for size in [100, 64 * 1024] {
            let out = loadgen::run(&spec(
                proxy.1,
                Protocol::Echo { size },
                Mode::Closed { depth: 2 },
                proxy.0.id(),
            ))
            .unwrap_or_else(|e| panic!("{c} proxy {size}: {e}"));
            assert!(out.completed > 0, "{c} proxy {size}");
        }
        // A half-close travels through: the backend closes after echoing
        // everything, and so does the proxy.
        let mut s = connect(proxy.1);
        s.write_all(b"last words").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"last words", "{c}");
    }
}

/// A set-up without a server for a case says so and exits, before it
/// listens.
#[test]
fn a_missing_server_is_an_error() {
    for (c, case, more) in [
        (Contender::Smol, "hyper", &[][..]),
        (Contender::Smol, "proxy", &["--upstream", "127.0.0.1:9"][..]),
        (Contender::RawEpoll, "hyper", &[][..]),
        (Contender::Tokio, "proxy", &[][..]),
        (Contender::Tokio, "gopher", &[][..]),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args(["--serve", c.name(), "--case", case])
            .args(more)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{c} {case}");
        assert!(out.stdout.is_empty(), "{c} {case}: listened");
    }
}

#[test]
fn raw_epoll_only_runs_echo_sections() {
    let c = Contender::RawEpoll;
    assert!(c.serves(Service::Echo) && !c.serves(Service::Http));
    for s in ["echo", "echo-rate", "scale"] {
        assert!(c.in_section(s), "{s}");
    }
    for s in [
        "http", "hyper", "proxy", "sched", "timers", "memory", "scaling",
    ] {
        assert!(!c.in_section(s), "{s}");
    }
    assert_eq!("raw-epoll".parse::<Contender>(), Ok(c));
    let e = c.task_memory(1, 10).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
}

/// Runs `respond`, then checks every `Date` value it wrote: the current
/// date (of a second between the call's start and end) in the standard
/// form. Returns what it wrote with those values set to the epoch's, as in
/// the constants.
fn respond_undated(input: &mut Vec<u8>, out: &mut Vec<u8>) -> Next {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = now();
    let start = out.len();
    let next = respond(input, out);
    let after = now();
    let epoch = date::format(0);
    let mut at = start;
    while let Some(found) = out[at..].windows(8).position(|w| w == b"\r\nDate: ") {
        let value = at + found + 8;
        let got = &out[value..value + DATE_LEN];
        assert!(
            (before..=after).any(|t| date::format(t) == got),
            "Date: {:?}, not of the time of the call",
            String::from_utf8_lossy(got)
        );
        out[value..value + DATE_LEN].copy_from_slice(&epoch);
        at = value + DATE_LEN;
    }
    next
}

#[test]
fn respond_answers_pipelined_requests_in_order() {
    let mut input = b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\nGET / HT".to_vec();
    let mut out = Vec::new();
    assert_eq!(respond_undated(&mut input, &mut out), Next::KeepAlive);
    let not_found =
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
    assert_eq!(out, [HELLO, &not_found[..]].concat());
    assert_eq!(input, b"GET / HT");
    out.clear();
    input.extend_from_slice(b"TP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(respond_undated(&mut input, &mut out), Next::KeepAlive);
    assert_eq!(out, HELLO);
    assert!(input.is_empty());
}

/// `HELLO` is the answer with a `Date` header whose value lies at
/// `HELLO_DATE`.
#[test]
fn hello_has_its_date_where_said() {
    assert_eq!(HELLO_DATE.len(), DATE_LEN);
    assert_eq!(&HELLO[HELLO_DATE.start - 6..HELLO_DATE.start], b"Date: ");
    assert_eq!(&HELLO[HELLO_DATE], b"Thu, 01 Jan 1970 00:00:00 GMT");
    assert!(HELLO.ends_with(b"\r\n\r\nHello, World!"));
}

/// The date formatter against known dates and, over 1970-2200, against
/// libc's `gmtime_r`.
#[test]
fn dates_are_formatted_as_http_dates() {
    for (secs, text) in [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT"),
        (1_796_251_297, "Wed, 02 Dec 2026 22:41:37 GMT"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (u64::MAX, "Fri, 31 Dec 9999 23:59:59 GMT"),
    ] {
        assert_eq!(
            std::str::from_utf8(&date::format(secs)).unwrap(),
            text,
            "{secs}"
        );
    }
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Every 1000th day plus a varying time of day, and every day around
    // the turns of 2000 and 2100 (a leap century and a plain one).
    let days = (0..84_000u64)
        .step_by(1000)
        .chain(10_900..11_050)
        .chain(47_400..47_600);
    for (i, day) in days.enumerate() {
        let secs = day * 86_400 + (i as u64 * 7_919) % 86_400;
        let t = secs as libc::time_t;
        // SAFETY: `tm` is a plain struct that `gmtime_r` fills in.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call.
        assert!(!unsafe { libc::gmtime_r(&t, &mut tm) }.is_null());
        let want = format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[tm.tm_wday as usize],
            tm.tm_mday,
            MONTHS[tm.tm_mon as usize],
            tm.tm_year + 1900,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        );
        assert_eq!(std::str::from_utf8(&date::format(secs)).unwrap(), want);
    }
    // The cached value is the current date.
    let now = date::now();
    assert_eq!(now.len(), DATE_LEN);
    assert!(now.ends_with(b" GMT"));
}

#[test]
fn respond_closes_when_asked_or_confused() {
    let mut out = Vec::new();
    let mut input = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n".to_vec();
    assert_eq!(respond_undated(&mut input, &mut out), Next::Close);
    assert_eq!(out, HELLO, "nothing is answered after the close");
    let mut out = Vec::new();
    let mut input = b"GET / HTTP/1.0\r\n\r\n".to_vec();
    assert_eq!(respond(&mut input, &mut out), Next::Close);
    let mut out = Vec::new();
    let mut input = b"garbage\r\n\r\n".to_vec();
    assert_eq!(respond(&mut input, &mut out), Next::Close);
    assert!(out.starts_with(b"HTTP/1.1 400"));
    let mut out = Vec::new();
    let mut input = vec![b'a'; 9000];
    assert_eq!(
        respond(&mut input, &mut out),
        Next::Close,
        "an endless head is refused"
    );
}
