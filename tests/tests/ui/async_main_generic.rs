#[runtime::main(flavor = "current_thread")]
async fn main<T>()
where
    T: Default,
{
}
