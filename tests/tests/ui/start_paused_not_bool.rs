#[runtime::test(start_paused = "yes")]
async fn paused() {}

#[runtime::test(start_paused = 1)]
async fn paused_again() {}

fn main() {}
