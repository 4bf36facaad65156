//! The request metadata headers of revision 2026-07-28: `Mcp-Method` (the body's `method`), `Mcp-Name`
//! (its `params.name` or `params.uri`) and `Mcp-Param-{Name}` (a tool argument whose schema carries
//! `x-mcp-header`), each checked against the body, so that a load balancer routing on a header and
//! the server acting on the body never disagree. Values may come Base64-encoded as
//! `=?base64?…?=`; surrounding whitespace is not part of a value.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::http::HttpRequest;

/// The header a tool's schema names for one of its arguments, with the argument's path and type.
struct MirroredArgument {
    header: String,
    path: Vec<String>,
    kind: String,
}

/// Why the headers do not fit the body: the message of a `HeaderMismatch` error.
pub(crate) type Mismatch = String;

/// A header's value: trimmed, Base64-decoded when in the sentinel form; `Err` when it is not text or
/// its Base64 is not valid.
fn decoded(request: &HttpRequest, name: &str) -> Option<Result<String, Mismatch>> {
    let mut values = request.headers().get_all(name).iter();
    let raw = values.next()?;
    if values.next().is_some() {
        // A gateway reading another copy than the server would route on what the server does not act on.
        return Some(Err(format!("the {name} header is sent more than once")));
    }
    let Ok(text) = raw.to_str() else {
        return Some(Err(format!("the {name} header is not visible ASCII: encode it as =?base64?…?=")));
    };
    let text = text.trim_matches([' ', '\t']);
    let Some(encoded) = text.strip_prefix("=?base64?").and_then(|rest| rest.strip_suffix("?=")) else {
        return Some(Ok(text.to_owned()));
    };
    let bytes = STANDARD.decode(encoded).map_err(|e| format!("the {name} header's Base64 is not valid: {e}"));
    Some(
        bytes
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| format!("the {name} header's Base64 is not UTF-8"))),
    )
}

/// Checks `Mcp-Method` and `Mcp-Name` against the body's `method` and `params`.
pub(crate) fn check_standard(request: &HttpRequest, method: &str, params: &Value) -> Result<(), Mismatch> {
    match decoded(request, "mcp-method") {
        None => return Err("the Mcp-Method header is required".to_owned()),
        Some(Err(why)) => return Err(why),
        Some(Ok(header)) if header != method => {
            return Err(format!(
                "Header mismatch: Mcp-Method header value {header:?} does not match body value {method:?}"
            ))
        }
        Some(Ok(_)) => {}
    }
    let named = match method {
        "tools/call" | "prompts/get" => params.get("name"),
        "resources/read" => params.get("uri"),
        _ => return Ok(()),
    };
    let Some(body) = named.and_then(Value::as_str) else {
        return Ok(());
    };
    match decoded(request, "mcp-name") {
        None => Err(format!("the Mcp-Name header is required for {method}")),
        Some(Err(why)) => Err(why),
        Some(Ok(header)) if header != body => {
            Err(format!("Header mismatch: Mcp-Name header value {header:?} does not match body value {body:?}"))
        }
        Some(Ok(_)) => Ok(()),
    }
}

/// Checks the `Mcp-Param-{Name}` headers of a `tools/call` against its `arguments`, for each argument
/// the tool's `input_schema` marks with `x-mcp-header`: one with a value in the body must have its
/// header, with the same value.
pub(crate) fn check_arguments(
    request: &HttpRequest,
    input_schema: &Map<String, Value>,
    arguments: &Value,
) -> Result<(), Mismatch> {
    let mut mirrored = Vec::new();
    collect(input_schema.get("properties"), &mut Vec::new(), &mut mirrored);
    for argument in mirrored {
        let value = argument.path.iter().try_fold(arguments, |value, key| value.get(key));
        let header = format!("mcp-param-{}", argument.header.to_ascii_lowercase());
        let shown = format!("Mcp-Param-{}", argument.header);
        match (value.filter(|value| !value.is_null()), decoded(request, &header)) {
            (_, Some(Err(why))) => return Err(why),
            (None, None) => {}
            (None, Some(Ok(_))) => {
                return Err(format!("the {shown} header names a value the arguments do not carry"));
            }
            (Some(_), None) => return Err(format!("the {shown} header is required: the arguments carry its value")),
            (Some(value), Some(Ok(text))) => {
                if !same_value(value, &text, &argument.kind) {
                    return Err(format!(
                        "Header mismatch: {shown} header value {text:?} does not match body value {value}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The arguments a schema's `properties` mirror into headers, reached through `properties` only.
fn collect(properties: Option<&Value>, path: &mut Vec<String>, found: &mut Vec<MirroredArgument>) {
    let Some(properties) = properties.and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        path.push(name.clone());
        if let Some(header) = property.get("x-mcp-header").and_then(Value::as_str) {
            let kind = property.get("type").and_then(Value::as_str).unwrap_or("string").to_owned();
            found.push(MirroredArgument { header: header.to_owned(), path: path.clone(), kind });
        }
        collect(property.get("properties"), path, found);
        path.pop();
    }
}

/// True when a header's text says the body's `value` (integers compared as numbers).
fn same_value(value: &Value, text: &str, kind: &str) -> bool {
    match (value, kind) {
        (Value::String(body), _) => body == text,
        (Value::Bool(body), _) => text == if *body { "true" } else { "false" },
        (Value::Number(body), "integer") => {
            // Within JavaScript's safe integers, as the revision bounds them, where `f64` is exact.
            const SAFE: f64 = 9_007_199_254_740_991.0;
            let safe = |n: f64| n.fract() == 0.0 && n.abs() <= SAFE;
            let header = text.parse::<f64>().ok().filter(|n| safe(*n));
            header.zip(body.as_f64().filter(|n| safe(*n))).is_some_and(|(header, body)| header == body)
        }
        // Only strings, integers and booleans are mirrored.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_compare_as_numbers_and_booleans_as_their_words() {
        assert!(same_value(&json!(42), "42.0", "integer"));
        assert!(!same_value(&json!(9_007_199_254_740_993_u64), "9007199254740992", "integer"), "beyond the safe range");
        assert!(!same_value(&json!(42), "43", "integer"));
        assert!(same_value(&json!(true), "true", "boolean") && !same_value(&json!(true), "True", "boolean"));
        assert!(same_value(&json!("us-west1"), "us-west1", "string"));
    }

    #[test]
    fn mirrored_arguments_are_found_through_properties_only() {
        let schema = json!({
            "type": "object",
            "properties": {
                "region": { "type": "string", "x-mcp-header": "Region" },
                "target": { "type": "object", "properties": { "zone": { "type": "integer", "x-mcp-header": "Zone" } } },
                "list": { "type": "array", "items": { "type": "string", "x-mcp-header": "Never" } },
            },
        });
        let mut found = Vec::new();
        collect(schema.get("properties"), &mut Vec::new(), &mut found);
        let mut named: Vec<(String, String)> = found.iter().map(|a| (a.header.clone(), a.path.join("."))).collect();
        named.sort();
        assert_eq!(named, [("Region".to_owned(), "region".to_owned()), ("Zone".to_owned(), "target.zone".to_owned())]);
    }
}
