//! Compile-time behaviour of the macros: every `tests/ui/pass` case compiles
//! and runs, every `tests/ui/fail` case is rejected with the diagnostic in
//! its `.stderr`. Regenerate with `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
