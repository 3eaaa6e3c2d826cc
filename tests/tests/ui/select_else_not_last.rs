async fn f() {
    runtime::select! {
        else => {},
        _ = async {} => {}
    }
}

fn main() {}
