//! Misuse of `#[runtime::main]` and `#[runtime::test]` is a clear, spanned compile
//! error, and correct use on a real `main` builds and runs.
//!
//! Each failing case is a file in `tests/ui/` with the expected rustc output beside
//! it; after changing a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p runtime-tests --test macros_compile_fail` and
//! read them.

#[test]
fn macros_compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
