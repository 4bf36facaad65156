//! [`IdentifierPolicy`]: what happens when a connection opens with an identifier that an open connection
//! already has — on this node, or, on a backplane, on another.

/// What happens when a connection opens with an identifier already in use, set in
/// [`HttpServerConfiguration::identifier_policy`](crate::http::HttpServerConfiguration::identifier_policy).
///
/// The default keeps both: the same user in two tabs is the common case, and replacing would make those
/// tabs close each other forever (each `EventSource` reconnects and closes the other, every `retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdentifierPolicy {
    /// Both stay open. Broadcasts, `send_to`, `find` and `all` reach every connection with the
    /// identifier; `get_by_identifier` gives the newest. Costs one connection per tab.
    #[default]
    AllowSeveral,
    /// The new connection replaces the old one, which is closed — Sisk's behaviour, on one node or
    /// across a backplane's nodes. Two tabs with one identifier then close each other in a loop.
    Replace,
    /// The new connection is refused with `409 Conflict` (an `EventSource` that gets it stops for
    /// good); the open one stays. Across a backplane's nodes only this node's connections are checked.
    RejectNew,
}
