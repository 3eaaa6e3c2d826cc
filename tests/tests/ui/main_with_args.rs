#[runtime::main]
async fn main(args: Vec<String>) {
    let first = async { args.first().cloned() }.await;
    let _ = first;
}
