//! Test support for the whole workspace: [`support`], what the book's examples and the suites run a
//! server with, and [`raw`], a TCP client for the requests an HTTP library refuses to send. Where a new
//! test goes is written in `CONTRIBUTING.md`.

pub mod raw;
pub mod support;
