async fn f() -> u8 {
    runtime::select! {
        v = async { 1 } => v
        v = async { 2 } => v
    }
}

fn main() {}
