use sisk::prelude::*;

#[route_prefix("/api")]
struct NotAController;

trait Named {
    fn name() -> &'static str;
}

#[route_prefix("/api")]
impl Named for NotAController {
    fn name() -> &'static str {
        "named"
    }
}

#[route_prefix(42)]
impl NotAController {}

fn main() {}
