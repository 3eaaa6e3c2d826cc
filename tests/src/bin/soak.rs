//! Soak: 1,000 concurrent client connections against an echo server on this
//! runtime, for a bounded time, with random message sizes (1 B – 256 KiB,
//! log-uniform), random half-closes, resets (also in the middle of a
//! message) and reconnects. Every echoed byte is checked: each connection
//! keeps a checksum of what it sent and of what came back, and they must
//! match.
//!
//! ```text
//! cargo run --release -p runtime-tests --bin soak -- --seconds 30
//! ```
//!
//! Options: `--seconds N` (default 30), `--connections N` (default 1000),
//! `--seed N` (default 1). At the end it prints `bytes_sent`,
//! `bytes_verified`, `mismatches`, the peak RSS, and the open fds and
//! reactor registrations against their baseline (taken after the runtime
//! started, before the listener was bound). It exits 1 if a byte was lost or
//! corrupted, a connection failed that this side did not reset, or an fd or
//! a registration was left behind.

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime_tests::{
    open_fd_count, registration_count, set_linger_zero, settle_async, sleep_blocking,
};

/// Largest message: 256 KiB.
const MAX_MESSAGE: usize = 256 * 1024;

/// Most messages per connection before it ends (and the client reconnects).
const MAX_MESSAGES_PER_CONNECTION: u64 = 16;

#[derive(Debug)]
struct Options {
    seconds: u64,
    connections: usize,
    seed: u64,
}

fn parse_options() -> Options {
    let mut opts = Options {
        seconds: 30,
        connections: 1000,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--seconds" => opts.seconds = value("--seconds"),
            "--connections" => opts.connections = value("--connections") as usize,
            "--seed" => opts.seed = value("--seed"),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    opts
}

fn usage(err: &str) -> ! {
    if !err.is_empty() {
        eprintln!("soak: {err}");
    }
    eprintln!("usage: soak [--seconds N] [--connections N] [--seed N]");
    std::process::exit(2);
}

/// xorshift64*: fast, good enough for sizes, choices and payloads.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Log-uniform in `1..=max`: as many 1–16 B messages as 16–256 KiB ones.
    fn size(&mut self, max: usize) -> usize {
        let bits = (max as f64).log2();
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (2f64.powf(unit * bits) as usize).clamp(1, max)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
    }
}

/// A running checksum over a byte stream, independent of how the stream is
/// cut into pieces: 64-bit FNV-1a over 8-byte words (the tail bytes wait in
/// `pending` for the next piece), plus the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checksum {
    hash: u64,
    len: u64,
    pending: [u8; 8],
    npending: usize,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
            pending: [0; 8],
            npending: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.hash = (self.hash ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.npending > 0 {
            let take = (8 - self.npending).min(data.len());
            self.pending[self.npending..self.npending + take].copy_from_slice(&data[..take]);
            self.npending += take;
            data = &data[take..];
            if self.npending < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.npending = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().unwrap()));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }

    /// The final value (the checksum itself stays usable).
    fn value(&self) -> (u64, u64) {
        let mut c = *self;
        if c.npending > 0 {
            let mut last = [0u8; 8];
            last[..c.npending].copy_from_slice(&c.pending[..c.npending]);
            c.word(u64::from_le_bytes(last) ^ (c.npending as u64) << 56);
        }
        (c.hash, c.len)
    }
}

/// Process-wide tallies.
#[derive(Debug, Default)]
struct Stats {
    connections: AtomicUsize,
    half_closes: AtomicUsize,
    plain_closes: AtomicUsize,
    resets: AtomicUsize,
    mid_message_resets: AtomicUsize,
    messages: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_verified: AtomicU64,
    bytes_abandoned: AtomicU64,
    mismatches: AtomicUsize,
    client_errors: AtomicUsize,
    connect_retries: AtomicUsize,
    server_accepted: AtomicUsize,
    server_bytes: AtomicU64,
    server_resets: AtomicUsize,
    server_errors: AtomicUsize,
    accept_aborted: AtomicUsize,
}

/// How a connection ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// `shutdown(Write)`, then read the server's EOF.
    HalfClose,
    /// Drop the stream (FIN both ways) after the last echo.
    PlainClose,
    /// Send bytes that will never be read, then close with a reset.
    Reset,
    /// Reset in the middle of a message, with data in flight both ways.
    MidMessageReset,
}

fn pick_ending(rng: &mut Rng) -> Ending {
    match rng.below(10) {
        0..=3 => Ending::HalfClose,
        4..=5 => Ending::PlainClose,
        6..=8 => Ending::Reset,
        _ => Ending::MidMessageReset,
    }
}

