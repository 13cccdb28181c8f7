//! The default doctor checks: the seed's 20 checks, as rules over facts the host gathered.
//!
//! Order: tools and installation (`tmux_available` … `mcp_startup_self_test`), then four checks
//! per agent in registry order (`agent_<x>_home_exists`, `_runner_executable`,
//! `_tmux_session_state`, `_home_not_used_externally`), then the Codex client checks and raw-log
//! retention. A check whose facts are missing reports status `error`, never `ok`.

use codex_master_guest_sdk::doctor::{Check, CheckStatus, ExtInfo, Fact, FactValue, Severity, Vector};
use codex_master_guest_sdk::DoctorExtension;

pub struct DefaultDoctor;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_doctor!(DefaultDoctor);

impl DoctorExtension for DefaultDoctor {
    fn describe() -> ExtInfo {
        ExtInfo::new("default-doctor", env!("CARGO_PKG_VERSION"))
    }

    fn evaluate(facts: Vec<Fact>) -> Vec<Check> {
        evaluate(&facts)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors()
    }
}

/// The startup timeout Codex needs for this server.
pub const RECOMMENDED_STARTUP_TIMEOUT_SEC: i64 = 120;

struct Facts<'a>(&'a [Fact]);

impl Facts<'_> {
    fn get(&self, name: &str) -> Option<&FactValue> {
        self.0.iter().find(|f| f.name == name).map(|f| &f.value).filter(|v| !matches!(v, FactValue::Missing))
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(FactValue::Flag(b)) => Some(*b),
            _ => None,
        }
    }

    fn number(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(FactValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(FactValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Agent names in the order their first fact appears.
    fn agents(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for f in self.0 {
            if let Some(rest) = f.name.strip_prefix("agent.") {
                if let Some((name, _)) = rest.split_once('.') {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_owned());
                    }
                }
            }
        }
        names
    }

    /// Copies of the named facts, as a check's details (renamed to their last segment).
    fn details(&self, names: &[&str]) -> Vec<Fact> {
        names
            .iter()
            .filter_map(|n| {
                self.0
                    .iter()
                    .find(|f| f.name == *n)
                    .map(|f| Fact { name: n.rsplit('.').next().unwrap_or(n).to_owned(), value: f.value.clone() })
            })
            .collect()
    }
}

fn check(name: String, ok: Option<bool>, severity_if_failed: Severity, message: &str, details: Vec<Fact>) -> Check {
    match ok {
        Some(true) => Check {
            name,
            ok: true,
            status: CheckStatus::Ok,
            severity: Severity::Info,
            message: message.to_owned(),
            details,
        },
        Some(false) => {
            let status =
                if severity_if_failed == Severity::Warning { CheckStatus::Warning } else { CheckStatus::Failed };
            Check { name, ok: false, status, severity: severity_if_failed, message: message.to_owned(), details }
        }
        None => Check {
            name,
            ok: false,
            status: CheckStatus::Error,
            severity: Severity::Error,
            message: "the facts this check needs were not gathered".to_owned(),
            details,
        },
    }
}

