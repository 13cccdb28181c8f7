//! The agent registry: which workers exist and how selectors name them.
//!
//! With no configuration there are two agents, `a` and `b`, described by the seed's environment
//! variables, so a seed user's setup keeps working. The selector words are `both` (a and b) and
//! `all` (every agent).

use std::path::PathBuf;

/// One worker agent.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// `[a-z0-9-]`, 1–32 characters.
    pub name: String,
    pub label: String,
    pub session: String,
    pub home: Option<PathBuf>,
    pub runner: Option<PathBuf>,
}

/// The configured agents, in a stable order.
#[derive(Debug, Clone)]
pub struct Registry {
    agents: Vec<AgentSpec>,
}

/// Whether `name` is a valid agent name.
pub fn valid_agent_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

impl Registry {
    /// The seed-compatible default: agents `a` and `b` from `CODEX_AGENT_{A,B}_*`.
    pub fn from_env() -> Registry {
        let home_dir = env_path("HOME");
        let agents = ["a", "b"]
            .iter()
            .map(|name| {
                let upper = name.to_ascii_uppercase();
                let home = env_path(&format!("CODEX_AGENT_{upper}_HOME"))
                    .or_else(|| home_dir.as_ref().map(|h| h.join(format!(".codex-agent-{name}"))));
                let runner = env_path(&format!("CODEX_AGENT_{upper}_RUNNER")).or_else(|| home.as_ref().map(|h| h.join("codex")));
                let session = std::env::var(format!("CODEX_AGENT_{upper}_SESSION"))
                    .ok()
                    .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                    .unwrap_or_else(|| format!("codex_agent_{name}_mcp"));
                AgentSpec { name: (*name).to_owned(), label: format!("Codex Agentin {upper}"), session, home, runner }
            })
            .collect();
        Registry { agents }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.agents.iter().map(|a| a.name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Whether the `both` selector is meaningful (agents `a` and `b` exist).
    pub fn has_pair(&self) -> bool {
        self.get("a").is_some() && self.get("b").is_some()
    }

    /// Expands a selector (`both`, `all`, or one name) to agent names, in registry order.
    pub fn select(&self, selector: &str) -> Vec<String> {
        match selector {
            "all" => self.names().map(str::to_owned).collect(),
            "both" => vec!["a".to_owned(), "b".to_owned()],
            one => vec![one.to_owned()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_selectors() {
        assert!(valid_agent_name("a") && valid_agent_name("worker-12"));
        assert!(!valid_agent_name("") && !valid_agent_name("A") && !valid_agent_name(&"x".repeat(33)));
        let reg = Registry::from_env();
        assert_eq!(reg.select("all"), ["a", "b"]);
        assert_eq!(reg.select("both"), ["a", "b"]);
        assert_eq!(reg.select("b"), ["b"]);
        assert!(reg.has_pair());
    }
}
