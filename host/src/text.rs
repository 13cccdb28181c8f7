//! Text hygiene for everything that leaves the process: terminal escape stripping, the host's
//! baseline redaction, and length bounds.
//!
//! Every error text, JSON-RPC error message and CLI error goes through [`safe_error_text`], so a
//! secret or a local path that reaches an error (from tmux stderr, from a user's argument, from
//! an OS error) is masked before it is printed.

use std::sync::OnceLock;

use regex::Regex;

/// Upper bound for any error text we return (the seed's `MAX_ERROR_CHARS`).
pub const MAX_ERROR_CHARS: usize = 1200;

/// Prefix placed before the kept tail of a text that was cut.
pub const CHAR_TRUNCATION_PREFIX: &str = "... truncated to last characters ...\n";

/// Replacement for a masked secret.
pub const REDACTED: &str = "<redacted>";

/// Replacement for a masked absolute path.
pub const REDACTED_PATH: &str = "/<redacted>";

/// Removes terminal control sequences and turns `\r` into `\n`.
///
/// Handles CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`, titles and hyperlinks), DCS/SOS/PM/APC
/// strings (`ESC P|X|^|_ … ST`), charset designations (`ESC ( B` and friends), other two-byte
/// escapes, and the 8-bit C1 forms of CSI/OSC/DCS. Remaining C0 controls other than `\n` and
/// `\t` are dropped, so nothing can move the reader's cursor.
pub fn strip_ansi(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']') => skip_string(&mut chars, true),
                Some('P' | 'X' | '^' | '_') => skip_string(&mut chars, false),
                // Charset designations and other escapes with one intermediate byte.
                Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ') => {
                    chars.next();
                }
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_string(&mut chars, true),
            '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars, false),
            '\r' => out.push('\n'),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameter and intermediate bytes are 0x20..=0x3f; the final byte is 0x40..=0x7e.
    for c in chars.by_ref() {
        if ('\x40'..='\x7e').contains(&c) {
            return;
        }
        if !('\x20'..='\x3f').contains(&c) {
            return;
        }
    }
}

/// Skips a control string up to ST (`ESC \` or 0x9c), or BEL when `bel_ends` (OSC).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, bel_ends: bool) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' if bel_ends => return,
            '\u{9c}' => return,
            '\x1b' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

struct Rules {
    secrets: Vec<(Regex, Option<usize>)>,
    path: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let build = |p: &str| Regex::new(p).expect("built-in redaction pattern");
        Rules {
            secrets: vec![
                // PEM private key blocks, whole.
                (build(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)"), None),
                // `NAME=value` / `NAME: value` for secret-like names; keeps the name (group 1).
                (build(r#"(?i)\b([A-Z0-9_.-]*(?:api[_-]?key|secret|token|passw(?:or)?d|passwd|credential|auth|private[_-]?key|access[_-]?key)[A-Z0-9_.-]*)(\s*[:=]\s*)['"]?[^\s'"]{4,}['"]?"#), Some(1)),
                (build(r"(?i)\b(authorization:\s*(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}"), Some(1)),
                (build(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}"), Some(1)),
                // Credentials in URLs: keep scheme and host.
                (build(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/:@]+:[^\s/@]+@"), Some(1)),
                (build(r"\b(?:sk|sess|rk|pk)-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{12,}"), None),
                (build(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})"), None),
                (build(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), None),
                (build(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), None),
                (build(r"\bAIza[0-9A-Za-z_-]{35}"), None),
                (build(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), None),
            ],
            path: build(r#"(?:~|\b[A-Za-z]:)?(?:/[^\s"'<>:;,)}\]|`]+)+"#),
        }
    })
}

/// Masks known secret shapes and local absolute paths. Returns the text and whether anything
/// changed.
///
/// This is the host's own baseline, used for error texts; the full rule set lives in the
/// redaction extension.
pub fn redact(input: &str) -> (String, bool) {
    let rules = rules();
    let mut text = input.to_owned();
    for (re, keep_group) in &rules.secrets {
        if !re.is_match(&text) {
            continue;
        }
        text = match keep_group {
            None => re.replace_all(&text, REDACTED).into_owned(),
            Some(group) => re
                .replace_all(&text, |caps: &regex::Captures<'_>| {
                    let kept = caps.get(*group).map_or("", |m| m.as_str());
                    let sep = caps.get(group + 1).map_or("", |m| m.as_str());
                    // Separators like ": " are normalised so the value never survives in them.
                    let sep = if sep.contains('=') { "=" } else if sep.contains(':') { ": " } else { sep };
                    format!("{kept}{sep}{REDACTED}")
                })
                .into_owned(),
        };
    }
    text = redact_paths(&text, &rules.path);
    let changed = text != input;
    (text, changed)
}

fn redact_paths(text: &str, re: &Regex) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        // Only a path that starts a word is local: `a/b`, `./x`, `../y` and URL paths stay.
        let starts_word = !matches!(before, Some(c) if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@' | '<' | '~'));
        let s = m.as_str();
        let is_url_path = before == Some(':') && s.starts_with("//");
        if !starts_word || is_url_path || s == "/" || s.starts_with("/<redacted>") {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        if s.starts_with('~') {
            out.push('~');
        }
        out.push_str(REDACTED_PATH);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
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
    strip_ansi(text).chars().filter(|c| !is_bidi_control(*c)).map(|c| if c == '\n' || c == '\t' { ' ' } else { c }).filter(|c| !c.is_control()).collect()
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
        let (out, changed) = redact("OPENAI_API_KEY=sk-testtoken1234567890 and jwt eyJabcabcabcabc.abcabcabcabc.sigsignaturesig");
        assert!(changed);
        assert!(!out.contains("sk-test"), "{out}");
        assert!(!out.contains("eyJabc"), "{out}");
        assert!(out.contains("OPENAI_API_KEY=<redacted>"), "{out}");

        let (out, _) = redact("OPENAI_API_KEY=plainvalue12345");
        assert_eq!(out, "OPENAI_API_KEY=<redacted>");

        let (out, _) = redact("worktree /home/teladi/private/repo\nrelative/path stays ./x ../y\n");
        assert!(out.contains("/<redacted>") && !out.contains("teladi"), "{out}");
        assert!(out.contains("relative/path stays ./x ../y"), "{out}");

        let (out, _) = redact("see http://example.com/a/b and /etc/passwd:12");
        assert!(out.contains("http://example.com/a/b"), "{out}");
        assert!(out.contains("/<redacted>:12"), "{out}");

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
