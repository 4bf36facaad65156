//! Compile errors of the route attributes: each file in `tests/ui/` must fail with its `.stderr`.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
