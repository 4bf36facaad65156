//! How a WebSocket message reaches the sockets of every node of a [backplane](crate::backplane): it
//! travels the same shared log the event sources' events do, as an entry for an identifier of the
//! framework's own that no connection holds, which every node listens to and delivers to its own
//! sockets. Here is that entry's text: whom it is for, then the message (binary in base64).

use std::sync::Arc;

use base64::Engine as _;

use crate::http::streams::INTERNAL_MARK;
use crate::http::websockets::WebSocketMessage;

/// The identifier, of the framework's own, whose log entries carry WebSocket messages.
pub(super) fn channel() -> Arc<str> {
    format!("{INTERNAL_MARK}websockets").into()
}

/// Whom a relayed message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// Every identified socket.
    All,
    /// The sockets with this identifier.
    Identifier(String),
    /// The sockets whose identifier starts with this.
    Prefix(String),
}

/// The entry's text: the target on the first line (identifiers hold no control character, so no line
/// break), the kind on the second, the payload after it.
pub(super) fn encode(target: &Target, message: &WebSocketMessage) -> String {
    let target = match target {
        Target::All => "*".to_owned(),
        Target::Identifier(identifier) => format!("={identifier}"),
        Target::Prefix(prefix) => format!("^{prefix}"),
    };
    if message.is_text() {
        format!("{target}\nt\n{}", message.get_string())
    } else {
        format!("{target}\nb\n{}", base64::engine::general_purpose::STANDARD.encode(message.as_bytes()))
    }
}

/// The target and message of an entry's text; `None` for a text this module did not write.
pub(super) fn decode(text: &str) -> Option<(Target, WebSocketMessage)> {
    let (target, rest) = text.split_once('\n')?;
    let (kind, payload) = rest.split_once('\n')?;
    let target = match target.split_at_checked(1)? {
        ("*", "") => Target::All,
        ("=", identifier) => Target::Identifier(identifier.to_owned()),
        ("^", prefix) => Target::Prefix(prefix.to_owned()),
        _ => return None,
    };
    let message = match kind {
        "t" => WebSocketMessage::from(payload),
        "b" => WebSocketMessage::from(base64::engine::general_purpose::STANDARD.decode(payload).ok()?),
        _ => return None,
    };
    Some((target, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_and_kind_comes_back_as_it_went() {
        let targets = [Target::All, Target::Identifier("room-1-ana".into()), Target::Prefix("room-".into())];
        let messages = [
            WebSocketMessage::from("olá\nwith a line break\r\nand more"),
            WebSocketMessage::from(""),
            WebSocketMessage::from(vec![0u8, 255, 10, 13]),
        ];
        for target in &targets {
            for message in &messages {
                assert_eq!(decode(&encode(target, message)), Some((target.clone(), message.clone())));
            }
        }
    }

    #[test]
    fn a_text_this_module_did_not_write_is_none_not_a_panic() {
        for text in ["", "*", "*\nt", "?\nt\nx", "*\nq\nx", "*\nb\nnot base64!", "=\u{e9}", "\u{e9}\nt\nx"] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}

/// Property tests: any text is read or refused without a panic; what is written comes back.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn target() -> impl Strategy<Value = Target> {
        // Identifiers hold no control character (get_web_socket refuses them).
        let identifier = "[^\\p{Cc}]{0,20}";
        prop_oneof![Just(Target::All), identifier.prop_map(Target::Identifier), identifier.prop_map(Target::Prefix),]
    }

    fn message() -> impl Strategy<Value = WebSocketMessage> {
        prop_oneof![
            any::<String>().prop_map(WebSocketMessage::from),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(WebSocketMessage::from),
        ]
    }

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_a_panic(text in any::<String>()) {
            let _ = decode(&text);
        }

        #[test]
        fn what_is_written_comes_back(target in target(), message in message()) {
            prop_assert_eq!(decode(&encode(&target, &message)), Some((target, message)));
        }
    }
}
