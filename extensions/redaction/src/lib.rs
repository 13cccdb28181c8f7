//! The default redaction rules.
//!
//! Order of work: strip terminal control sequences (CSI, OSC titles and hyperlinks, DCS/SOS/PM/
//! APC strings, charset designations), then mask, each in one pass over the text:
//! 1. secret tokens with a known shape: the cloud, VCS, chat, payment and AI-provider keys that
//!    gitleaks' default rules know, PEM private-key blocks and JWTs;
//! 2. credentials in URLs and `Authorization` headers (scheme and header name kept);
//! 3. `NAME=value` / `NAME: value` for secret-like names, including `OPENAI_API_KEY=` without
//!    an `sk-` value (obvious placeholders stay);
//! 4. local absolute paths (home directories, `/root`, `/Users`, temp dirs, any absolute path
//!    that starts a word, Windows paths) and the known paths the host passes in.
//!
//! Git SHAs, UUIDs, lockfile hashes and versions are left alone: no rule matches bare
//! hexadecimal or base64 runs.

use std::sync::OnceLock;

use codex_master_guest_sdk::redaction::{ExtInfo, RedactInput, RedactOutput, RuleHit, Vector};
use codex_master_guest_sdk::RedactionExtension;
use regex::Regex;

pub struct DefaultRedaction;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_redaction!(DefaultRedaction);

impl RedactionExtension for DefaultRedaction {
    fn describe() -> ExtInfo {
        ExtInfo::new("default-redaction", env!("CARGO_PKG_VERSION"))
    }

    fn redact(input: RedactInput) -> RedactOutput {
        redact(&input.text, &input.known_paths)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors()
            .into_iter()
            .map(|(name, input, expected)| Vector { name: name.to_owned(), input: input.to_owned(), expected: expected.to_owned() })
            .collect()
    }
}

pub const MASK: &str = "<redacted>";
pub const PATH_MASK: &str = "/<redacted>";

