//! Tool argument schemas and the one validator that MCP `tools/call` and the CLI both run.
//!
//! A tool's parameters are declared once as [`Param`]s. From that declaration we derive the
//! JSON Schema published in `tools/list`, the clap flags of the CLI, and the checks below, so
//! the three can never disagree. Checks are exact: no coercion (`"2"` is not an integer,
//! `"false"` is not a boolean), and error texts are fixed templates that name the argument and
//! the rule, never the offending value.

use crate::codes::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// The type and bounds of one parameter.
#[derive(Debug, Clone)]
pub enum Ty {
    /// A string of at most `max_len` characters (Unicode scalar values). `choices` makes it an
    /// enum; `non_blank` refuses empty and whitespace-only text.
    Str {
        max_len: usize,
        choices: Option<Vec<String>>,
        non_blank: bool,
    },
    /// A JSON integer within `min..=max`.
    Int {
        min: i64,
        max: Option<i64>,
    },
    Bool,
    /// An array of at most `max_items` strings, each at most `max_len` characters.
    StrList {
        max_items: usize,
        max_len: usize,
    },
}

/// How a parameter appears on the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliForm {
    /// `--name-with-dashes VALUE` (lists: repeatable; booleans: a switch that sets `true`).
    Flag,
    /// A flag with another name (`--write-path` for `write_paths`).
    FlagNamed(&'static str),
    /// A positional argument.
    Positional,
    /// A switch `--no-…` that sets the boolean to `false`.
    Negated(&'static str),
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Applied when the argument is absent; also published as the schema `default`.
    pub default: Option<Value>,
    pub description: &'static str,
    pub cli: CliForm,
}

impl Param {
    fn new(name: &'static str, ty: Ty, description: &'static str) -> Param {
        Param { name, ty, required: false, default: None, description, cli: CliForm::Flag }
    }

    pub fn string(name: &'static str, max_len: usize, description: &'static str) -> Param {
        Param::new(name, Ty::Str { max_len, choices: None, non_blank: false }, description)
    }

    pub fn choice(name: &'static str, choices: &[&str], description: &'static str) -> Param {
        let choices = choices.iter().map(|c| (*c).to_owned()).collect();
        Param::new(name, Ty::Str { max_len: 64, choices: Some(choices), non_blank: true }, description)
    }

    pub fn choice_owned(name: &'static str, choices: Vec<String>, description: &'static str) -> Param {
        Param::new(name, Ty::Str { max_len: 64, choices: Some(choices), non_blank: true }, description)
    }

    pub fn integer(name: &'static str, min: i64, max: Option<i64>, description: &'static str) -> Param {
        Param::new(name, Ty::Int { min, max }, description)
    }

    pub fn boolean(name: &'static str, description: &'static str) -> Param {
        Param::new(name, Ty::Bool, description).default(json!(false))
    }

    pub fn string_list(name: &'static str, max_items: usize, max_len: usize, description: &'static str) -> Param {
        Param::new(name, Ty::StrList { max_items, max_len }, description).default(json!([]))
    }

    pub fn required(mut self) -> Param {
        self.required = true;
        self.default = None;
        self
    }

    pub fn non_blank(mut self) -> Param {
        if let Ty::Str { non_blank, .. } = &mut self.ty {
            *non_blank = true;
        }
        self
    }

    pub fn default(mut self, value: Value) -> Param {
        self.default = Some(value);
        self
    }

    pub fn positional(mut self) -> Param {
        self.cli = CliForm::Positional;
        self
    }

    pub fn cli_flag(mut self, flag: &'static str) -> Param {
        self.cli = CliForm::FlagNamed(flag);
        self
    }

    pub fn negated(mut self, flag: &'static str) -> Param {
        self.cli = CliForm::Negated(flag);
        self
    }

    /// The description with the bounds and the default in words: Codex strips `default`,
    /// `minimum`, `maximum` and the length bounds from the schemas it shows its model.
    pub fn described(&self) -> String {
        let mut text = self.description.trim_end().to_owned();
        if !text.ends_with('.') {
            text.push('.');
        }
        if self.required {
            text.push_str(" Required.");
        }
        match &self.ty {
            Ty::Str { choices: Some(_), .. } => {}
            Ty::Str { max_len, non_blank, .. } => {
                let blank = if *non_blank { "non-blank, " } else { "" };
                text.push_str(&format!(" Text, {blank}at most {max_len} characters."));
            }
            Ty::Int { min, max: Some(max) } => text.push_str(&format!(" Integer from {min} to {max}.")),
            Ty::Int { min, max: None } => text.push_str(&format!(" Integer, at least {min}.")),
            Ty::Bool => {}
            Ty::StrList { max_items, max_len } => {
                text.push_str(&format!(" At most {max_items} items, each at most {max_len} characters."))
            }
        }
        match &self.default {
            Some(Value::String(d)) => text.push_str(&format!(" Default: `{d}`.")),
            Some(Value::Array(items)) if items.is_empty() => text.push_str(" Default: none."),
            Some(d) => text.push_str(&format!(" Default: {d}.")),
            None => {}
        }
        text
    }

    /// The JSON Schema of this parameter.
    pub fn schema(&self) -> Value {
        let mut s = Map::new();
        match &self.ty {
            Ty::Str { max_len, choices, non_blank } => {
                s.insert("type".into(), json!("string"));
                if let Some(choices) = choices {
                    s.insert("enum".into(), json!(choices));
                } else {
                    s.insert("maxLength".into(), json!(max_len));
                    if *non_blank {
                        s.insert("minLength".into(), json!(1));
                    }
                }
            }
            Ty::Int { min, max } => {
                s.insert("type".into(), json!("integer"));
                s.insert("minimum".into(), json!(min));
                if let Some(max) = max {
                    s.insert("maximum".into(), json!(max));
                }
            }
            Ty::Bool => {
                s.insert("type".into(), json!("boolean"));
            }
            Ty::StrList { max_items, max_len } => {
                s.insert("type".into(), json!("array"));
                s.insert("items".into(), json!({"type": "string", "maxLength": max_len}));
                s.insert("maxItems".into(), json!(max_items));
            }
        }
        s.insert("description".into(), json!(self.described()));
        if let Some(d) = &self.default {
            s.insert("default".into(), d.clone());
        }
        Value::Object(s)
    }
}

/// The closed input schema for a parameter list.
pub fn input_schema(params: &[Param]) -> Value {
    let properties: Map<String, Value> = params.iter().map(|p| (p.name.to_owned(), p.schema())).collect();
    let required: Vec<&str> = params.iter().filter(|p| p.required).map(|p| p.name).collect();
    let mut schema = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// Validated arguments, with defaults applied.
#[derive(Debug, Clone, Default)]
pub struct Args(Map<String, Value>);

impl Args {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A string argument trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.str(name).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Args {
    /// The validated arguments as the tool's typed struct. Validation already checked every
    /// name, type and bound, so a failure here is a catalogue bug; its text never echoes values.
    #[cfg(test)]
    pub fn from_map_for_tests(map: Map<String, Value>) -> Args {
        Args(map)
    }

    pub fn parse<T: DeserializeOwned>(self) -> Result<T, super::Fault> {
        serde_json::from_value(Value::Object(self.0)).map_err(|_| {
            super::Fault::new(ErrorCode::InternalError, "the validated arguments do not fit the tool's handler")
        })
    }
}

/// The field names of a derived-`Deserialize` struct: serde hands them to `deserialize_struct`.
pub fn declared_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut capture = FieldCapture(&[]);
    let _ = T::deserialize(&mut capture);
    capture.0
}

struct FieldCapture(&'static [&'static str]);

impl<'de> serde::Deserializer<'de> for &mut FieldCapture {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(serde::de::Error::custom("fields captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Validates `raw` against `params` for tool `tool`. On success returns the arguments with
/// defaults applied; on failure a fixed-template message.
pub fn validate(tool: &str, params: &[Param], raw: Option<&Value>) -> Result<Args, String> {
    let empty = Map::new();
    let given = match raw {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("tools/call arguments must be an object".to_owned()),
    };

    let mut unknown: Vec<&str> =
        given.keys().map(String::as_str).filter(|k| !params.iter().any(|p| p.name == *k)).collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        // The rule, never the names given (a key can carry a secret or escape sequences).
        let takes: Vec<&str> = params.iter().map(|p| p.name).collect();
        let takes = if takes.is_empty() { "no arguments".to_owned() } else { format!("only {}", takes.join(", ")) };
        return Err(format!("unknown argument(s) for {tool}: {} not in its schema; it takes {takes}", unknown.len()));
    }

    let missing: Vec<&str> = params
        .iter()
        .filter(|p| p.required && matches!(given.get(p.name), None | Some(Value::Null)))
        .map(|p| p.name)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required argument(s) for {tool}: {}", missing.join(", ")));
    }

    let mut out = Map::new();
    for p in params {
        match given.get(p.name) {
            Some(value) => {
                check_value(p.name, &p.ty, value)?;
                out.insert(p.name.to_owned(), value.clone());
            }
            None => {
                if let Some(d) = &p.default {
                    out.insert(p.name.to_owned(), d.clone());
                }
            }
        }
    }
    Ok(Args(out))
}

fn check_value(field: &str, ty: &Ty, value: &Value) -> Result<(), String> {
    match ty {
        Ty::Str { max_len, choices, non_blank } => {
            let Some(s) = value.as_str() else { return Err(format!("{field} must be a string")) };
            if let Some(choices) = choices {
                if !choices.iter().any(|c| c == s) {
                    return Err(format!("{field} must be one of: {}", choices.join(", ")));
                }
            }
            if s.chars().count() > *max_len {
                return Err(format!("{field} must not exceed {max_len} characters"));
            }
            if *non_blank && s.trim().is_empty() {
                return Err(format!("{field} must be a non-empty string"));
            }
        }
        Ty::Int { min, max } => {
            let Value::Number(n) = value else { return Err(format!("{field} must be an integer")) };
            let v = match (n.as_i64(), n.as_u64()) {
                (Some(v), _) => v,
                (None, Some(_)) => i64::MAX,
                _ => return Err(format!("{field} must be an integer")),
            };
            if v < *min {
                return Err(format!("{field} must be >= {min}"));
            }
            if let Some(max) = max {
                if v > *max {
                    return Err(format!("{field} must be <= {max}"));
                }
            }
        }
        Ty::Bool => {
            if !value.is_boolean() {
                return Err(format!("{field} must be a boolean"));
            }
        }
        Ty::StrList { max_items, max_len } => {
            let Some(items) = value.as_array() else { return Err(format!("{field} must be an array")) };
            if items.len() > *max_items {
                return Err(format!("{field} must contain at most {max_items} items"));
            }
            for (i, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else { return Err(format!("{field}[{i}] must be a string")) };
                if s.chars().count() > *max_len {
                    return Err(format!("{field}[{i}] must not exceed {max_len} characters"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn descriptions_carry_bounds_and_defaults_in_words() {
        let p = Param::integer("ttl_seconds", 1, Some(7200), "Lease lifetime in seconds.").default(json!(1800));
        assert_eq!(p.described(), "Lease lifetime in seconds. Integer from 1 to 7200. Default: 1800.");
        let p = Param::string("task", 4000, "The task").required().non_blank();
        assert_eq!(p.described(), "The task. Required. Text, non-blank, at most 4000 characters.");
        let p = Param::choice("until", &["activity", "idle"], "What ends the wait.").default(json!("activity"));
        assert_eq!(p.described(), "What ends the wait. Default: `activity`.");
        let p = Param::string_list("scope", 50, 1000, "Scope roots.");
        assert_eq!(p.described(), "Scope roots. At most 50 items, each at most 1000 characters. Default: none.");
        assert_eq!(Param::boolean("force", "Force.").described(), "Force. Default: false.");
        assert_eq!(p.schema()["description"], json!(p.described()));
    }

    use super::*;

    fn params() -> Vec<Param> {
        vec![
            Param::choice("agent", &["a", "b", "all"], "agent").default(json!("all")),
            Param::string("text", 5, "text").required().non_blank(),
            Param::integer("limit", 1, Some(200), "limit").default(json!(20)),
            Param::boolean("enter", "enter"),
            Param::string_list("scope", 2, 4, "scope"),
        ]
    }

    fn check(v: Value) -> Result<Args, String> {
        validate("t", &params(), Some(&v))
    }

    #[test]
    fn applies_defaults() {
        let args = check(json!({"text": "hi"})).unwrap();
        assert_eq!(args.str("agent"), Some("all"));
        assert_eq!(args.int("limit"), Some(20));
        assert!(!args.flag("enter"));
        assert!(args.list("scope").is_empty());
    }

    #[test]
    fn every_rule_has_its_template() {
        let cases = [
            (
                json!({"text": "hi", "surprise": 1, "zz": 2}),
                "unknown argument(s) for t: 2 not in its schema; it takes only agent, text, limit, enter, scope",
            ),
            (
                json!({"text": "hi", "sk-live-abc": 1}),
                "unknown argument(s) for t: 1 not in its schema; it takes only agent, text, limit, enter, scope",
            ),
            (json!({}), "missing required argument(s) for t: text"),
            (json!({"text": null}), "missing required argument(s) for t: text"),
            (json!({"text": 1}), "text must be a string"),
            (json!({"text": "toolong"}), "text must not exceed 5 characters"),
            (json!({"text": "  "}), "text must be a non-empty string"),
            (json!({"text": "x", "agent": "both"}), "agent must be one of: a, b, all"),
            (json!({"text": "x", "agent": null}), "agent must be a string"),
            (json!({"text": "x", "limit": "2"}), "limit must be an integer"),
            (json!({"text": "x", "limit": 2.5}), "limit must be an integer"),
            (json!({"text": "x", "limit": 2.0}), "limit must be an integer"),
            (json!({"text": "x", "limit": true}), "limit must be an integer"),
            (json!({"text": "x", "limit": 0}), "limit must be >= 1"),
            (json!({"text": "x", "limit": 201}), "limit must be <= 200"),
            (json!({"text": "x", "limit": u64::MAX}), "limit must be <= 200"),
            (json!({"text": "x", "enter": "false"}), "enter must be a boolean"),
            (json!({"text": "x", "scope": "src"}), "scope must be an array"),
            (json!({"text": "x", "scope": ["a", "b", "c"]}), "scope must contain at most 2 items"),
            (json!({"text": "x", "scope": [1]}), "scope[0] must be a string"),
            (json!({"text": "x", "scope": ["a", "12345"]}), "scope[1] must not exceed 4 characters"),
        ];
        for (input, expected) in cases {
            assert_eq!(check(input.clone()).unwrap_err(), expected, "{input}");
        }
        assert_eq!(validate("t", &params(), Some(&json!([1]))).unwrap_err(), "tools/call arguments must be an object");
    }

    #[test]
    fn errors_never_echo_values() {
        let secret = "sk-secretsecretsecret";
        for input in
            [json!({"text": secret}), json!({"text": "x", "agent": secret}), json!({"text": "x", "limit": secret})]
        {
            let err = check(input).unwrap_err();
            assert!(!err.contains(secret), "{err}");
        }
    }

    #[test]
    fn schema_is_closed_and_carries_bounds() {
        let schema = input_schema(&params());
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"], json!(["text"]));
        assert_eq!(schema["properties"]["limit"]["maximum"], json!(200));
        assert_eq!(schema["properties"]["scope"]["maxItems"], json!(2));
        assert_eq!(schema["properties"]["agent"]["enum"], json!(["a", "b", "all"]));
    }
}
