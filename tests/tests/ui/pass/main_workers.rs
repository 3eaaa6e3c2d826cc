//! `worker_threads` alone is fine on `main`, which is multi-thread by default.

#[runtime::main(worker_threads = 2)]
async fn main() {
    assert_eq!(runtime::spawn(async { 5 }).await.unwrap(), 5);
}
