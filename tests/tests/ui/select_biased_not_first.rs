async fn f() {
    runtime::select! {
        _ = async {} => {}
        biased;
        _ = async {} => {}
    }
}

fn main() {}