/// Secret tokens recognised by their shape: (rule id, pattern). Each is a run of at least
/// [`MIN_TOKEN_RUN`] characters from [`is_token_char`], so only such runs are searched.
const TOKEN_RULES: &[(&str, &str)] = &[
    ("aws-access-key", r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}"),
    ("gcp-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    ("google-oauth-token", r"ya29\.[0-9A-Za-z_-]{20,}"),
    ("github-token", r"(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}"),
    ("github-fine-grained-pat", r"github_pat_[0-9A-Za-z_]{82}"),
    ("gitlab-token", r"(?:glpat|glptt|glrt|gldt|glcbt|glsoat|glffct|glimt|glagent|gloas)-[0-9A-Za-z_-]{20,}"),
    ("slack-token", r"xox[abeoprs]-(?:[0-9]+-)?[0-9A-Za-z-]{10,}"),
    ("slack-app-token", r"xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+"),
    ("stripe-key", r"(?:sk|rk|pk)_(?:test|live|prod)_[0-9A-Za-z]{10,99}"),
    ("square-token", r"(?:EAAA|sq0atp-|sq0csp-)[0-9A-Za-z_-]{22,60}"),
    ("anthropic-key", r"sk-ant-(?:api|admin)[0-9]{2}-[0-9A-Za-z_-]{20,}"),
    ("openai-key", r"sk-(?:proj-|svcacct-|admin-|None-)?[0-9A-Za-z_-]{20,}"),
    ("openai-session", r"sess-[0-9A-Za-z_-]{20,}"),
    ("huggingface-token", r"hf_[A-Za-z]{34}"),
    ("npm-token", r"npm_[0-9A-Za-z]{36}"),
    ("pypi-token", r"pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}"),
    ("rubygems-token", r"rubygems_[0-9a-f]{48}"),
    ("digitalocean-token", r"do[opr]_v1_[0-9a-f]{64}"),
    ("shopify-token", r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}"),
    ("sendgrid-key", r"SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}"),
    ("mailgun-key", r"key-[0-9a-f]{32}"),
    ("databricks-token", r"dapi[0-9a-f]{32}"),
    ("linear-key", r"lin_api_[0-9A-Za-z]{40}"),
    ("postman-key", r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}"),
    ("doppler-token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[0-9A-Za-z]{40,44}"),
    ("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    ("atlassian-token", r"ATATT3[0-9A-Za-z_=-]{180,}"),
    ("facebook-token", r"EAA[MC][0-9A-Za-z]{100,}"),
    ("jwt", r"eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}={0,2}"),
];

/// Token shapes without a literal prefix, each gated by an inner literal so that text without
/// it is never scanned: (rule id, gate, pattern).
const GATED_TOKEN_RULES: &[(&str, &str, &str)] = &[
    ("private-key", "-----BEGIN", r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?s:.)*?(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\z)"),
    ("slack-webhook", "hooks.slack.com", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,}"),
    ("discord-webhook", "/api/webhooks/", r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+"),
    ("grafana-token", "glc_", r"(?-u:\b)glc_[0-9A-Za-z_+/=-]{32,}"),
    ("grafana-token", "glsa_", r"(?-u:\b)glsa_[0-9A-Za-z_+/=-]{32,}"),
    ("telegram-bot-token", ":AA", r"(?-u:\b)[0-9]{5,16}:AA[0-9A-Za-z_-]{33}"),
    ("twilio-key", "SK", r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)"),
    ("azure-client-secret", "Q~", r"[0-9A-Za-z_~.]{3}[0-9]Q~[0-9A-Za-z_~.-]{31,34}"),
];

/// Secret-like names in `NAME=value` and `NAME: value`.
const SECRET_NAME: &str = r"(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|private[_-]?key|token|passw(?:or)?d|pwd|passphrase|credentials?|auth[_-]?key|client[_-]?secret|session[_-]?key|webhook[_-]?url|dsn|connection[_-]?string)";

struct Rules {
    tokens: Regex,
    gated: Vec<(&'static str, &'static str, Regex)>,
    /// The same rules, anchored, to tell which one a match belongs to (one pass per match).
    token_ids: regex::RegexSet,
    assignment: Regex,
    auth_header: Regex,
    url_credentials: Regex,
    path: Regex,
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        let b = |p: &str| Regex::new(p).expect("built-in redaction rule");
        // A word boundary before each token, except where the token itself starts with a
        // non-word character (the PEM dashes).
        let combined = TOKEN_RULES
            .iter()
            .map(|(_, p)| if p.starts_with('-') { format!("(?:{p})") } else { format!(r"(?-u:\b)(?:{p})") })
            .collect::<Vec<_>>()
            .join("|");
        Rules {
            tokens: b(&combined),
            gated: GATED_TOKEN_RULES.iter().map(|(id, gate, p)| (*id, *gate, b(p))).collect(),
            token_ids: regex::RegexSet::new(TOKEN_RULES.iter().map(|(_, p)| format!("^(?:{p})$"))).expect("built-in redaction rules"),
            // Anchored on the keyword (a literal, so it gets a prefilter); the rest of the name
            // before it is recovered by walking back (see `mask_assignments`).
            assignment: b(&format!(r#"(?i)({SECRET_NAME})(?-u:\b)([ \t]*(?:=|:=|:)[ \t]*)("[^"\n]*"|'[^'\n]*'|[^ \t\n"',;&)}}\]<][^ \t\n"',;&)}}\]]*)"#)),
            auth_header: b(r"(?i)((?:authorization|proxy-authorization|x-api-key|api-key|x-auth-token)[ \t]*:[ \t]*(?:(?:bearer|basic|token|digest|bot)[ \t]+)?)[^ \t\n'\x22]{6,}"),
            url_credentials: b(r"(?i)([a-z][a-z0-9+.-]{1,20}://)[^ \t\n/:@'\x22]+:[^ \t\n/@'\x22]+@"),
            // Starts at a separator, so it gets a memchr prefilter; a `~` or a drive letter before
            // it is taken in by `mask_paths`.
            path: b(r#"(?:[/\\][^ \t\n"'<>:;,|`(){}\[\]]+)+"#),
        }
    })
}

/// Whether `b` can start something [`strip_ansi`] must handle: a C0 control other than `\n`
/// and `\t`, DEL, or the UTF-8 lead byte of a C1 control (U+0080..U+009F).
fn needs_stripping(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f || b == 0xc2
}

/// Removes terminal control sequences; `\r` becomes `\n`.
pub fn strip_ansi(input: &str) -> String {
    // Fast path: copy clean runs whole and only walk the rest character by character.
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut start = 0;
    while let Some(offset) = bytes[start..].iter().position(|&b| needs_stripping(b)) {
        let at = start + offset;
        out.push_str(&input[start..at]);
        // Hand the rest of this line to the slow path.
        let end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |e| at + e);
        strip_slow(&input[at..end], &mut out);
        start = end;
    }
    out.push_str(&input[start..]);
    out
}

fn strip_slow(input: &str, out: &mut String) {
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']') => skip_string(&mut chars, true),
                Some('P' | 'X' | '^' | '_') => skip_string(&mut chars, false),
                Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ') => {
                    chars.next();
                }
                _ => {}
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
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if !('\x20'..='\x3f').contains(&c) {
            return;
        }
    }
}

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

