async fn f() {
    runtime::select! {
        _ => {}
    }
}

fn main() {}
