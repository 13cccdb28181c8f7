//! One redaction pipeline for every outgoing free text: tails, git excerpts, names, skill
//! descriptions, scope lists and error texts.
//!
//! The host strips terminal escape sequences first. Then the active redaction extension runs,
//! and after it the host's floor: the same engine and default rules as the default component,
//! run natively, plus the team's rule files (`[extensions.redaction] rules`). The floor can only
//! mask more, so a custom extension can never leak what the defaults or the team's rules catch.
//! When the active extension *is* the embedded default, the floor alone runs: it is the same
//! engine with the same rules (`tests/redaction_corpus.rs` proves they agree), so running both
//! would do the work twice. If an extension fails, the floor masks more strictly (every long
//! token-like run as well); a caller that returns raw terminal text (the tail, git excerpts)
//! withholds it instead.
//!
//! The floor has a time budget ([`FLOOR_BUDGET`]) and stops early when the caller went away
//! ([`Cancel`]): a text it could not finish is withheld, never returned unredacted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use codex_master_redaction_engine::Engine;

use crate::ext::{Extensions, Kind, Source};
use crate::text::{keep_head_chars, plain_line, strip_ansi};

/// The pipeline: the active extensions (for a custom redactor) and the floor engine (default
/// rules plus the team's rule files), built on the first text that needs it: a call that
/// redacts nothing never builds it.
pub struct Redactor {
    extensions: Arc<Extensions>,
    /// The floor with the team's rule files; `None`: the team has none, and the floor is the
    /// process's one engine of the default rules ([`crate::text::default_engine`]).
    floor: OnceLock<Option<Engine>>,
    own_paths: Vec<String>,
    /// Short texts already made safe by [`Redactor::bounded`], with their bound.
    memo: Mutex<HashMap<(String, usize), String>>,
}

/// Longest text [`Redactor::bounded`] remembers, and how many it remembers at most.
const MEMO_TEXT_BYTES: usize = 256;
const MEMO_ENTRIES: usize = 4096;

/// Local paths the host always masks: its state and config dirs.
fn own_paths() -> Vec<String> {
    [crate::config::state_dir().ok(), crate::config::config_dir().ok().flatten()]
        .into_iter()
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Longest the floor works on one text. Our rules take milliseconds on the largest text we
/// redact (a 256 KiB log window); a team rule that is slow on some line runs out of it.
pub const FLOOR_BUDGET: Duration = Duration::from_secs(2);

/// What a text the floor could not finish in time (or whose caller went away) becomes.
pub const WITHHELD: &str = "<withheld>";

/// What the pipeline did with a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub changed: bool,
    /// The extension failed: the floor masked more strictly. Callers that return raw
    /// terminal text withhold it.
    pub extension_failed: bool,
    /// The floor ran out of its budget or was cancelled: `text` is [`WITHHELD`].
    pub withheld: bool,
}

impl Redacted {
    /// The text may not be returned at all (callers returning raw terminal text say why).
    pub fn must_withhold(&self) -> bool {
        self.extension_failed || self.withheld
    }
}

/// Set when the call that wanted a text went away, so that the floor stops at its next check.
/// A cancelled request drops its future, and with it the [`CancelOnDrop`] guard.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A guard that cancels when dropped (hold it in the async call, across the await).
    pub fn guard(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Cancels its [`Cancel`] when dropped.
pub struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0 .0.store(true, Ordering::Relaxed);
    }
}

