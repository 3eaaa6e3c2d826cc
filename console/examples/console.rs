//! A `runtime` program that `tokio-console` can watch: console-subscriber's
//! layer is installed, and a few named tasks run until the program is
//! stopped (or for the number of seconds given as its argument).
//!
//! ```text
//! cd console
//! cargo run --example console            # serves on 127.0.0.1:6669
//! tokio-console                          # in another terminal
//! ```
//!
//! `TOKIO_CONSOLE_BIND=HOST:PORT` picks another address (read by
//! `console_subscriber::init`, with its other `TOKIO_CONSOLE_*` variables).
//! The cfg console-subscriber needs is set by this package's
//! `.cargo/config.toml`.

use std::time::Duration;

use runtime::task::Builder;

fn main() -> std::io::Result<()> {
    // The console's gRPC server runs on its own thread (on tokio, inside
    // console-subscriber); the program's tasks run on `runtime`.
    console_subscriber::init();
    let seconds: Option<u64> = std::env::args().nth(1).map(|s| {
        s.parse()
            .expect("the argument is how many seconds to run, a whole number")
    });
    let rt = runtime::Runtime::new()?;
    rt.block_on(async {
        // Tasks that wake themselves through timers, at two rates.
        for (name, period) in [("ticker-fast", 10), ("ticker-slow", 1000)] {
            Builder::new().name(name).spawn(async move {
                let mut interval = runtime::time::interval(Duration::from_millis(period));
                loop {
                    interval.tick().await;
                }
            })?;
        }
        // Two tasks that wake each other through a channel.
        let (tx, mut rx) = runtime::sync::mpsc::channel::<u64>(1);
        Builder::new().name("producer").spawn(async move {
            for n in 0.. {
                runtime::time::sleep(Duration::from_millis(50)).await;
                if tx.send(n).await.is_err() {
                    break;
                }
            }
        })?;
        Builder::new()
            .name("consumer")
            .spawn(async move { while rx.recv().await.is_some() {} })?;
        // A blocking job, shown with kind `blocking`.
        Builder::new()
            .name("blocking-job")
            .spawn_blocking(|| std::thread::sleep(Duration::from_millis(500)))?;
        // Short-lived unnamed tasks: they appear, finish and close.
        runtime::spawn(async {
            loop {
                runtime::time::sleep(Duration::from_millis(200)).await;
                runtime::spawn(async { runtime::task::yield_now().await });
            }
        });
        println!("console-subscriber is serving; connect with `tokio-console`");
        match seconds {
            Some(s) => runtime::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
        Ok(())
    })
}
