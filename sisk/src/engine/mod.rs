//! The engine under sisk's public namespaces: what serves the bound listeners ([`serve`]), picks the
//! router of a request's host ([`host_routing`]) and translates between hyper and sisk ([`service`]), and what a connection and a request run on — the transport and
//! its cut-off, the header-read timer, the counts of open connections and streams, the request body and
//! its bounded reader, and the future that is polled only when woken. Nothing here is public; the types
//! a program names live in [`crate::http`] and [`crate::routing`].

pub(crate) mod body_reader;
pub(crate) mod head_timer;
pub(crate) mod host_routing;
pub(crate) mod limits;
pub(crate) mod request_body;
pub(crate) mod request_line_watch;
pub(crate) mod serve;
pub(crate) mod service;
pub(crate) mod transport;
pub(crate) mod when_woken;
