//! Text hygiene for everything that leaves the process: terminal escape stripping, the host's
//! baseline redaction, and length bounds.
//!
//! Every error text, JSON-RPC error message and CLI error goes through [`safe_error_text`], so a
//! secret or a local path that reaches an error (from tmux stderr, from a user's argument, from
//! an OS error) is masked before it is printed. Masking here uses the default rules natively;
//! tool outputs go through [`crate::redactor`], which adds the active extension and the team's
//! rules.

use std::sync::OnceLock;

/// Upper bound for any error text we return (the seed's `MAX_ERROR_CHARS`).
pub const MAX_ERROR_CHARS: usize = 1200;

/// Prefix placed before the kept tail of a text that was cut.
pub const CHAR_TRUNCATION_PREFIX: &str = "... truncated to last characters ...\n";

/// Replacement for a masked secret.
pub const REDACTED: &str = codex_master_redaction_engine::MASK;

/// Replacement for a masked absolute path.
pub const REDACTED_PATH: &str = codex_master_redaction_engine::paths::PATH_MASK;

/// One copy of the escape stripper, shared with the guests (`codex_master_guest_sdk::text`).
pub use codex_master_guest_sdk::text::strip_ansi;

/// The default rules, run natively: what error texts and logs pass through, and the floor of
/// [`crate::redactor`] (above this layer) when the team has no rule files. Built on the first
/// text that needs it.
pub fn default_engine() -> &'static codex_master_redaction_engine::Engine {
    static ENGINE: OnceLock<codex_master_redaction_engine::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| build_engine(&[]).0)
}

/// A rule engine of the default rules and `files` (name, text), announced in the debug log (the
/// cold-path test counts these lines: a call that redacts nothing builds none).
pub fn build_engine(
    files: &[(&str, &str)],
) -> (codex_master_redaction_engine::Engine, Vec<codex_master_redaction_engine::RuleError>) {
    let started = std::time::Instant::now();
    let built = codex_master_redaction_engine::Engine::with_files(files);
    tracing::debug!(micros = started.elapsed().as_micros() as u64, files = files.len(), "redaction floor engine built");
    built
}

/// Whether a text has nothing a rule could mask (only whitespace): no engine is built for it.
pub fn nothing_to_redact(text: &str) -> bool {
    text.trim().is_empty()
}

/// Masks secrets and local paths by the default rules. Returns the text and whether anything
/// changed.
pub fn redact(input: &str) -> (String, bool) {
    if nothing_to_redact(input) {
        return (input.to_owned(), false);
    }
    let out = default_engine().redact(input, &[]);
    (out.text, out.changed)
}

/// A model or effort name: letters, digits and `._-:/`, 1–100 characters.
pub fn valid_model_word(s: &str) -> bool {
    // It starts with a letter or digit: never an option of the worker CLI (`-x`), never a
    // local path (`/home/…`, `./x`, `~`).
    (1..=100).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:/".contains(&b))
        && !s.contains("..")
}

/// Keeps the last `max` characters, behind [`CHAR_TRUNCATION_PREFIX`]; the result never exceeds
/// `max + CHAR_TRUNCATION_PREFIX.len()` characters.
pub fn keep_tail_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let tail: String = text.chars().skip(count - max).collect();
    format!("{CHAR_TRUNCATION_PREFIX}{tail}")
}

/// Bidirectional formatting characters: they reorder how a reader sees text (a path or a name
/// can be made to look like another).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line of plain text: escape sequences stripped, every control character (newlines and
/// tabs become spaces) and every bidirectional formatting character removed.
pub fn plain_line(text: &str) -> String {
    strip_ansi(text)
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// How short free text (names, paths, references, fields read back from private state) is
/// returned: [`plain_line`], [`redact`], then at most `max` characters.
pub fn redact_bounded(text: &str, max: usize) -> String {
    keep_head_chars(&redact(&plain_line(text)).0, max)
}

/// Cuts to at most `max` characters from the front, marking the cut with `…`.
pub fn keep_head_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut head: String = text.chars().take(max.saturating_sub(1)).collect();
    head.push('…');
    head
}

