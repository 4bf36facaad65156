//! What the end-to-end tests of the examples share: an example binary running on a free port
//! ([`example`]), a program run to its end within a bound ([`command`]), and (from `sisk-tests`) a child
//! process that announces itself on stdout and is stopped with everything it started.

#[allow(dead_code)] // not every test file runs programs
pub mod command;
pub mod example;
pub use sisk_tests::process;
