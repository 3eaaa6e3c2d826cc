async fn f() {
    let _ = runtime::select! {
        _ = async {} => 1,
        _ = async {} => "two",
    };
}

fn main() {}