/// The one function every outgoing error text passes through: ANSI-stripped, redacted, and at
/// most [`MAX_ERROR_CHARS`] characters long.
pub fn safe_error_text(text: &str) -> String {
    let stripped = strip_ansi(text);
    let (redacted, _) = redact(&stripped);
    let trimmed = redacted.trim();
    let limit = MAX_ERROR_CHARS - CHAR_TRUNCATION_PREFIX.len();
    if trimmed.chars().count() > MAX_ERROR_CHARS {
        keep_tail_chars(trimmed, limit)
    } else {
        trimmed.to_owned()
    }
}

/// A user-supplied name (argument key, tool name) that may be shown in an error only when it is
/// a plain identifier; anything else is described, never echoed.
pub fn display_identifier(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '/');
    if plain {
        name.to_owned()
    } else {
        "<unprintable name>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_dcs_and_charsets() {
        assert_eq!(strip_ansi("\x1b[31mred\x1b[0m\r\n"), "red\n\n");
        assert_eq!(strip_ansi("a\x1b]0;title\x07b"), "ab");
        assert_eq!(strip_ansi("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");
        assert_eq!(strip_ansi("\x1bPq#0;2;0;0;0\x1b\\ok"), "ok");
        assert_eq!(strip_ansi("\x1b(Bplain\x1b)0"), "plain");
        assert_eq!(strip_ansi("x\x07y\x08z"), "xyz");
        assert_eq!(strip_ansi("\u{9b}1mC1"), "C1");
    }

    #[test]
    fn redacts_secrets_and_paths_but_keeps_relative_paths() {
        let (out, changed) =
            redact("OPENAI_API_KEY=sk-testtoken1234567890 and jwt eyJabcabcabcabc.abcabcabcabc.sigsignaturesig");
        assert!(changed);
        assert!(!out.contains("sk-test"), "{out}");
        assert!(!out.contains("eyJabc"), "{out}");
        assert!(out.contains("OPENAI_API_KEY=<redacted>"), "{out}");

        let (out, _) = redact("OPENAI_API_KEY=plainvalue12345");
        assert_eq!(out, "OPENAI_API_KEY=<redacted>");

        let (out, _) = redact("worktree /home/teladi/private/repo\nrelative/path stays ./x ../y\n");
        assert!(out.contains("/<redacted>") && !out.contains("teladi"), "{out}");
        assert!(out.contains("relative/path stays ./x ../y"), "{out}");

        let (out, _) = redact("see http://example.com/a/b and /srv/app/x:12 but /etc/passwd stays");
        assert!(out.contains("http://example.com/a/b"), "{out}");
        assert!(out.contains("/<redacted>:12") && out.contains("/etc/passwd"), "{out}");

        let (out, _) = redact("commit 0123456789abcdef0123456789abcdef01234567 ok");
        assert!(out.contains("0123456789abcdef0123456789abcdef01234567"));
    }

    #[test]
    fn error_text_is_bounded() {
        let long = format!("{}OPENAI_API_KEY=sk-abcdefghijklmnop1234", "x".repeat(1800));
        let out = safe_error_text(&long);
        assert!(out.chars().count() <= MAX_ERROR_CHARS, "{}", out.len());
        assert!(out.ends_with("OPENAI_API_KEY=<redacted>"), "{out}");
    }

    #[test]
    fn fields_lose_controls_and_bidi_marks() {
        assert_eq!(plain_line("a\x1b[31mb\x07c\nd\u{202E}e\u{2066}f\u{85}g"), "abc defg");
        assert_eq!(redact_bounded("name\u{202E}txt.exe", 80), "nametxt.exe");
    }

    #[test]
    fn identifiers_are_echoed_only_when_plain() {
        assert_eq!(display_identifier("surprise"), "surprise");
        assert_eq!(display_identifier("a b"), "<unprintable name>");
        assert_eq!(display_identifier(&"x".repeat(65)), "<unprintable name>");
    }
}
