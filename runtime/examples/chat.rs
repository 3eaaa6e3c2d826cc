//! A chat server: every line a client sends goes to every other client,
//! prefixed with the sender's address.
//!
//! ```text
//! cargo run --release --example chat -- 127.0.0.1:7003
//! ```
//!
//! Try it with two or more `nc 127.0.0.1 7003`. One
//! [`broadcast`](runtime::sync::broadcast) channel carries the lines; each
//! client's task waits, with [`select!`](runtime::select), for its next
//! line or the next line from the others. A client too slow to keep up
//! skips what it missed and is told how much.

use std::io;
use std::net::SocketAddr;

use futures_util::StreamExt;
use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::broadcast;

/// Lines kept for a slow client before it starts missing them.
const BACKLOG: usize = 256;

#[allow(dead_code)]
#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7003".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts clients forever, one task each, all on one channel.
///
/// # Errors
///
/// None today: an `accept` error is reported and the server keeps going.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let (tx, _) = broadcast::channel::<(SocketAddr, String)>(BACKLOG);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (tx, rx) = (tx.clone(), tx.subscribe());
                runtime::spawn(async move {
                    if let Err(e) = client(stream, peer, tx, rx).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Serves one client until it disconnects.
async fn client(
    stream: TcpStream,
    me: SocketAddr,
    tx: broadcast::Sender<(SocketAddr, String)>,
    mut rx: broadcast::Receiver<(SocketAddr, String)>,
) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    // A `Lines` stream keeps a partly read line in itself, so dropping its
    // `next()` future when the other branch wins loses nothing (a
    // `read_line` future would take the partial line with it).
    let mut lines = BufReader::new(rd).lines();
    wr.write_all(format!("welcome, {me}\n").as_bytes()).await?;
    loop {
        runtime::select! {
            line = lines.next() => match line {
                // Nobody else connected is no error.
                Some(line) => drop(tx.send((me, line?))),
                None => return Ok(()),
            },
            msg = rx.recv() => match msg {
                Ok((from, _)) if from == me => {}
                Ok((from, text)) => wr.write_all(format!("{from}: {text}\n").as_bytes()).await?,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    wr.write_all(format!("({n} lines missed)\n").as_bytes()).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}