/// Values that are obviously not secrets.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    let lower = v.to_ascii_lowercase();
    v.is_empty()
        || v.len() < 4
        || v.contains(MASK)
        || v.starts_with('$')
        || v.starts_with('<') && v.ends_with('>')
        || v.starts_with("{{")
        || v.starts_with('%') && v.ends_with('%')
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '-' || c == '_')
        || ["null", "none", "true", "false", "changeme", "example", "placeholder", "redacted", "required", "optional", "string", "undefined"]
            .contains(&lower.as_str())
        || lower.starts_with("your-")
        || lower.starts_with("your_")
        || lower.starts_with("<your")
        || lower.contains("example")
}

#[derive(Default)]
struct Hits(Vec<(&'static str, u32)>);

impl Hits {
    fn add(&mut self, rule: &'static str) {
        match self.0.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, n)) => *n += 1,
            None => self.0.push((rule, 1)),
        }
    }
}

/// Replaces every match of `re` via `f` (which returns `None` to keep the match).
fn replace_with(text: &str, re: &Regex, mut f: impl FnMut(&regex::Captures<'_>) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("group 0");
        if let Some(replacement) = f(&caps) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&replacement);
            last = m.end();
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// The characters secret tokens are made of.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'=')
}

/// The shortest token of [`TOKEN_RULES`] (a Slack token).
const MIN_TOKEN_RUN: usize = 15;

