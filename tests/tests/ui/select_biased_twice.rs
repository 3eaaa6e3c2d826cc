async fn f() {
    runtime::select! {
        biased;
        biased;
        _ = async {} => {}
    }
}

fn main() {}
