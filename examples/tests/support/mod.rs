//! What the end-to-end tests of the examples share: an example binary running on a free port
//! ([`example`]), and (from `sisk-tests`) a child process that announces itself on stdout and is stopped
//! with everything it started.

pub mod example;
pub use sisk_tests::process;
