//! `agent_scope_check`: are the write paths inside the declared scope?
//!
//! Paths are resolved the way the file system will see them: relative items against the given
//! working directory, `..` collapsed, and every existing symlink along the way followed, so a
//! link that points out of the scope is a violation.

use crate::codes::ErrorCode;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::views::redact_list;
use super::{blocking, handler, out, Ctx, Fault, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::Registry;
use crate::fsafe::paths::{expand_home, resolve_lenient};
use crate::redactor::Redactor;
use crate::session::scope::{check_on_host, recorded_cwd, violations, MAX_LIST_ITEMS, MAX_PATH_TEXT};

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![ToolDef {
        name: "agent_scope_check",
        title: "Scope check",
        description: "Check that every write path lies inside the declared scope, after resolving `..`, absolute paths and symlinks against the working directory: `cwd`, else the working directory `agent` was started in, else the server's. Paths are returned redacted.",
        cli_name: "scope-check",
        params: vec![
            Param::string_list("scope", MAX_LIST_ITEMS, MAX_PATH_TEXT, "Scope roots (files or directories).").cli_flag("scope"),
            Param::string_list("write_paths", MAX_LIST_ITEMS, MAX_PATH_TEXT, "Paths that will be written.").cli_flag("write-path"),
            Param::string("cwd", MAX_PATH_TEXT, "Working directory that relative paths resolve against (default: the agent's, else the server's)."),
            Param::choice_owned("agent", reg.names().map(str::to_owned).collect(), "Resolve against the working directory this agent was started in.").cli_flag("agent"),
        ],
        output: || {
            let list = json!({"type": "array", "items": {"type": "string"}});
            out::object(
            json!({
                "cwd": out::not_returned(),
                "cwd_state": out::words::<super::words::CwdSource>(),
                "allowed": {"type": "boolean"},
                "scope": list.clone(),
                "write_paths": list.clone(),
                "violations": list,
                "violation_count": {"type": "integer"},
                "raw_output": out::not_returned(),
            }),
            &["allowed", "scope", "write_paths", "violations", "violation_count"],
        )
        },
        hints: READ_ONLY,
        multi_agent: false,
        handler: handler!(scope_check),
    }]
}

/// `agent_scope_check` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeCheckArgs {
    scope: Vec<String>,
    write_paths: Vec<String>,
    cwd: Option<String>,
    agent: Option<String>,
}

async fn scope_check(ctx: Arc<Ctx>, args: ScopeCheckArgs) -> ToolResult {
    let red = Arc::clone(&ctx.redactor);
    let cwd = super::non_blank(&args.cwd).map(|c| expand_home(c.trim()));
    let ScopeCheckArgs { scope, write_paths, agent, cwd: args_cwd } = args;
    if let Some(a) = &agent {
        // A host's directory as given: `~` there is the host's home, not this machine's.
        let given = super::non_blank(&args_cwd);
        if let Some(bad) = check_on_host(&ctx, a, given, &scope, &write_paths).await? {
            let from = if given.is_some() { super::words::CwdSource::Set } else { super::words::CwdSource::AgentCwd };
            return Ok(scope_json(&red, from.as_str(), &scope, &write_paths, &bad));
        }
    }
    blocking(move || {
        let agent_cwd = match (&cwd, &agent) {
            (None, Some(a)) => Some(recorded_cwd(a)?),
            _ => None,
        };
        let cwd_state = if cwd.is_some() {
            super::words::CwdSource::Set
        } else if agent_cwd.is_some() {
            super::words::CwdSource::AgentCwd
        } else {
            super::words::CwdSource::ServerCwd
        }
        .as_str();
        let base = match cwd.or(agent_cwd) {
            Some(c) => {
                let server_cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
                let resolved = resolve_lenient(&server_cwd, &c);
                if !resolved.is_dir() {
                    return Err(Fault::invalid_arguments("cwd is not a directory"));
                }
                resolved
            }
            None => std::env::current_dir()
                .map_err(|_| Fault::new(ErrorCode::StateError, "the server's working directory is unavailable"))?,
        };
        let bad = violations(&base, &scope, &write_paths);
        Ok(scope_json(&red, cwd_state, &scope, &write_paths, &bad))
    })
    .await
}

fn scope_json(red: &Redactor, cwd_state: &str, scope: &[String], write_paths: &[String], bad: &[String]) -> Value {
    json!({
        "cwd": NOT_RETURNED,
        "cwd_state": cwd_state,
        "allowed": bad.is_empty(),
        "scope": redact_list(red, scope),
        "write_paths": redact_list(red, write_paths),
        "violations": redact_list(red, bad),
        "violation_count": bad.len(),
        "raw_output": NOT_RETURNED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_and_symlink_escapes_are_violations() {
        let dir = std::env::temp_dir().join(format!("cm-scope-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(dir.join("src/inner")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        std::os::unix::fs::symlink(dir.join("outside"), dir.join("src/link")).unwrap();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let bad = violations(
            &dir,
            &s(&["src"]),
            &s(&["src/a.rs", "src/inner/../b.rs", "src/../outside/x", "src/link/x", "/etc/passwd", "http://x/y", ""]),
        );
        assert_eq!(bad, s(&["src/../outside/x", "src/link/x", "/etc/passwd", "http://x/y", ""]));
        assert_eq!(violations(&dir, &[], &s(&["src/a.rs"])), s(&["src/a.rs"]));
        assert!(violations(&dir, &s(&["/"]), &s(&["/etc/passwd"])).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