pub fn evaluate(facts: &[Fact]) -> Vec<Check> {
    let f = Facts(facts);
    let mut out = vec![
        check("tmux_available".into(), f.flag("tmux.available"), Severity::Error, "tmux must be on PATH", vec![]),
        check(
            "codex_available".into(),
            f.flag("codex.available"),
            Severity::Warning,
            "codex should be on PATH for the codex profile",
            vec![],
        ),
        check(
            "repo_wrapper_exists".into(),
            f.flag("install.binary.exists"),
            Severity::Error,
            "the codex-master-mcp binary exists",
            vec![],
        ),
        check(
            "repo_wrapper_executable".into(),
            f.flag("install.binary.executable"),
            Severity::Error,
            "the codex-master-mcp binary is executable",
            vec![],
        ),
        check(
            "installed_symlink".into(),
            f.text("install.symlink.state").map(|s| s == "matching_binary"),
            Severity::Warning,
            "the install path points at this binary",
            f.details(&["install.symlink.state"]),
        ),
        {
            let state = f.text("worktree.state");
            let ok = state.map(|s| matches!(s, "clean" | "not_applicable" | "dirty"));
            let mut c = check(
                "installed_source_worktree_state".into(),
                ok,
                Severity::Warning,
                "the installed source tree state",
                f.details(&["worktree.state", "worktree.tracked_change_count", "worktree.untracked_count"]),
            );
            if state == Some("dirty") {
                c.severity = Severity::Warning;
                c.status = CheckStatus::Warning;
            }
            c
        },
        check(
            "mcp_startup_self_test".into(),
            f.text("selftest.status").map(|s| s == "ok"),
            Severity::Error,
            "the server answers initialize",
            f.details(&["selftest.status"]),
        ),
    ];
    for agent in f.agents() {
        let k = |s: &str| format!("agent.{agent}.{s}");
        out.push(check(
            format!("agent_{agent}_home_exists"),
            f.flag(&k("home.exists")),
            Severity::Error,
            "the agent home is a directory",
            vec![],
        ));
        let runner_ok =
            match (f.flag(&k("runner.regular")), f.flag(&k("runner.executable")), f.flag(&k("runner.symlink"))) {
                (Some(regular), Some(exec), Some(link)) => Some(regular && exec && !link),
                _ => None,
            };
        let mut details = f.details(&[&k("runner.configured")]);
        details.push(Fact { name: "symlink_allowed".into(), value: FactValue::Flag(false) });
        out.push(check(
            format!("agent_{agent}_runner_executable"),
            runner_ok,
            Severity::Error,
            "the runner is a regular executable file, not a symlink",
            details,
        ));
        let running = f.flag(&k("running"));
        let mut session = check(
            format!("agent_{agent}_tmux_session_state"),
            running.map(|_| true),
            Severity::Info,
            "informational",
            f.details(&[&k("running")]),
        );
        session.severity = Severity::Info;
        out.push(session);
        out.push(check(
            format!("agent_{agent}_home_not_used_externally"),
            f.number(&k("external_process_count")).map(|n| n == 0),
            Severity::Error,
            "no process outside codex-master uses the agent home",
            f.details(&[&k("external_process_count"), &k("external_processes_truncated")]),
        ));
    }
    let registered = match (f.flag("mcp.registered"), f.flag("mcp.command_matches")) {
        (Some(r), Some(m)) => Some(r && m),
        _ => None,
    };
    out.push(check(
        "mcp_registered".into(),
        registered,
        Severity::Error,
        "codex has codex-master-mcp registered with this binary",
        f.details(&["mcp.registered", "mcp.command_matches"]),
    ));
    out.push(check(
        "codex_client_mcp_config".into(),
        f.flag("client_config.ok"),
        Severity::Error,
        "the client config declares the server correctly",
        f.details(&["client_config.reason"]),
    ));
    let timeout = f.number("mcp.startup_timeout_sec");
    let timeout_ok = match (f.get("mcp.startup_timeout_sec"), f.flag("mcp.registered")) {
        (Some(_), _) => timeout.map(|t| t >= RECOMMENDED_STARTUP_TIMEOUT_SEC),
        (None, Some(_)) => Some(false), // registered without a timeout, or not registered
        (None, None) => None,
    };
    let mut details = f.details(&["mcp.startup_timeout_sec"]);
    details.push(Fact { name: "recommended_sec".into(), value: FactValue::Number(RECOMMENDED_STARTUP_TIMEOUT_SEC) });
    out.push(check(
        "mcp_startup_timeout_configured".into(),
        timeout_ok,
        Severity::Error,
        "startup_timeout_sec is at least 120",
        details,
    ));
    out.push(check(
        "codex_home_context".into(),
        f.text("home_context.kind").map(|k| k != "managed_agent_home"),
        Severity::Error,
        "the lead does not run inside a managed agent home",
        f.details(&["home_context.kind"]),
    ));
    out.push(check(
        "raw_log_retention_configured".into(),
        f.number("raw_log.max_files").map(|_| true),
        Severity::Info,
        "raw logs are bounded per file and per directory",
        f.details(&[
            "raw_log.max_files",
            "raw_log.max_bytes",
            "raw_log.file_count",
            "raw_log.total_bytes",
            "raw_log.oversized_count",
        ]),
    ));
    out
}

fn flag(name: &str, b: bool) -> Fact {
    Fact { name: name.to_owned(), value: FactValue::Flag(b) }
}

fn num(name: &str, n: i64) -> Fact {
    Fact { name: name.to_owned(), value: FactValue::Number(n) }
}

fn text(name: &str, t: &str) -> Fact {
    Fact { name: name.to_owned(), value: FactValue::Text(t.to_owned()) }
}

