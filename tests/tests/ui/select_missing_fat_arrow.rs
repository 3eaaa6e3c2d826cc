async fn f() {
    runtime::select! {
        _ = async {} { }
    }
}

fn main() {}
