//! A real `main` on a paused current-thread runtime: an hour-long sleep ends at
//! once, exactly one virtual hour later.

use std::time::Duration;

#[runtime::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = runtime::time::Instant::now();
    runtime::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}
