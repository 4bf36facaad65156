use sisk::prelude::*;

#[route_get("/")]
struct NotAHandler;

fn main() {}
