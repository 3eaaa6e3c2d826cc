#[runtime::test]
#[should_panic]
fn not_async() {
    panic!();
}

fn main() {}
