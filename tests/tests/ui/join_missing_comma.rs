async fn f() {
    let _ = runtime::join!(async { 1 } async { 2 });
}

fn main() {}
