//! What the person running a server must see even when the program installed no `tracing` subscriber
//! (as a program written from the book's first page does not): the address it listens on, the
//! mistakes found while building it, and a handler's panic. With a subscriber these are `tracing` events
//! like every other; without one they are printed to standard error, as Sisk prints to its console.

use std::fmt;

/// How much a notice matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    Info,
    Warn,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Notice::Info => "info",
            Notice::Warn => "warning",
        })
    }
}

/// True when nobody listens to `tracing`: no subscriber is set, globally or for this thread. (A handler's
/// panic, logged with its request's span, asks this itself.)
pub(crate) fn unheard() -> bool {
    tracing::dispatcher::get_default(|current| current.is::<tracing::subscriber::NoSubscriber>())
}

/// Says `message`: as a `tracing` event when a subscriber listens, on standard error otherwise.
pub(crate) fn notice(level: Notice, message: fmt::Arguments<'_>) {
    if unheard() {
        eprintln!("sisk {level}: {message}");
        return;
    }
    match level {
        Notice::Info => tracing::info!("{message}"),
        Notice::Warn => tracing::warn!("{message}"),
    }
}
