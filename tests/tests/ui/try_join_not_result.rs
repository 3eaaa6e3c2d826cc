async fn f() {
    let _ = runtime::try_join!(async { Ok::<u8, ()>(1) }, async { 2 });
}

fn main() {}