/// A machine where everything is in order, with agents `a` and `b`.
pub fn healthy_facts() -> Vec<Fact> {
    let mut facts = vec![
        flag("tmux.available", true),
        flag("codex.available", true),
        flag("install.binary.exists", true),
        flag("install.binary.executable", true),
        text("install.symlink.state", "matching_binary"),
        text("worktree.state", "not_applicable"),
        text("selftest.status", "ok"),
    ];
    for a in ["a", "b"] {
        facts.extend([
            flag(&format!("agent.{a}.home.exists"), true),
            flag(&format!("agent.{a}.runner.configured"), true),
            flag(&format!("agent.{a}.runner.regular"), true),
            flag(&format!("agent.{a}.runner.executable"), true),
            flag(&format!("agent.{a}.runner.symlink"), false),
            flag(&format!("agent.{a}.running"), false),
            num(&format!("agent.{a}.external_process_count"), 0),
        ]);
    }
    facts.extend([
        flag("mcp.registered", true),
        flag("mcp.command_matches", true),
        num("mcp.startup_timeout_sec", 120),
        flag("client_config.ok", true),
        text("home_context.kind", "main_default_home"),
        num("raw_log.max_files", 20),
        num("raw_log.max_bytes", 5_242_880),
    ]);
    facts
}

fn with(mut facts: Vec<Fact>, changes: Vec<Fact>) -> Vec<Fact> {
    for c in changes {
        match facts.iter_mut().find(|f| f.name == c.name) {
            Some(f) => *f = c,
            None => facts.push(c),
        }
    }
    facts
}

pub fn vectors() -> Vec<Vector> {
    let v = |name: &str, facts: Vec<Fact>, failed: &[&str]| Vector {
        name: name.to_owned(),
        facts,
        expected_failed: failed.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        v("healthy machine", healthy_facts(), &[]),
        v(
            "symlinked runner and an external home user",
            with(healthy_facts(), vec![flag("agent.b.runner.symlink", true), num("agent.a.external_process_count", 2)]),
            &["agent_a_home_not_used_externally", "agent_b_runner_executable"],
        ),
        v(
            "unregistered, low timeout, lead inside an agent home",
            with(
                healthy_facts(),
                vec![
                    flag("mcp.registered", false),
                    num("mcp.startup_timeout_sec", 30),
                    text("home_context.kind", "managed_agent_home"),
                ],
            ),
            &["mcp_registered", "mcp_startup_timeout_configured", "codex_home_context"],
        ),
        v("no tmux", with(healthy_facts(), vec![flag("tmux.available", false)]), &["tmux_available"]),
        v(
            "missing facts are errors, not passes",
            healthy_facts().into_iter().filter(|f| f.name != "selftest.status").collect(),
            &["mcp_startup_self_test"],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_order_with_twenty_checks_for_two_agents() {
        let names: Vec<String> = evaluate(&healthy_facts()).into_iter().map(|c| c.name).collect();
        assert_eq!(names.len(), 20);
        assert_eq!(
            &names[..7],
            [
                "tmux_available",
                "codex_available",
                "repo_wrapper_exists",
                "repo_wrapper_executable",
                "installed_symlink",
                "installed_source_worktree_state",
                "mcp_startup_self_test"
            ]
        );
        assert_eq!(names[7], "agent_a_home_exists");
        assert_eq!(names[11], "agent_b_home_exists");
        assert_eq!(names[19], "raw_log_retention_configured");
    }

    #[test]
    fn every_vector_holds() {
        for v in vectors() {
            let failed: Vec<String> = evaluate(&v.facts).into_iter().filter(|c| !c.ok).map(|c| c.name).collect();
            let mut expected = v.expected_failed.clone();
            expected.sort();
            let mut got = failed.clone();
            got.sort();
            assert_eq!(got, expected, "{}", v.name);
        }
    }

    #[test]
    fn missing_facts_report_error_status() {
        let checks = evaluate(&[]);
        let tmux = checks.iter().find(|c| c.name == "tmux_available").unwrap();
        assert_eq!((tmux.ok, tmux.status), (false, CheckStatus::Error));
        let dirty = evaluate(&with(healthy_facts(), vec![text("worktree.state", "dirty")]));
        let c = dirty.iter().find(|c| c.name == "installed_source_worktree_state").unwrap();
        assert!(c.ok && c.status == CheckStatus::Warning);
    }
}
