//! `SISK_LISTENING_PORT` and the order of precedence of listening ports. A test binary of its own: the
//! variable is process-wide, so nothing else here may build a server while it is set.

use sisk::prelude::*;
use sisk::ErrorKind;

#[test]
fn the_variable_overrides_the_code_unless_the_program_ignores_it() {
    // A port that stays taken for the whole test: building on it can only fail.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let in_code = format!("http://127.0.0.1:{}/", taken.local_addr().unwrap().port());
    let builder = || HttpServer::create_builder().use_listening_port(in_code.as_str());

    std::env::set_var("SISK_LISTENING_PORT", "http://127.0.0.1:0/");
    // The code's port is taken: only the variable's port 0 can be bound.
    drop(builder().build().expect("the variable wins over the port in code"));

    let err = builder().ignore_listening_port_variable().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "the code's port, which is taken: {err}");

    std::env::set_var("SISK_LISTENING_PORT", "localhost:5000");
    let err = builder().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidListeningPort);
    assert!(err.message().contains("SISK_LISTENING_PORT"), "the error names the variable: {err}");
    assert!(std::error::Error::source(&err).is_some(), "and keeps the parser's error as its cause");

    std::env::remove_var("SISK_LISTENING_PORT");
    assert_eq!(builder().build().unwrap_err().kind(), ErrorKind::Io, "without the variable, the code's port");
}
