//! The default doctor checks, as rules over facts the host gathered (flags, numbers, fixed
//! words, variable names; never a path or a value).
//!
//! Order: the machine and the installation (`tmux_available` … `configuration_changes_applied`), then four
//! checks per agent in registry order (`agent_<x>_home_exists`, `_runner_executable`,
//! `_tmux_session_state`, `_home_not_used_externally`), then the lead's Codex home and raw-log
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

/// Above the longest bounded wait (600 s), so Codex never cuts a wait off.
pub const RECOMMENDED_TOOL_TIMEOUT_SEC: i64 = 610;
/// Enough for a cold start.
pub const RECOMMENDED_STARTUP_TIMEOUT_SEC: i64 = 20;
/// A start slower than this can leave `codex exec` without our tools, silently.
pub const SLOW_START_MS: i64 = 1000;
/// agent_stop, agent_interrupt, fleet_watchdog.
pub const HEADLESS_TOOL_COUNT: i64 = 3;

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

    /// Host names (`host.NAME.…`) in the order their first fact appears.
    fn hosts(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for f in self.0 {
            if let Some((name, _)) = f.name.strip_prefix("host.").and_then(|rest| rest.split_once('.')) {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
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

/// A check that passes with a warning instead of failing.
fn warn_if(mut c: Check, warn: bool) -> Check {
    if c.ok && warn {
        c.status = CheckStatus::Warning;
        c.severity = Severity::Warning;
    }
    c
}

pub fn evaluate(facts: &[Fact]) -> Vec<Check> {
    let f = Facts(facts);
    let both = |a: Option<bool>, b: Option<bool>| a.zip(b).map(|(a, b)| a && b);
    let mut out = vec![
        check("tmux_available".into(), f.flag("tmux.available"), Severity::Error, "tmux must be on PATH", vec![]),
        check(
            "tmux_socket_reachable".into(),
            f.flag("tmux.socket_reachable"),
            Severity::Error,
            "the tmux server this host uses answers (or none runs yet)",
            vec![],
        ),
        check(
            "codex_available".into(),
            f.flag("codex.available"),
            Severity::Warning,
            "codex should be on PATH for the lead and the codex profile",
            vec![],
        ),
        check(
            "installed_binary".into(),
            f.text("install.binary.state").map(|s| s == "this_build"),
            Severity::Error,
            "the codex-master-mcp that Codex starts is this build (run install)",
            f.details(&["install.binary.state"]),
        ),
        check(
            "mcp_registration".into(),
            both(f.number("mcp.registration_count").map(|n| n == 1), f.flag("mcp.command_matches")),
            Severity::Error,
            "exactly one registration (codex mcp add or the plugin, not both), starting this build",
            f.details(&["mcp.registration_count", "mcp.route"]),
        ),
        {
            let ok = both(
                f.number("mcp.tool_timeout_sec").map(|t| t >= RECOMMENDED_TOOL_TIMEOUT_SEC),
                f.number("mcp.startup_timeout_sec").map(|t| t >= RECOMMENDED_STARTUP_TIMEOUT_SEC),
            );
            let mut details = f.details(&["mcp.tool_timeout_sec", "mcp.startup_timeout_sec"]);
            details.push(Fact {
                name: "recommended_tool_timeout_sec".into(),
                value: FactValue::Number(RECOMMENDED_TOOL_TIMEOUT_SEC),
            });
            details.push(Fact {
                name: "recommended_startup_timeout_sec".into(),
                value: FactValue::Number(RECOMMENDED_STARTUP_TIMEOUT_SEC),
            });
            check(
                "mcp_timeouts".into(),
                ok,
                Severity::Error,
                "tool_timeout_sec covers the longest wait (610 s) and startup_timeout_sec a cold start",
                details,
            )
        },
        check(
            "lead_environment".into(),
            f.number("env.unpassed_count").map(|n| n == 0),
            Severity::Warning,
            "every variable this shell sets for us or the workers reaches the lead's server (names only)",
            f.details(&["env.unpassed_count", "env.unpassed_names"]),
        ),
        check(
            "state_root_shared".into(),
            f.flag("state.fingerprint_matches"),
            Severity::Error,
            "the lead's server and this CLI use the same state root (fingerprints compared)",
            vec![],
        ),
        check(
            "headless_approvals".into(),
            f.number("approvals.count").map(|n| n >= HEADLESS_TOOL_COUNT),
            Severity::Warning,
            "agent_stop, agent_interrupt and fleet_watchdog are approved for a headless lead (approval never)",
            f.details(&["approvals.count"]),
        ),
        check(
            "user_bus_reachable".into(),
            f.flag("bus.reachable"),
            Severity::Warning,
            "systemctl --user answers (watchdog units, master_watchdog_status)",
            vec![],
        ),
        warn_if(
            check(
                "mcp_startup_self_test".into(),
                f.text("selftest.status").map(|s| s == "ok"),
                Severity::Error,
                "the server Codex starts answers initialize and tools/list, within about a second",
                f.details(&["selftest.status", "selftest.elapsed_ms", "selftest.tool_count"]),
            ),
            f.number("selftest.elapsed_ms").is_some_and(|ms| ms > SLOW_START_MS),
        ),
        check(
            "plugin_cache_version".into(),
            f.text("plugin.cache_state").map(|s| s != "stale"),
            Severity::Warning,
            "an installed plugin is this version",
            f.details(&["plugin.cache_state"]),
        ),
        check(
            "skills_frontmatter".into(),
            f.flag("skills.valid"),
            Severity::Error,
            "the shipped skill has a valid name and description",
            vec![],
        ),
        check(
            "redaction_rule_files".into(),
            both(
                f.number("redaction.rule_files_left_out").map(|n| n == 0),
                f.number("redaction.rules_refused").map(|n| n == 0),
            ),
            Severity::Error,
            "every team redaction rule file config.toml names is read, and every rule in it is used (ext verify names the others)",
            f.details(&["redaction.rule_files", "redaction.rule_files_left_out", "redaction.rules_refused"]),
        ),
        check(
            "configuration_changes_applied".into(),
            f.flag("config.changes_applied"),
            Severity::Error,
            "every change to the configuration, rule files or pinned components a running server saw was applied (a refused one keeps the previous configuration; the server's stderr says why)",
            vec![],
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
    for host in f.hosts() {
        let k = |s: &str| format!("host.{host}.{s}");
        out.push(check(
            format!("host_{host}_reachable"),
            f.flag(&k("reachable")),
            Severity::Error,
            "the host answers over ssh without a prompt, with a known host key (ssh ALIAS true works non-interactively)",
            f.details(&[&k("host_key_known")]),
        ));
        out.push(check(
            format!("host_{host}_tmux"),
            f.text(&k("tmux_version")).map(|v| !v.is_empty()),
            Severity::Error,
            "tmux is on the host's PATH",
            f.details(&[&k("tmux_version")]),
        ));
        let runners = f.number(&k("runners_found")).zip(f.number(&k("runners_expected"))).map(|(a, b)| a == b);
        out.push(check(
            format!("host_{host}_runners"),
            runners,
            Severity::Error,
            "every runner of the host's agents is an executable file there",
            f.details(&[&k("runners_expected"), &k("runners_found")]),
        ));
    }
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
        flag("tmux.socket_reachable", true),
        flag("codex.available", true),
        text("install.binary.state", "this_build"),
        num("mcp.registration_count", 1),
        text("mcp.route", "mcp"),
        flag("mcp.command_matches", true),
        num("mcp.tool_timeout_sec", 610),
        num("mcp.startup_timeout_sec", 30),
        num("env.unpassed_count", 0),
        text("env.unpassed_names", ""),
        flag("state.fingerprint_matches", true),
        num("approvals.count", 3),
        flag("bus.reachable", true),
        text("selftest.status", "ok"),
        num("selftest.elapsed_ms", 40),
        num("selftest.tool_count", 31),
        text("plugin.cache_state", "not_installed"),
        flag("skills.valid", true),
        num("redaction.rule_files", 1),
        num("redaction.rule_files_left_out", 0),
        num("redaction.rules_refused", 0),
        flag("config.changes_applied", true),
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
            "a host that answers with tmux but misses a runner, and one that does not answer",
            with(
                healthy_facts(),
                vec![
                    flag("host.h1.reachable", true),
                    flag("host.h1.host_key_known", true),
                    text("host.h1.tmux_version", "tmux 3.3a"),
                    num("host.h1.runners_expected", 2),
                    num("host.h1.runners_found", 1),
                    flag("host.h2.reachable", false),
                    flag("host.h2.host_key_known", false),
                    text("host.h2.tmux_version", ""),
                    num("host.h2.runners_expected", 1),
                    num("host.h2.runners_found", 0),
                ],
            ),
            &["host_h1_runners", "host_h2_reachable", "host_h2_tmux", "host_h2_runners"],
        ),
        v(
            "symlinked runner and an external home user",
            with(healthy_facts(), vec![flag("agent.b.runner.symlink", true), num("agent.a.external_process_count", 2)]),
            &["agent_a_home_not_used_externally", "agent_b_runner_executable"],
        ),
        v(
            "registered twice, Codex's default timeouts, another build",
            with(
                healthy_facts(),
                vec![
                    num("mcp.registration_count", 2),
                    num("mcp.tool_timeout_sec", 300),
                    text("install.binary.state", "other_build"),
                    flag("mcp.command_matches", false),
                ],
            ),
            &["installed_binary", "mcp_registration", "mcp_timeouts"],
        ),
        v(
            "the lead's traps: filtered variables, another state root, no approvals, no bus",
            with(
                healthy_facts(),
                vec![
                    num("env.unpassed_count", 2),
                    text("env.unpassed_names", "HTTPS_PROXY,XDG_STATE_HOME"),
                    flag("state.fingerprint_matches", false),
                    num("approvals.count", 0),
                    flag("bus.reachable", false),
                    text("home_context.kind", "managed_agent_home"),
                ],
            ),
            &[
                "lead_environment",
                "state_root_shared",
                "headless_approvals",
                "user_bus_reachable",
                "codex_home_context",
            ],
        ),
        v(
            "a stale plugin, a broken skill, a slow start",
            with(
                healthy_facts(),
                vec![
                    text("plugin.cache_state", "stale"),
                    flag("skills.valid", false),
                    num("selftest.elapsed_ms", 1500),
                ],
            ),
            &["plugin_cache_version", "skills_frontmatter"],
        ),
        v(
            "a team rule file left out, a rule refused",
            with(healthy_facts(), vec![num("redaction.rule_files_left_out", 1), num("redaction.rules_refused", 2)]),
            &["redaction_rule_files"],
        ),
        v(
            "a configuration change a running server refused",
            with(healthy_facts(), vec![flag("config.changes_applied", false)]),
            &["configuration_changes_applied"],
        ),
        v(
            "no tmux",
            with(healthy_facts(), vec![flag("tmux.available", false), flag("tmux.socket_reachable", false)]),
            &["tmux_available", "tmux_socket_reachable"],
        ),
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
    fn machine_checks_then_four_per_agent_then_the_home() {
        let names: Vec<String> = evaluate(&healthy_facts()).into_iter().map(|c| c.name).collect();
        assert_eq!(names.len(), 15 + 8 + 2);
        assert_eq!(&names[..4], ["tmux_available", "tmux_socket_reachable", "codex_available", "installed_binary"]);
        assert_eq!(names[13..15], ["redaction_rule_files", "configuration_changes_applied"]);
        assert_eq!(names[15], "agent_a_home_exists");
        assert_eq!(names[19], "agent_b_home_exists");
        assert_eq!(names[24], "raw_log_retention_configured");
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
        let slow = evaluate(&with(healthy_facts(), vec![num("selftest.elapsed_ms", 2500)]));
        let c = slow.iter().find(|c| c.name == "mcp_startup_self_test").unwrap();
        assert!(c.ok && c.status == CheckStatus::Warning);
    }
}
