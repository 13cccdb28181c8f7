//! The default redaction extension: the rules-as-data engine (`codex-master-redaction-engine`)
//! with our default rule file, plus the team's rule files the host passes to `configure`.
//!
//! The host strips terminal escape sequences before calling, so text arrives plain. The same
//! engine and default rules run natively in the host as its floor: whatever this component
//! misses, the floor still masks.

use std::cell::RefCell;

use codex_master_guest_sdk::redaction::{ExtInfo, RedactInput, RedactOutput, RuleError, RuleFile, RuleHit, Vector};
use codex_master_guest_sdk::RedactionExtension;
use codex_master_redaction_engine::Engine;

pub struct DefaultRedaction;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_redaction!(DefaultRedaction);

thread_local! {
    /// The engine of this instance: the defaults until `configure` adds the team's files.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn with_engine<R>(f: impl FnOnce(&Engine) -> R) -> R {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        f(slot.get_or_insert_with(Engine::with_defaults))
    })
}

/// Redacts with this instance's rules.
pub fn redact(text: &str, known_paths: &[String]) -> RedactOutput {
    with_engine(|e| {
        let out = e.redact(text, known_paths);
        RedactOutput {
            text: out.text,
            changed: out.changed,
            hits: out.hits.into_iter().map(|(rule, count)| RuleHit { rule, count }).collect(),
        }
    })
}

impl RedactionExtension for DefaultRedaction {
    fn describe() -> ExtInfo {
        ExtInfo::new("default-redaction", env!("CARGO_PKG_VERSION"))
    }

    fn configure(files: Vec<RuleFile>) -> Vec<RuleError> {
        let named: Vec<(&str, &str)> = files.iter().map(|f| (f.name.as_str(), f.text.as_str())).collect();
        let (engine, errors) = Engine::with_files(&named);
        ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
        errors.into_iter().map(|e| RuleError { file: e.file, rule_id: e.rule_id, message: e.message }).collect()
    }

    fn redact(input: RedactInput) -> RedactOutput {
        redact(&input.text, &input.known_paths)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors()
            .into_iter()
            .map(|(name, input, expected)| Vector {
                name: name.to_owned(),
                input: input.to_owned(),
                expected: expected.to_owned(),
            })
            .collect()
    }
}

/// Self-test vectors (`ext verify` runs them in the sandbox; the unit tests natively).
pub fn vectors() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("openai key", "OPENAI_API_KEY=sk-testtoken1234567890abcdef", "OPENAI_API_KEY=<redacted>"),
        ("secret without a known shape", "OPENAI_API_KEY=plainvalue12345", "OPENAI_API_KEY=<redacted>"),
        ("quoted yaml value", "api_key: \"abcdefgh123\"", "api_key: \"<redacted>\""),
        ("password", "DB_PASSWORD=hunter2hunter2 next", "DB_PASSWORD=<redacted> next"),
        ("aws access key", "id AKIAIOSFODNN7ABCDEFG here", "id <redacted> here"),
        ("aws documented example key stays", "id AKIAIOSFODNN7EXAMPLE here", "id AKIAIOSFODNN7EXAMPLE here"),
        (
            "aws secret",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq7LEKEY1",
            "aws_secret_access_key = <redacted>",
        ),
        ("github pat", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "token <redacted> ok"),
        (
            "json refresh token",
            "{\"refresh_token\": \"rt_Zx81kQ0pL2mN7bV4cX9zA3sD6fG1hJ5kL8\"}",
            "{\"refresh_token\": \"<redacted>\"}",
        ),
        ("authorization header", "Authorization: Bearer abcdef0123456789", "Authorization: Bearer <redacted>"),
        (
            "credentials in a URL",
            "git clone https://user:s3cretpass@example.com/repo.git",
            "git clone https://user:<redacted>@example.com/repo.git",
        ),
        (
            "curl -u",
            "curl -u admin:Tr0ub4dor99 https://x.example.com",
            "curl -u admin:<redacted> https://x.example.com",
        ),
        (
            "pem block",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter",
            "<redacted>\nafter",
        ),
        (
            "home path",
            "worktree /home/teladi/private/repo\nrelative/path stays",
            "worktree /<redacted>\nrelative/path stays",
        ),
        ("root and temp", "/root/x /tmp/z", "/<redacted> /<redacted>"),
        ("tilde path", "see ~/x/y", "see ~/<redacted>"),
        ("system paths stay", "cat /etc/passwd /usr/lib/libc.so", "cat /etc/passwd /usr/lib/libc.so"),
        (
            "a PATH keeps its system entries",
            "PATH=/usr/local/bin:/usr/bin:/home/ann/bin",
            "PATH=/usr/local/bin:/usr/bin:/<redacted>",
        ),
        ("URL paths stay", "http://example.com/a/b", "http://example.com/a/b"),
        (
            "git sha stays",
            "commit 0123456789abcdef0123456789abcdef01234567",
            "commit 0123456789abcdef0123456789abcdef01234567",
        ),
        ("uuid stays", "id 123e4567-e89b-12d3-a456-426614174000", "id 123e4567-e89b-12d3-a456-426614174000"),
        ("versions stay", "codex-cli 0.171.0 and v1.2.3", "codex-cli 0.171.0 and v1.2.3"),
        (
            "placeholders stay",
            "OPENAI_API_KEY=<your-key> API_KEY=${API_KEY} TOKEN=changeme",
            "OPENAI_API_KEY=<your-key> API_KEY=${API_KEY} TOKEN=changeme",
        ),
        ("plural names are no secrets", "max_tokens=4096", "max_tokens=4096"),
        ("stripe publishable keys are public", "pk_live_0123456789abcdefghijABCD", "pk_live_0123456789abcdefghijABCD"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_holds() {
        let mut failed = Vec::new();
        for (name, input, expected) in vectors() {
            let out = redact(input, &[]);
            if out.text != expected {
                failed.push(format!("{name}: got {:?}, expected {expected:?}", out.text));
            }
            assert_eq!(out.changed, input != expected, "{name}");
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    #[test]
    fn configured_team_rules_apply_and_bad_ones_are_named() {
        let errors = DefaultRedaction::configure(vec![RuleFile {
            name: "team.toml".into(),
            text: "[[rules]]\nid = \"ticket\"\nregex = '''TCK-[0-9]{6}'''\nkeywords = [\"tck-\"]\n[[rules]]\nid = \"bad\"\nregex = '''(x'''\n".into(),
        }]);
        assert_eq!(errors.iter().map(|e| e.rule_id.as_str()).collect::<Vec<_>>(), ["bad"]);
        assert_eq!(redact("see TCK-123456", &[]).text, "see <redacted>");
        // Defaults still apply.
        assert_eq!(redact("ghp_abcdefghijklmnopqrstuvwxyz0123456789", &[]).text, "<redacted>");
    }
}
