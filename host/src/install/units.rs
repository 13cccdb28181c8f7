//! The watchdog's systemd user units, rendered for one installation: the installed binary and
//! the pinned locations replace the repository defaults, so the timer's watchdog sees the same
//! state as the lead's server and the CLI.

use std::collections::BTreeMap;
use std::path::Path;

/// The repository's defaults that an installation replaces.
const DEFAULT_BINARY: &str = "%h/.local/bin/codex-master-mcp";
const DEFAULT_STATE: &str = "%h/.local/state/codex-master-mcp";

/// Why a value cannot go into a unit file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} holds a character a systemd unit file cannot carry (a newline or another control character)")]
pub struct UnitValueError {
    pub what: String,
}

/// A value written into a unit: a control character (a newline would start a new directive)
/// is refused; the rest is quoted where it is used.
fn check(what: &str, value: &str) -> Result<(), UnitValueError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(UnitValueError { what: what.to_owned() });
    }
    Ok(())
}

/// One word of a command line or a path list, as systemd reads it: double-quoted with `\` and
/// `"` escaped, `%` (specifiers) doubled, and `$` (variable expansion) doubled.
fn quoted_word(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%").replace('$', "$$");
    format!("\"{escaped}\"")
}

/// An `Environment="K=V"` assignment (`$` is not expanded there; `%` is).
fn environment(key: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    format!("Environment=\"{key}={escaped}\"")
}

/// A unit template rendered for `binary`, `state_dir` and the pinned variables. A value that a
/// unit file cannot carry is refused, never written.
pub fn render(
    template: &str,
    binary: &Path,
    state_dir: &Path,
    pinned: &BTreeMap<String, String>,
) -> Result<String, UnitValueError> {
    let (binary, state) = (binary.to_string_lossy(), state_dir.to_string_lossy());
    check("the binary's path", &binary)?;
    check("the state directory", &state)?;
    for (k, v) in pinned {
        check(k, k)?;
        check(k, v)?;
        if !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(UnitValueError { what: "a variable name".into() });
        }
    }
    let mut out = String::with_capacity(template.len() + 512);
    for line in template.lines() {
        let line = line.replace(DEFAULT_BINARY, &quoted_word(&binary));
        let line = line.replace(DEFAULT_STATE, &quoted_word(&state));
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("Environment=CODEX_MASTER_MCP_INSTANCE_ID=") {
            for (k, v) in pinned {
                out.push_str(&environment(k, v));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// A variable install pins into the unit (`pinned_env`'s names); any other added
/// `Environment=` line (`LD_PRELOAD`) makes a unit not ours.
fn pinned_name(key: &str) -> bool {
    key.starts_with("CODEX_MASTER_")
        || key.starts_with("CODEX_AGENT_")
        || matches!(key, "TMUX_TMPDIR" | "XDG_RUNTIME_DIR" | "DBUS_SESSION_BUS_ADDRESS")
}

/// The first word of a command line: a quoted string, or up to the first space.
fn split_first_word(s: &str) -> (&str, &str) {
    if let Some(rest) = s.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return (&s[..i + 2], &rest[i + 1..]),
                _ => escaped = false,
            }
        }
        return (s, "");
    }
    s.split_once(' ').map_or((s, ""), |(w, r)| (w, r))
}

/// Whether an installed unit is the template, or the template rendered for some installation
/// (the pinned lines and paths aside, it is the same text).
pub fn matches_template(installed: &str, template: &str) -> bool {
    if installed == template {
        return true;
    }
    let strip = |text: &str| -> Option<Vec<String>> {
        let mut out = Vec::new();
        for l in text.lines() {
            // Pinned variables are the quoted Environment= lines of our names (the template has
            // none); another variable is a change.
            if let Some(rest) = l.strip_prefix("Environment=\"") {
                let key = rest.split('=').next().unwrap_or("");
                if !pinned_name(key) {
                    return None;
                }
                continue;
            }
            let l = l.trim();
            // The first word of ExecStart and the state path vary per installation.
            out.push(if let Some(rest) = l.strip_prefix("ExecStart=") {
                let (_, args) = split_first_word(rest);
                format!("ExecStart=<bin> {}", args.split_whitespace().collect::<Vec<_>>().join(" "))
            } else if let Some(rest) = l.strip_prefix("ReadWritePaths=") {
                let (_, others) = split_first_word(rest);
                format!("ReadWritePaths=<state> {}", others.split_whitespace().collect::<Vec<_>>().join(" "))
            } else {
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            });
        }
        Some(out)
    };
    matches!((strip(installed), strip(template)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::{SERVICE_UNIT, TIMER_UNIT};

    #[test]
    fn rendered_units_pin_the_binary_the_state_and_the_variables() {
        let pinned = BTreeMap::from([("CODEX_MASTER_MCP_STATE_DIR".to_owned(), "/x/100%/state".to_owned())]);
        let unit =
            render(SERVICE_UNIT, Path::new("/opt/b/codex-master-mcp"), Path::new("/x/100%/state"), &pinned).unwrap();
        assert!(unit.contains("ExecStart=\"/opt/b/codex-master-mcp\" watchdog all"));
        assert!(unit.contains("ReadWritePaths=\"/x/100%%/state\" %t"));
        assert!(unit.contains("Environment=\"CODEX_MASTER_MCP_STATE_DIR=/x/100%%/state\""));
        assert!(matches_template(&unit, SERVICE_UNIT));
        assert!(matches_template(TIMER_UNIT, TIMER_UNIT));
        let tampered = unit.replace("NoNewPrivileges=yes", "NoNewPrivileges=no");
        assert!(!matches_template(&tampered, SERVICE_UNIT));
        // An added variable that is not one we pin makes the unit not ours.
        let preload = unit.replace("UMask=0077", "UMask=0077\nEnvironment=\"LD_PRELOAD=/tmp/x.so\"");
        assert!(!matches_template(&preload, SERVICE_UNIT));
    }

    #[test]
    fn hostile_values_are_quoted_or_refused() {
        let spaced = render(
            SERVICE_UNIT,
            Path::new("/opt/my bin/codex-master-mcp"),
            Path::new("/st ate/$HOME"),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(spaced.contains("ExecStart=\"/opt/my bin/codex-master-mcp\" watchdog all"), "{spaced}");
        assert!(spaced.contains("ReadWritePaths=\"/st ate/$$HOME\" %t"), "{spaced}");
        assert!(matches_template(&spaced, SERVICE_UNIT));
        let quote =
            render(SERVICE_UNIT, Path::new("/a\"b/codex-master-mcp"), Path::new("/s"), &BTreeMap::new()).unwrap();
        assert!(quote.contains("ExecStart=\"/a\\\"b/codex-master-mcp\" watchdog"), "{quote}");
        for (binary, state, value) in [
            ("/a\nExecStartPre=/bin/evil", "/s", "v"),
            ("/b", "/s\nUser=root", "v"),
            ("/b", "/s", "v\nExecStart=/bin/evil"),
        ] {
            let pinned = BTreeMap::from([("CODEX_MASTER_X".to_owned(), value.to_owned())]);
            assert!(
                render(SERVICE_UNIT, Path::new(binary), Path::new(state), &pinned).is_err(),
                "{binary:?} {state:?} {value:?}"
            );
        }
    }
}
