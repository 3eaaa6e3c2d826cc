//! A real `main`: the default multi-thread runtime, `?` on `io::Result`.

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let n: u32 = "21".parse().map_err(std::io::Error::other)?;
    let doubled = runtime::spawn(async move { n * 2 }).await.unwrap();
    assert_eq!(doubled, 42);
    Ok(())
}
