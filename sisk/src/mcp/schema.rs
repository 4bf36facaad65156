//! [`JsonSchema`]: the builders of Sisk's `JsonSchema` (`create_object_schema`, `create_array_schema`,
//! …) for a tool's input, and the validation of a call's arguments against it (by the `jsonschema`
//! crate, draft 2020-12, the dialect MCP names).

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};

/// A JSON Schema, built as Sisk builds one, or taken whole from a JSON value.
///
/// The named parameters of Sisk's builders are methods here: `CreateArraySchema(itemsSchema: …,
/// minItems: 1, description: "…")` is `create_array_schema(…).min_items(1).description("…")`.
///
/// ```
/// use sisk::mcp::JsonSchema;
/// use serde_json::json;
///
/// let schema = JsonSchema::create_object_schema([(
///     "numbers",
///     JsonSchema::create_array_schema(JsonSchema::create_number_schema())
///         .min_items(1)
///         .description("The numbers to sum."),
/// )])
/// .required_properties(["numbers"]);
///
/// assert_eq!(
///     schema.to_value(),
///     json!({
///         "type": "object",
///         "properties": {
///             "numbers": {
///                 "type": "array",
///                 "items": { "type": "number" },
///                 "minItems": 1,
///                 "description": "The numbers to sum."
///             }
///         },
///         "required": ["numbers"]
///     })
/// );
/// ```
#[derive(Clone)]
pub struct JsonSchema {
    value: Map<String, Value>,
    validator: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
}

impl JsonSchema {
    fn of_type(name: &str) -> Self {
        let mut value = Map::new();
        value.insert("type".into(), Value::String(name.into()));
        JsonSchema::from_map(value)
    }

    fn from_map(value: Map<String, Value>) -> Self {
        JsonSchema { value, validator: Arc::new(OnceLock::new()) }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.value.insert(key.into(), value);
        self.validator = Arc::new(OnceLock::new());
        self
    }

    /// An object whose properties have these schemas (Sisk's `CreateObjectSchema`).
    pub fn create_object_schema<K: Into<String>>(properties: impl IntoIterator<Item = (K, JsonSchema)>) -> Self {
        let properties: Map<String, Value> =
            properties.into_iter().map(|(name, schema)| (name.into(), Value::Object(schema.value))).collect();
        Self::of_type("object").with("properties", Value::Object(properties))
    }

    /// An array whose items have the schema `items_schema` (Sisk's `CreateArraySchema`).
    pub fn create_array_schema(items_schema: JsonSchema) -> Self {
        Self::of_type("array").with("items", Value::Object(items_schema.value))
    }

    /// A number (Sisk's `CreateNumberSchema`).
    pub fn create_number_schema() -> Self {
        Self::of_type("number")
    }

    /// An integer.
    pub fn create_integer_schema() -> Self {
        Self::of_type("integer")
    }

    /// A string (Sisk's `CreateStringSchema`); [`enums`](Self::enums) limits it to some values.
    pub fn create_string_schema() -> Self {
        Self::of_type("string")
    }

    /// A boolean (Sisk's `CreateBooleanSchema`).
    pub fn create_boolean_schema() -> Self {
        Self::of_type("boolean")
    }

    /// An object with no properties: what a tool that takes no arguments declares (Sisk's
    /// `JsonSchema.Empty`).
    pub fn empty() -> Self {
        Self::create_object_schema(Vec::<(String, JsonSchema)>::new())
    }