/// Writes `data` and reads back as many bytes concurrently (a large message
/// does not fit in the socket buffers, so both must progress at once),
/// feeding the received bytes to `received`.
async fn echo_message(
    stream: &TcpStream,
    data: &[u8],
    received: &mut Checksum,
    scratch: &mut [u8],
) -> io::Result<()> {
    let write = async {
        let mut w = stream;
        w.write_all(data).await
    };
    let read = async {
        let mut r = stream;
        let mut left = data.len();
        while left > 0 {
            let want = left.min(scratch.len());
            let n = r.read(&mut scratch[..want]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("EOF with {left} echoed bytes missing"),
                ));
            }
            received.update(&scratch[..n]);
            left -= n;
        }
        Ok(())
    };
    let (w, r) = futures_util::future::join(write, read).await;
    w.and(r)
}

/// One connection's life: connect, a random number of echoed messages,
/// then a random ending. Returns whether the client should go on.
async fn one_connection(
    addr: SocketAddr,
    rng: &mut Rng,
    stats: &Stats,
    deadline: Instant,
    scratch: &mut [u8],
) -> bool {
    let stream = loop {
        match TcpStream::connect(addr).await {
            Ok(s) => break s,
            // Out of ephemeral ports for a moment (TIME_WAIT): back off.
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
                stats.connect_retries.fetch_add(1, Ordering::Relaxed);
                sleep_blocking(Duration::from_millis(10)).await;
            }
            Err(e) => {
                eprintln!("soak: connect failed: {e}");
                stats.client_errors.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let ending = pick_ending(rng);
    let messages = 1 + rng.below(MAX_MESSAGES_PER_CONNECTION);
    let mut sent = Checksum::new();
    let mut received = Checksum::new();
    let mut data = Vec::new();
    let fail = |what: &str, e: io::Error| {
        eprintln!("soak: {what}: {e}");
        stats.client_errors.fetch_add(1, Ordering::Relaxed);
        false
    };

    for _ in 0..messages {
        let len = rng.size(MAX_MESSAGE);
        data.resize(len, 0);
        rng.fill(&mut data);
        sent.update(&data);
        if let Err(e) = echo_message(&stream, &data, &mut received, scratch).await {
            return fail("echo", e);
        }
        stats.messages.fetch_add(1, Ordering::Relaxed);
        if Instant::now() >= deadline {
            break;
        }
    }

    // Everything sent so far has come back: compare.
    let verified = sent.value().1;
    stats.bytes_sent.fetch_add(verified, Ordering::Relaxed);
    if sent.value() == received.value() {
        stats.bytes_verified.fetch_add(verified, Ordering::Relaxed);
    } else {
        stats.mismatches.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "soak: MISMATCH on {:?}: sent {:?}, received {:?}",
            stream.local_addr(),
            sent.value(),
            received.value()
        );
    }

    match ending {
        Ending::HalfClose => {
            if let Err(e) = stream.shutdown_std(Shutdown::Write) {
                return fail("shutdown", e);
            }
            let mut rest = Vec::new();
            let mut r = &stream;
            match r.read_to_end(&mut rest).await {
                Ok(0) => {}
                Ok(n) => {
                    eprintln!("soak: {n} unexpected bytes after a half-close");
                    stats.mismatches.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return fail("read after half-close", e),
            }
            stats.half_closes.fetch_add(1, Ordering::Relaxed);
        }
        Ending::PlainClose => {
            drop(stream);
            stats.plain_closes.fetch_add(1, Ordering::Relaxed);
        }
        Ending::Reset => {
            let len = rng.size(MAX_MESSAGE);
            data.resize(len, 0);
            rng.fill(&mut data);
            let mut w = &stream;
            // The server may be echoing already; the write may fill the
            // buffers, so send only what fits without waiting.
            let n = match w.write(&data).await {
                Ok(n) => n,
                Err(e) => return fail("write before reset", e),
            };
            stats.bytes_abandoned.fetch_add(n as u64, Ordering::Relaxed);
            if let Err(e) = set_linger_zero(&stream) {
                return fail("SO_LINGER", e);
            }
            drop(stream);
            stats.resets.fetch_add(1, Ordering::Relaxed);
        }
        Ending::MidMessageReset => {
            let len = rng.size(MAX_MESSAGE);
            data.resize(len, 0);
            rng.fill(&mut data);
            let mut w = &stream;
            let n = match w.write(&data).await {
                Ok(n) => n,
                Err(e) => return fail("write before mid-message reset", e),
            };
            // Read part of the echo, then reset with the rest in flight.
            let mut r = &stream;
            let want = (n / 2).clamp(1, scratch.len());
            if let Err(e) = r.read(&mut scratch[..want]).await {
                return fail("read before mid-message reset", e);
            }
            stats.bytes_abandoned.fetch_add(n as u64, Ordering::Relaxed);
            if let Err(e) = set_linger_zero(&stream) {
                return fail("SO_LINGER", e);
            }
            drop(stream);
            stats.mid_message_resets.fetch_add(1, Ordering::Relaxed);
        }
    }
    Instant::now() < deadline
}

/// The server's side of one connection: echo until EOF, then close.
async fn serve(mut stream: TcpStream, stats: Arc<Stats>) {
    let mut buf = vec![0u8; 64 * 1024];
    let res: io::Result<()> = async {
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return stream.close().await;
            }
            stream.write_all(&buf[..n]).await?;
            stats.server_bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    .await;
    match res {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
            stats.server_resets.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            eprintln!("soak: server connection failed: {e}");
            stats.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Peak resident set size in KiB (`VmHWM`), if `/proc` tells.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let opts = parse_options();
    let rt = runtime::Runtime::new().expect("building the runtime");
    let ok = rt.block_on(run(opts));
    drop(rt);
    if !ok {
        eprintln!("soak: FAILED");
        std::process::exit(1);
    }
    println!("soak: ok");
}

async fn run(opts: Options) -> bool {
    let stats = Arc::new(Stats::default());
    let fds_base = open_fd_count();
    let regs_base = registration_count();

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the listener");
    let addr = listener.local_addr().unwrap();
    let s = stats.clone();
    let acceptor = runtime::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    s.server_accepted.fetch_add(1, Ordering::Relaxed);
                    runtime::spawn(serve(stream, s.clone()));
                }
                // A client that reset before we accepted it.
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => {
                    s.accept_aborted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    eprintln!("soak: accept failed: {e}");
                    s.server_errors.fetch_add(1, Ordering::Relaxed);
                    sleep_blocking(Duration::from_millis(10)).await;
                }
            }
        }
    });

    let start = Instant::now();
    let deadline = start + Duration::from_secs(opts.seconds);
    println!(
        "soak: {} connections for {} s against {addr} (seed {})",
        opts.connections, opts.seconds, opts.seed
    );
    let clients: Vec<_> = (0..opts.connections)
        .map(|i| {
            let stats = stats.clone();
            let mut rng = Rng::new(opts.seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407));
            runtime::spawn(async move {
                let mut scratch = vec![0u8; 64 * 1024];
                while one_connection(addr, &mut rng, &stats, deadline, &mut scratch).await {}
            })
        })
        .collect();
    for c in clients {
        if let Err(e) = c.await {
            eprintln!("soak: a client task failed: {e}");
            stats.client_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let elapsed = start.elapsed();

    // Every client is done; the server's tasks end once they see the EOF
    // or reset. Then drop the listener and wait for the counts to settle.
    acceptor.abort();
    let _ = acceptor.await;
    let regs = settle_async(regs_base, Duration::from_secs(30), registration_count).await;
    let fds = settle_async(fds_base, Duration::from_secs(30), open_fd_count).await;

    let st = &*stats;
    let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let get64 = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let (sent, verified) = (get64(&st.bytes_sent), get64(&st.bytes_verified));
    println!(
        "soak: {:.1} s, {} connections ({} half-closed, {} closed, {} reset, {} reset \
         mid-message), {} messages, {} connect retries",
        elapsed.as_secs_f64(),
        get(&st.connections),
        get(&st.half_closes),
        get(&st.plain_closes),
        get(&st.resets),
        get(&st.mid_message_resets),
        get64(&st.messages),
        get(&st.connect_retries),
    );
    println!(
        "soak: server accepted {} ({} aborted before accept), echoed {} bytes, {} \
         connections reset by clients, {} errors",
        get(&st.server_accepted),
        get(&st.accept_aborted),
        get64(&st.server_bytes),
        get(&st.server_resets),
        get(&st.server_errors),
    );
    println!(
        "bytes_sent={sent} bytes_verified={verified} mismatches={} bytes_abandoned_by_reset={} \
         client_errors={}",
        get(&st.mismatches),
        get64(&st.bytes_abandoned),
        get(&st.client_errors),
    );
    println!(
        "throughput={:.1} MiB/s each way",
        sent as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak_rss={:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak_rss=unknown"),
    }
    println!("fds={fds} (baseline {fds_base}) registrations={regs} (baseline {regs_base})");

    let resets = get(&st.resets) + get(&st.mid_message_resets);
    let mut ok = true;
    let mut check = |cond: bool, what: &str| {
        if !cond {
            eprintln!("soak: {what}");
            ok = false;
        }
    };
    check(
        get(&st.mismatches) == 0,
        "corrupted bytes (checksum mismatch)",
    );
    check(sent == verified, "bytes sent were not all verified");
    check(get(&st.client_errors) == 0, "client connections failed");
    check(get(&st.server_errors) == 0, "server connections failed");
    check(
        get(&st.server_resets) <= resets,
        "the server saw more resets than the clients made",
    );
    check(
        get(&st.connections) >= opts.connections,
        "fewer connections than clients",
    );
    check(regs == regs_base, "registrations not back to the baseline");
    check(fds == fds_base, "fds not back to the baseline");
    ok
}