/// Masks every token-like run of 24 or more characters: what the floor adds when the
/// extension failed.
fn strict(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 24 {
            out.push_str(codex_master_redaction_engine::MASK);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "+/=_-.~".contains(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Redactor {
    pub fn new(extensions: Arc<Extensions>) -> Redactor {
        Redactor { extensions, floor: OnceLock::new(), own_paths: own_paths(), memo: Mutex::new(HashMap::new()) }
    }

    /// The floor: the default rules and the team's rule files, loaded (parsed, nothing
    /// compiled) on first use.
    fn floor(&self) -> &Engine {
        let team = self.floor.get_or_init(|| {
            let (files, file_errors) = self.extensions.settings().rule_files();
            // A team whose rule file is left out leaks its own secrets: say so on every use.
            for e in &file_errors {
                let message = crate::text::redact(&crate::text::safe_error_text(&e.message)).0;
                tracing::warn!(file = %e.file, "team redaction rule file left out: {message}");
            }
            if files.is_empty() {
                return None;
            }
            let named: Vec<(&str, &str)> = files.iter().map(|f| (f.name.as_str(), f.text.as_str())).collect();
            let (floor, errors) = crate::text::build_engine(&named);
            if !errors.is_empty() {
                tracing::warn!(
                    count = errors.len(),
                    "team redaction rules left out (ext verify names them; doctor counts them)"
                );
            }
            Some(floor)
        });
        team.as_ref().unwrap_or_else(|| crate::text::default_engine())
    }

    /// The extensions this pipeline runs (the classifier and templates too).
    pub fn extensions(&self) -> &Arc<Extensions> {
        &self.extensions
    }

    /// The pipeline for `text` (escape sequences are stripped here), masking `known` paths too.
    pub fn redact(&self, text: &str, known: &[String]) -> Redacted {
        self.redact_cancellable(text, known, &Cancel::default())
    }

    /// [`Redactor::redact`] that gives up when `cancel` is set: the text is withheld.
    pub fn redact_cancellable(&self, text: &str, known: &[String], cancel: &Cancel) -> Redacted {
        let stripped = strip_ansi(text);
        if crate::text::nothing_to_redact(&stripped) {
            return Redacted { changed: stripped != text, text: stripped, extension_failed: false, withheld: false };
        }
        let mut known = known.to_vec();
        known.extend(self.own_paths.iter().cloned());
        let exts = &self.extensions;
        let (after_extension, failed) = if exts.settings().source(Kind::Redaction) == Source::Embedded {
            (stripped, false)
        } else {
            match exts.redact(&stripped, &known) {
                Ok(out) => (out.text, false),
                Err(_) => (stripped, true),
            }
        };
        let floor = self.floor();
        let deadline = Instant::now() + FLOOR_BUDGET;
        let stop = || cancel.is_set() || Instant::now() >= deadline;
        let Some(floored) = floor.redact_until(&after_extension, &known, &stop) else {
            if cancel.is_set() {
                tracing::debug!("redaction stopped: the caller went away");
            } else {
                tracing::warn!(bytes = text.len(), "redaction stopped: over its time budget; the text is withheld");
            }
            return Redacted { text: WITHHELD.into(), changed: true, extension_failed: failed, withheld: true };
        };
        let out = if failed { strict(&floored.text) } else { floored.text };
        Redacted { changed: out != text, text: out, extension_failed: failed, withheld: false }
    }

    /// Short free text as returned: one plain line (controls and bidi marks removed), redacted,
    /// at most `max` characters.
    pub fn bounded(&self, text: &str, max: usize) -> String {
        // Labels and names come back on every status: a short text is redacted once per
        // pipeline (the same rules give the same answer) and remembered, up to a bound.
        if text.len() > MEMO_TEXT_BYTES {
            return keep_head_chars(&self.redact(&plain_line(text), &[]).text, max);
        }
        let key = (text.to_owned(), max);
        if let Some(hit) = self.memo.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return hit.clone();
        }
        let out = keep_head_chars(&self.redact(&plain_line(text), &[]).text, max);
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.len() >= MEMO_ENTRIES {
            memo.clear();
        }
        memo.insert(key, out.clone());
        out
    }

    /// A list as returned: each item [`Redactor::bounded`].
    pub fn bounded_list(&self, items: &[String], max_items: usize, max_chars: usize) -> Vec<String> {
        items.iter().take(max_items).map(|i| self.bounded(i, max_chars)).collect()
    }

    /// An error text as returned: escape-free, redacted, at most [`crate::text::MAX_ERROR_CHARS`].
    pub fn error_text(&self, message: &str) -> String {
        let first = crate::text::safe_error_text(message);
        keep_head_chars(&self.redact(&first, &[]).text, crate::text::MAX_ERROR_CHARS)
    }
}

/// Host-owned conformance vectors: (name, input, secrets that must not survive). `ext verify`
/// runs them against a redaction component, so one that redacts less than the floor fails.
pub fn conformance_vectors() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    vec![
        ("openai key", "OPENAI_API_KEY=sk-proj-Qw8vN2mL5kJ7hG3fD9sA1zX4cV6bN0mQ8wE2r", &["Qw8vN2mL5kJ7hG3fD9sA1zX4"]),
        ("github token", "remote: ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ0987654", &["R4nd0mT0k3nV4lu3F0rT3st1ng"]),
        ("aws access key id", "aws_access_key_id = AKIAZQ3DN4XVBKPTW7LM", &["AKIAZQ3DN4XVBKPTW7LM"]),
        ("aws secret key", "aws_secret_access_key = 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", &["Zq8+Lm3/Xv5Nk2Pw9Rt4Yb7Hc1Jd6Fg0Se3Ua8Wi"]),
        ("password assignment", "DB_PASSWORD=Tr0ub4dor&3xyz", &["Tr0ub4dor&3xyz"]),
        ("json password", "{\"user\":\"svc\",\"password\":\"pa55-W0rd-Qz9\"}", &["pa55-W0rd-Qz9"]),
        ("json refresh token", "{\"refresh_token\": \"rt_Mx81kQ0pL2mN7bV4cX9zA3sD6fG1hJ5k\"}", &["Mx81kQ0pL2mN7bV4cX9zA3sD6fG1hJ5k"]),
        ("authorization bearer", "Authorization: Bearer Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0F", &["Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0F"]),
        ("authorization basic", "Authorization: Basic YWRtaW46c2VjcmV0cGFzc3dvcmQ=", &["YWRtaW46c2VjcmV0cGFzc3dvcmQ="]),
        ("url credentials", "git clone https://ada:Qz7-pW3xL9@git.example.com/r.git", &["Qz7-pW3xL9"]),
        ("curl user", "curl -u deploy:N0tS3cr3tAtAll https://ci.example.com", &["N0tS3cr3tAtAll"]),
        ("private key block", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----", &["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"]),
        ("slack token", "SLACK_BOT_TOKEN=xoxb-81726354-91827364-Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1", &["Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1"]),
        ("stripe secret key", "stripe.api_key = \"sk_live_Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1J\"", &["Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1J"]),
        ("jwt", "id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEiLCJleHAiOjE3OTB9.c2lnbmF0dXJlLXZhbHVlLWhlcmU", &["c2lnbmF0dXJlLXZhbHVlLWhlcmU"]),
        ("generic secret", "CLIENT_SECRET=Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1Jd6Fg0S", &["Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1Jd6Fg0S"]),
        ("cookie", "Cookie: sessionid=Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1Jd6Fg0S", &["Zq8Lm3Xv5Nk2Pw9Rt4Yb7Hc1Jd6Fg0S"]),
        ("home path", "saved to /home/ada/projects/secret-plan.txt", &["/home/ada"]),
        ("root path", "HOME=/root", &["/root"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_masks_long_runs_only() {
        assert_eq!(strict("id abcdefghijklmnopqrstuvwxyz0123 ok short"), "id <redacted> ok short");
    }

    #[test]
    fn the_floor_catches_every_conformance_vector() {
        let engine = Engine::with_defaults();
        for (name, input, secrets) in conformance_vectors() {
            let out = engine.redact(input, &[]).text;
            assert!(secrets.iter().all(|s| !out.contains(s)), "{name}: {out}");
        }
    }
}
