//! The watchdog's systemd user units, rendered for one installation: the installed binary and
//! the pinned locations replace the repository defaults, so the timer's watchdog sees the same
//! state as the lead's server and the CLI.

use std::collections::BTreeMap;
use std::path::Path;

/// The repository's defaults that an installation replaces.
const DEFAULT_BINARY: &str = "%h/.local/bin/codex-master-mcp";
const DEFAULT_STATE: &str = "%h/.local/state/codex-master-mcp";

/// A unit template rendered for `binary`, `state_dir` and the pinned variables.
pub fn render(template: &str, binary: &Path, state_dir: &Path, pinned: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 512);
    for line in template.lines() {
        let line = line.replace(DEFAULT_BINARY, &systemd_escape(&binary.to_string_lossy()));
        let line = line.replace(DEFAULT_STATE, &systemd_escape(&state_dir.to_string_lossy()));
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("Environment=CODEX_MASTER_MCP_INSTANCE_ID=") {
            for (k, v) in pinned {
                out.push_str(&format!("Environment=\"{k}={}\"\n", systemd_escape(v).replace('"', "\\\"")));
            }
        }
    }
    out
}

/// `%` is systemd's specifier character; a literal one is written `%%`.
fn systemd_escape(s: &str) -> String {
    s.replace('%', "%%")
}

/// Whether an installed unit is the template, or the template rendered for some installation
/// (the pinned lines and paths aside, it is the same text).
pub fn matches_template(installed: &str, template: &str) -> bool {
    if installed == template {
        return true;
    }
    let strip = |text: &str| -> Vec<String> {
        text.lines()
            // Pinned variables are the quoted Environment= lines (the template has none).
            .filter(|l| !l.starts_with("Environment=\""))
            .map(|l| {
                let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
                // The first word of ExecStart and the state path vary per installation.
                if let Some(rest) = l.strip_prefix("ExecStart=") {
                    format!("ExecStart=<bin>{}", rest.split_once(' ').map(|(_, r)| format!(" {r}")).unwrap_or_default())
                } else if l.starts_with("ReadWritePaths=") {
                    let words: Vec<&str> = l.split(' ').collect();
                    format!("ReadWritePaths=<state> {}", words.get(1..).map(|w| w.join(" ")).unwrap_or_default())
                } else {
                    l
                }
            })
            .collect()
    };
    strip(installed) == strip(template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::{SERVICE_UNIT, TIMER_UNIT};

    #[test]
    fn rendered_units_pin_the_binary_the_state_and_the_variables() {
        let pinned = BTreeMap::from([("CODEX_MASTER_MCP_STATE_DIR".to_owned(), "/x/100%/state".to_owned())]);
        let unit = render(SERVICE_UNIT, Path::new("/opt/b/codex-master-mcp"), Path::new("/x/100%/state"), &pinned);
        assert!(unit.contains("ExecStart=/opt/b/codex-master-mcp watchdog all"));
        assert!(unit.contains("ReadWritePaths=/x/100%%/state %t"));
        assert!(unit.contains("Environment=\"CODEX_MASTER_MCP_STATE_DIR=/x/100%%/state\""));
        assert!(matches_template(&unit, SERVICE_UNIT));
        assert!(matches_template(TIMER_UNIT, TIMER_UNIT));
        let tampered = unit.replace("NoNewPrivileges=yes", "NoNewPrivileges=no");
        assert!(!matches_template(&tampered, SERVICE_UNIT));
    }
}
