//! Compile-time errors of the attribute macros, pinned with trybuild: each message says
//! what to write instead.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
