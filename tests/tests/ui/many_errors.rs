#[runtime::main(foo = 1, worker_threads = 0)]
fn main(x: u8) {
    let _ = x;
}
