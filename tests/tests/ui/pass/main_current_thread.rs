//! A real `main` on the current-thread runtime, with a `pub` and an inner attribute.

#[runtime::main(flavor = "current_thread")]
pub async fn main() {
    #![allow(unused_variables)]
    let unused = runtime::spawn(async { 1 }).await.unwrap();
}
