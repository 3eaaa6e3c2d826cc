//! `#[runtime::test]` and `#[runtime::main]` expand to code that builds a runtime
//! and runs the function's body on it.

use std::io;

#[runtime::test]
async fn returns_unit() {
    let x = async { 1 + 1 }.await;
    assert_eq!(x, 2);
}

#[runtime::test]
async fn returns_ok_result() -> Result<(), io::Error> {
    let value: u32 = "7".parse().map_err(io::Error::other)?;
    assert_eq!(value, 7);
    Ok(())
}

#[runtime::test]
async fn early_return_and_question_mark() -> io::Result<()> {
    if ready().await? {
        return Ok(());
    }
    unreachable!("`ready` returned true");
}

async fn ready() -> io::Result<bool> {
    Ok(true)
}

#[runtime::test]
#[should_panic(expected = "boom from the body")]
async fn should_panic_is_kept() {
    panic!("boom from the body");
}

/// Doc comments and `#[ignore]` are kept on the generated test.
#[runtime::test]
#[ignore = "checks only that `#[ignore]` is accepted"]
async fn ignore_is_kept() {
    panic!("ignored tests don't run");
}

#[runtime::test]
async fn body_runs_on_a_runtime() {
    let handle = runtime::spawn(async { 5 });
    assert_eq!(handle.await.unwrap(), 5);
}

#[runtime::test(flavor = "current_thread")]
async fn explicit_current_thread() {
    assert_eq!(runtime::spawn(async { "ct" }).await.unwrap(), "ct");
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_with_two_workers() {
    let handles: Vec<_> = (0..8u32)
        .map(|i| runtime::spawn(async move { i * 2 }))
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap();
    }
    assert_eq!(sum, 56);
}

#[runtime::test(flavor = "multi_thread")]
async fn multi_thread_default_workers() {
    assert_eq!(runtime::spawn(async { 1u8 }).await.unwrap(), 1);
}

#[runtime::test(crate = "::runtime")]
async fn crate_path_can_be_named() {}

#[runtime::test]
async fn inner_attributes_move_to_the_fn() {
    #![allow(unused_variables)]
    let unused = 1;
}

/// `#[runtime::main]` works on any function, not just `main`, and returns the
/// body's value.
#[runtime::main(flavor = "current_thread")]
async fn entry_point() -> io::Result<u32> {
    Ok(runtime::spawn(async { 40 }).await.unwrap() + 2)
}

#[runtime::main]
async fn multi_thread_entry_point() -> String {
    runtime::spawn(async { String::from("mt") }).await.unwrap()
}

#[runtime::main(worker_threads = 3)]
async fn entry_point_with_workers() -> usize {
    3
}

#[test]
fn main_returns_the_body_value() {
    assert_eq!(entry_point().unwrap(), 42);
    assert_eq!(multi_thread_entry_point(), "mt");
    assert_eq!(entry_point_with_workers(), 3);
}

#[runtime::test(start_paused = true)]
async fn start_paused_starts_with_time_paused() {
    let start = runtime::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(runtime::time::Instant::now(), start);
    runtime::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
}

#[runtime::test(start_paused = false)]
async fn start_paused_false_keeps_the_real_clock() {
    let start = runtime::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(start.elapsed() >= std::time::Duration::from_millis(2));
}

#[runtime::main(flavor = "current_thread", start_paused = true)]
async fn paused_entry_point() -> std::time::Duration {
    let start = runtime::time::Instant::now();
    runtime::time::sleep(std::time::Duration::from_secs(60)).await;
    start.elapsed()
}

#[test]
fn main_can_start_paused() {
    assert_eq!(paused_entry_point(), std::time::Duration::from_secs(60));
}