    /// The schema of the type `T`, as [schemars](https://docs.rs/schemars) derives it (draft 2020-12):
    /// what [`McpTool::typed`](crate::mcp::McpTool::typed) declares for its arguments, and a tool's
    /// output schema. Derive it with `#[derive(serde::Deserialize, schemars::JsonSchema)]` (the full path
    /// keeps the derive apart from this type, which Sisk names alike); doc comments become descriptions.
    ///
    /// ```
    /// use sisk::mcp::JsonSchema;
    ///
    /// /// Two numbers to add.
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Addition {
    ///     /// The first number.
    ///     a: f64,
    ///     b: f64,
    /// }
    ///
    /// let schema = JsonSchema::for_type::<Addition>().to_value();
    /// assert_eq!(schema["type"], "object");
    /// assert_eq!(schema["properties"]["a"]["description"], "The first number.");
    /// assert_eq!(schema["required"], serde_json::json!(["a", "b"]));
    /// ```
    pub fn for_type<T: schemars::JsonSchema>() -> Self {
        let schema = schemars::schema_for!(T);
        match schema.to_value() {
            Value::Object(map) => JsonSchema::from_map(map),
            // `true` or `false`: a type that accepts anything, or nothing.
            other => JsonSchema::from_map([("allOf".to_owned(), Value::Array(vec![other]))].into_iter().collect()),
        }
    }

    /// A schema given whole, as JSON (any keyword of draft 2020-12); an error unless it is an object.
    pub fn from_value(value: Value) -> Result<Self, crate::Error> {
        match value {
            Value::Object(map) => Ok(JsonSchema::from_map(map)),
            other => Err(crate::Error::invalid_schema(format!("a schema is a JSON object, not {other}"))),
        }
    }

    /// The properties an object must have (Sisk's `requiredProperties`).
    pub fn required_properties<S: Into<String>>(self, names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<Value> = names.into_iter().map(|name| Value::String(name.into())).collect();
        self.with("required", Value::Array(names))
    }

    /// What the value is for (Sisk's `description`).
    pub fn description(self, text: impl Into<String>) -> Self {
        self.with("description", Value::String(text.into()))
    }

    /// Mirrors this argument of a tool into the HTTP header `Mcp-Param-{name}` (`x-mcp-header`,
    /// revision 2026-07-28), for a load balancer or gateway to route on; the server checks that the
    /// header says what the body does. For a string, integer or boolean property reached from the
    /// schema's root through `properties` only.
    pub fn mcp_header(self, name: impl Into<String>) -> Self {
        self.with("x-mcp-header", Value::String(name.into()))
    }

    /// The fewest items of an array (Sisk's `minItems`).
    pub fn min_items(self, count: u64) -> Self {
        self.with("minItems", json!(count))
    }

    /// The most items of an array (Sisk's `maxItems`).
    pub fn max_items(self, count: u64) -> Self {
        self.with("maxItems", json!(count))
    }

    /// The values a string may take (Sisk's `enums`).
    pub fn enums<S: Into<String>>(self, values: impl IntoIterator<Item = S>) -> Self {
        let values: Vec<Value> = values.into_iter().map(|value| Value::String(value.into())).collect();
        self.with("enum", Value::Array(values))
    }

    /// The least value of a number.
    pub fn minimum(self, value: f64) -> Self {
        self.with("minimum", json!(value))
    }

    /// The greatest value of a number.
    pub fn maximum(self, value: f64) -> Self {
        self.with("maximum", json!(value))
    }

    /// The value a client should assume when the property is left out.
    pub fn default_value(self, value: Value) -> Self {
        self.with("default", value)
    }

    /// The schema as JSON, as `tools/list` sends it.
    pub fn to_value(&self) -> Value {
        Value::Object(self.value.clone())
    }

    /// The schema's fields, borrowed.
    pub(crate) fn fields(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Checks `instance` against the schema; the error lists what does not fit, one line each.
    pub fn validate(&self, instance: &Value) -> Result<(), String> {
        let validator = self.validator.get_or_init(|| {
            jsonschema::draft202012::new(&Value::Object(self.value.clone()))
                .map_err(|e| format!("the schema is invalid: {e}"))
        });
        let validator = validator.as_ref().map_err(Clone::clone)?;
        let problems: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| match error.instance_path().to_string() {
                path if path.is_empty() => error.to_string(),
                path => format!("{path}: {error}"),
            })
            .collect();
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems.join("\n")),
        }
    }
}

impl fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonSchema").field(&self.value).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_against_the_schema_with_every_problem_named() {
        let schema = JsonSchema::create_object_schema([
            ("action_name", JsonSchema::create_string_schema().enums(["go_back", "refresh"])),
            ("count", JsonSchema::create_integer_schema()),
        ])
        .required_properties(["action_name"]);
        assert!(schema.validate(&json!({ "action_name": "refresh" })).is_ok());
        let problems = schema.validate(&json!({ "action_name": "jump", "count": "two" })).unwrap_err();
        assert!(problems.contains("/action_name") && problems.contains("/count"), "{problems}");
        assert!(schema.validate(&json!({})).unwrap_err().contains("action_name"));
        let broken = JsonSchema::from_value(json!({ "type": 12 })).unwrap();
        assert!(broken.validate(&json!({})).unwrap_err().contains("schema is invalid"));
        assert!(JsonSchema::from_value(json!([1])).is_err());
        assert_eq!(JsonSchema::empty().to_value(), json!({ "type": "object", "properties": {} }));
    }
}