fn mask_tokens(original: &str, r: &Rules, hits: &mut Hits) -> Option<String> {
    let text = original;
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    // Most words of a log are short: only runs long enough to be a token reach the regex.
    while i < bytes.len() {
        if !is_token_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_token_char(bytes[i]) {
            i += 1;
        }
        if i - start < MIN_TOKEN_RUN {
            continue;
        }
        for m in r.tokens.find_iter(&text[start..i]) {
            let rule = r.token_ids.matches(m.as_str()).iter().next().map_or("secret-token", |i| TOKEN_RULES[i].0);
            hits.add(rule);
            out.push_str(&text[last..start + m.start()]);
            out.push_str(MASK);
            last = start + m.end();
        }
    }
    out.push_str(&text[last..]);
    let mut text = if last == 0 { None } else { Some(out) };
    for (id, gate, re) in &r.gated {
        let current = text.as_deref().unwrap_or(original);
        if !current.contains(gate) {
            continue;
        }
        if let Some(t) = replace_with(current, re, |_| {
            hits.add(id);
            Some(MASK.to_owned())
        }) {
            text = Some(t);
        }
    }
    text
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `NAME=value` for secret-like names: the match starts at the keyword; the full name is the
/// run of name characters before it, which must begin a word.
fn mask_assignments(text: &str, re: &Regex, hits: &mut Hits) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("group 0");
        if m.start() < last || is_placeholder(&caps[3]) {
            continue;
        }
        let name_start = text[last..m.start()].char_indices().rev().take_while(|(_, c)| is_name_char(*c)).last().map_or(m.start(), |(i, _)| last + i);
        let name = &text[name_start..caps.get(1).expect("name").end()];
        hits.add("secret-assignment");
        let sep = if caps[2].contains('=') { "=" } else { ": " };
        out.push_str(&text[last..name_start]);
        out.push_str(name);
        out.push_str(sep);
        out.push_str(MASK);
        last = m.end();
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn mask_paths(text: &str, re: &Regex, hits: &mut Hits) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for m in re.find_iter(text) {
        let bytes = text.as_bytes();
        let mut begin = m.start();
        if begin >= 1 && bytes[begin - 1] == b'~' {
            begin -= 1;
        } else if begin >= 2 && bytes[begin - 1] == b':' && bytes[begin - 2].is_ascii_alphabetic() && (begin == 2 || !bytes[begin - 3].is_ascii_alphanumeric()) {
            begin -= 2;
        }
        if begin < last {
            continue;
        }
        let s = &text[begin..m.end()];
        let before = text[..begin].chars().next_back();
        let starts_word =
            !matches!(before, Some(c) if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '\\' | '@' | '<' | '~' | '%' | '$' | '+' | '='));
        let url_path = before == Some(':') && s.starts_with("//");
        let backslash_only = s.starts_with('\\') && !s.contains('/');
        // A lone "/" or "\" (an operator, a separator) is no path.
        let trivial = s.trim_start_matches(['~']).len() <= 1 || s.starts_with(PATH_MASK) || s.starts_with("/<");
        let windows = s.len() > 2 && s.as_bytes()[1] == b':';
        if !starts_word || url_path || trivial || (backslash_only && !windows) {
            continue;
        }
        hits.add(if windows { "windows-path" } else { "local-path" });
        out.push_str(&text[last..begin]);
        if s.starts_with('~') {
            out.push('~');
        }
        out.push_str(PATH_MASK);
        last = m.end();
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn mask_known_paths(text: &str, known: &[String], hits: &mut Hits) -> Option<String> {
    let mut known: Vec<&str> = known.iter().map(|k| k.trim_end_matches('/')).filter(|k| k.len() >= 4 && k.starts_with('/')).collect();
    // Longest first, so a nested path is masked whole.
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out: Option<String> = None;
    for k in known {
        let current = out.as_deref().unwrap_or(text);
        if current.contains(k) {
            hits.add("known-path");
            out = Some(current.replace(k, PATH_MASK));
        }
    }
    out
}

/// Strips control sequences and masks secrets and local paths.
pub fn redact(input: &str, known_paths: &[String]) -> RedactOutput {
    let r = rules();
    let mut hits = Hits::default();
    let mut text = strip_ansi(input);
    if let Some(t) = mask_tokens(&text, r, &mut hits) {
        text = t;
    }
    if let Some(t) = replace_with(&text, &r.auth_header, |c| {
        hits.add("authorization-header");
        Some(format!("{}{MASK}", &c[1]))
    }) {
        text = t;
    }
    if let Some(t) = replace_with(&text, &r.url_credentials, |c| {
        hits.add("url-credentials");
        Some(format!("{}{MASK}@", &c[1]))
    }) {
        text = t;
    }
    if let Some(t) = mask_assignments(&text, &r.assignment, &mut hits) {
        text = t;
    }
    if let Some(t) = mask_known_paths(&text, known_paths, &mut hits) {
        text = t;
    }
    if let Some(t) = mask_paths(&text, &r.path, &mut hits) {
        text = t;
    }
    let changed = text != input;
    RedactOutput { text, changed, hits: hits.0.into_iter().map(|(rule, count)| RuleHit { rule: rule.to_owned(), count }).collect() }
}

/// (name, input, expected) self-test vectors.
pub fn vectors() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("openai key", "OPENAI_API_KEY=sk-testtoken1234567890abcdef", "OPENAI_API_KEY=<redacted>"),
        ("openai key without sk-", "OPENAI_API_KEY=plainvalue12345", "OPENAI_API_KEY=<redacted>"),
        ("quoted yaml value", "api_key: \"abcdefgh123\"", "api_key: <redacted>"),
        ("password", "DB_PASSWORD=hunter2hunter2 next", "DB_PASSWORD=<redacted> next"),
        ("aws access key", "id AKIAIOSFODNN7EXAMPLE here", "id <redacted> here"),
        ("aws secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq7LEKEY1", "aws_secret_access_key=<redacted>"),
        ("github pat", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "token <redacted> ok"),
        ("gitlab pat", "glpat-abcdefghij0123456789", "<redacted>"),
        ("slack token", "xoxb-1234567890-abcdefghijklmnop", "<redacted>"),
        ("stripe", "sk_live_0123456789abcdefghij", "<redacted>"),
        ("anthropic", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789", "<redacted>"),
        ("google api key", "key=AIzaSyA1234567890abcdefghijklmnopqrstuv", "key=<redacted>"),
        ("jwt", "Bearer-less eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "Bearer-less <redacted>"),
        ("authorization header", "Authorization: Bearer abcdef0123456789", "Authorization: Bearer <redacted>"),
        ("credentials in a URL", "git clone https://user:s3cretpass@example.com/repo.git", "git clone https://<redacted>@example.com/repo.git"),
        (
            "pem block",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter",
            "<redacted>\nafter",
        ),
        ("home path", "worktree /home/teladi/private/repo\nrelative/path stays", "worktree /<redacted>\nrelative/path stays"),
        ("root, Users and temp", "/root/x /Users/ann/y /tmp/z", "/<redacted> /<redacted> /<redacted>"),
        ("tilde path", "see ~/x/y", "see ~/<redacted>"),
        ("windows path", "C:\\Users\\ann\\file.txt", "/<redacted>"),
        ("path with a line number", "/etc/passwd:12", "/<redacted>:12"),
        ("URL paths stay", "http://example.com/a/b", "http://example.com/a/b"),
        ("git sha stays", "commit 0123456789abcdef0123456789abcdef01234567", "commit 0123456789abcdef0123456789abcdef01234567"),
        ("uuid stays", "id 123e4567-e89b-12d3-a456-426614174000", "id 123e4567-e89b-12d3-a456-426614174000"),
        (
            "lockfile hash stays",
            "integrity sha512-Qw3mHOqDVE2xxbLpc+JFUFcd6XLiFAJhr7a2mQfL0wYt5pTt7g5kgyI4OqW1wX6b1AqOZ3l8EyaTmNkIZkfGIA==",
            "integrity sha512-Qw3mHOqDVE2xxbLpc+JFUFcd6XLiFAJhr7a2mQfL0wYt5pTt7g5kgyI4OqW1wX6b1AqOZ3l8EyaTmNkIZkfGIA==",
        ),
        ("versions stay", "codex-cli 0.169.0 and v1.2.3", "codex-cli 0.169.0 and v1.2.3"),
        ("placeholders stay", "OPENAI_API_KEY=<your-key> API_KEY=${API_KEY} TOKEN=changeme", "OPENAI_API_KEY=<your-key> API_KEY=${API_KEY} TOKEN=changeme"),
        ("plural names are no secrets", "max_tokens=4096", "max_tokens=4096"),
        ("ansi csi and osc", "\x1b[31mred\x1b[0m \x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\r\n", "red link\n\n"),
        ("dcs and charset", "\x1bPq#0;2\x1b\\\x1b(Bok", "ok"),
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
    fn known_paths_are_masked_anywhere() {
        let out = redact("state at x/srv/agents/a-home/raw and /srv/agents/a-home", &["/srv/agents/a-home".to_owned()]);
        assert!(!out.text.contains("a-home"), "{}", out.text);
        assert!(out.hits.iter().any(|h| h.rule == "known-path"));
    }

    #[test]
    fn hits_name_rules_and_count() {
        let out = redact("AKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPL2 /home/x/y", &[]);
        let get = |r: &str| out.hits.iter().find(|h| h.rule == r).map(|h| h.count);
        assert_eq!(get("aws-access-key"), Some(2));
        assert_eq!(get("local-path"), Some(1));
    }
}
