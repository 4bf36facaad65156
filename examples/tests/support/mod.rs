//! What the end-to-end tests of the examples share: a child process that announces itself on stdout and is
//! stopped with everything it started ([`process`]), and an example binary running on a free port
//! ([`example`]).

pub mod example;
pub mod process;
