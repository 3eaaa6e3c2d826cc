#[runtime::main]
async fn main() -> std::io::Result<()> {
    let n = 5;
    n
}
