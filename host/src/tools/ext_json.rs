//! JSON views of extension inputs and outputs, built field by field (never by serializing a
//! binding type wholesale).

use serde_json::{json, Map, Value};

use crate::ext::types::{doctor, limits, prompts, redaction};

pub fn classify_output(o: &limits::ClassifyOutput) -> Value {
    json!({
        "severity": o.severity.as_str(),
        "limited": o.severity == limits::Severity::Limited,
        "kind": o.kind.as_str(),
        "window": o.window.as_str(),
        "reset_at_epoch_seconds": o.reset_at_epoch_seconds,
        "reset_at_utc": o.reset_at_epoch_seconds.map(|e| crate::timefmt::iso_utc(e as f64)),
        // Model words only: a classifier's free text (a path) never comes back.
        "model_bucket": o.model_bucket.as_deref().filter(|m| crate::agents::valid_model_word(m)),
        "model": o.model.as_deref().filter(|m| crate::agents::valid_model_word(m)),
        "model_source": o.model_source.as_str(),
        "used_percent": o.used_percent,
        "tui_context": o.tui.as_str(),
        "blocks_input": o.blocks_input,
        "dialog": (o.dialog != limits::DialogKind::None).then(|| o.dialog.as_str()),
        "rule": o.rule,
    })
}

pub fn redact_output(o: &redaction::RedactOutput) -> Value {
    let hits: Map<String, Value> = o.hits.iter().map(|h| (h.rule.clone(), json!(h.count))).collect();
    json!({"text": o.text, "changed": o.changed, "hits": hits})
}

pub fn check(c: &doctor::Check) -> Value {
    let mut obj = json!({"name": c.name, "ok": c.ok, "status": c.status.as_str(), "severity": c.severity.as_str(), "message": c.message});
    for d in &c.details {
        obj[d.name.as_str()] = fact_value(&d.value);
    }
    obj
}

pub fn fact_value(v: &doctor::FactValue) -> Value {
    match v {
        doctor::FactValue::Flag(b) => json!(b),
        doctor::FactValue::Number(n) => json!(n),
        doctor::FactValue::Text(t) => json!(t),
        doctor::FactValue::Missing => Value::Null,
    }
}

/// `{"name": value, …}` → facts (booleans, integers, strings; `null` is a missing fact).
pub fn facts_from_json(v: &Value) -> Result<Vec<doctor::Fact>, String> {
    let obj = v.as_object().ok_or("facts must be a JSON object of name → value")?;
    obj.iter()
        .map(|(name, value)| {
            let value = match value {
                Value::Bool(b) => doctor::FactValue::Flag(*b),
                Value::Number(n) => {
                    doctor::FactValue::Number(n.as_i64().ok_or_else(|| format!("fact {name} must be an integer"))?)
                }
                Value::String(s) => doctor::FactValue::Text(s.clone()),
                Value::Null => doctor::FactValue::Missing,
                _ => return Err(format!("fact {name} must be a boolean, an integer, a string or null")),
            };
            Ok(doctor::Fact { name: name.clone(), value })
        })
        .collect()
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("{key} must be an array of strings")))
            .collect(),
        Some(_) => Err(format!("{key} must be an array of strings")),
    }
}

/// An assignment as JSON (`ext run prompts`): `role` is explorer|worker (or the seed's
/// exploriererin|arbeitsbiene), `task` is required.
pub fn assignment_from_json(v: &Value, default_locale: &str) -> Result<prompts::Assignment, String> {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let role = match text("role").as_deref() {
        Some("explorer" | "exploriererin") => prompts::Role::Explorer,
        Some("worker" | "arbeitsbiene") => prompts::Role::Worker,
        _ => return Err("role must be explorer or worker".into()),
    };
    Ok(prompts::Assignment {
        role,
        assignment_id: text("assignment_id").unwrap_or_else(|| "preview".into()),
        display_name: text("name").or_else(|| text("display_name")).unwrap_or_else(|| "Mila".into()),
        model: text("model").unwrap_or_else(|| {
            use crate::agents::profiles::{codex, WorkRole};
            codex::role_model(if role == prompts::Role::Worker { WorkRole::Write } else { WorkRole::ReadOnly }).into()
        }),
        skill: text("skill"),
        scope: strings(v, "scope")?,
        write_paths: strings(v, "write_paths")?,
        context: strings(v, "context")?,
        forbidden: strings(v, "forbidden")?,
        task: text("task").ok_or("task is required")?,
        allow_subagents: v.get("allow_subagents").and_then(Value::as_bool).unwrap_or(false),
        locale: text("locale").unwrap_or_else(|| default_locale.to_owned()),
    })
}
