//! Starts an echo server on 127.0.0.1 (a free port), runs 100 client tasks
//! that each send 1,000 messages and check every echoed byte, then prints the
//! message rate and exits 0 (or exits 1 if any byte differed).
//!
//! ```text
//! cargo run --release --example hello_tcp
//! ```

use std::time::Instant;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

const CLIENTS: usize = 100;
const MESSAGES: usize = 1_000;
const MESSAGE_LEN: usize = 64;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    runtime::spawn(async move {
        loop {
            let (mut stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            runtime::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(());
                    }
                    stream.write_all(&buf[..n]).await?;
                }
            });
        }
    });

    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            runtime::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let mut msg = [0u8; MESSAGE_LEN];
                let mut back = [0u8; MESSAGE_LEN];
                for i in 0..MESSAGES {
                    // A pattern unique to (client, message), so a byte from
                    // another connection or an earlier message shows up.
                    for (j, b) in msg.iter_mut().enumerate() {
                        *b = (c * 31 + i * 7 + j) as u8;
                    }
                    stream.write_all(&msg).await?;
                    stream.read_exact(&mut back).await?;
                    if back != msg {
                        return Ok::<_, std::io::Error>(false);
                    }
                }
                Ok(true)
            })
        })
        .collect();
    let mut all_ok = true;
    for client in clients {
        all_ok &= client.await??;
    }
    let elapsed = start.elapsed();
    let total = CLIENTS * MESSAGES;
    println!(
        "{total} messages of {MESSAGE_LEN} B echoed over {CLIENTS} connections in {:.3} s: {:.0} messages/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    if all_ok {
        println!(
            "every byte came back intact ({} bytes each way)",
            total * MESSAGE_LEN
        );
        Ok(())
    } else {
        eprintln!("MISMATCH: an echoed message differed from what was sent");
        std::process::exit(1);
    }
}
