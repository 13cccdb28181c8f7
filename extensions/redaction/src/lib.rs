//! The default redaction rules.
//!
//! Order of work: strip terminal control sequences (CSI, OSC titles and hyperlinks, DCS/SOS/PM/
//! APC strings, charset designations), then mask, each in one pass over the text:
//! 1. secret tokens with a known shape: the cloud, VCS, chat, payment and AI-provider keys that
//!    gitleaks' default rules know, PEM private-key blocks, webhooks and JWTs;
//! 2. credentials in `Authorization` headers and URLs (header name and scheme kept);
//! 3. `NAME=value` / `NAME: value` for secret-like names, including `OPENAI_API_KEY=` without
//!    an `sk-` value (obvious placeholders stay);
//! 4. local absolute paths (home directories, `/root`, `/Users`, temp dirs, any absolute path
//!    that starts a word, Windows paths) and the known paths the host passes in.
//!
//! Git SHAs, UUIDs, lockfile hashes and versions are left alone: no rule matches bare
//! hexadecimal or base64 runs.
//!
//! The rules are hand-written matchers rather than regexes: every shape here is a literal
//! prefix followed by bounded character runs, which a byte loop matches without backtracking.
//! That keeps the component small (fast to compile) and a MiB of log text well under the
//! host's per-call deadline inside the sandbox.

use codex_master_guest_sdk::redaction::{ExtInfo, RedactInput, RedactOutput, RuleHit, Vector};
use codex_master_guest_sdk::RedactionExtension;

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

/// Byte classes of the token shapes.
mod class {
    pub fn alnum(b: u8) -> bool {
        b.is_ascii_alphanumeric()
    }
    pub fn alpha(b: u8) -> bool {
        b.is_ascii_alphabetic()
    }
    pub fn digit(b: u8) -> bool {
        b.is_ascii_digit()
    }
    pub fn hex(b: u8) -> bool {
        b.is_ascii_hexdigit()
    }
    pub fn hex_lower(b: u8) -> bool {
        b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
    }
    pub fn lower_digit(b: u8) -> bool {
        b.is_ascii_lowercase() || b.is_ascii_digit()
    }
    pub fn upper_digit(b: u8) -> bool {
        b.is_ascii_uppercase() || b.is_ascii_digit()
    }
    /// The base32 alphabet of AWS key ids.
    pub fn upper_2_7(b: u8) -> bool {
        b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
    }
    /// `[0-9A-Za-z_-]`: URL-safe base64.
    pub fn b64url(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
    }
    pub fn alnum_dash(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-'
    }
    pub fn alnum_us(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }
    pub fn b64url_eq(b: u8) -> bool {
        b64url(b) || b == b'='
    }
    pub fn eq(b: u8) -> bool {
        b == b'='
    }
    /// The bech32 alphabet of age keys.
    pub fn bech32(b: u8) -> bool {
        b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".contains(&b)
    }
    /// An ASCII word character: what `\b` looks at.
    pub fn word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }
}

/// One piece of a token shape.
enum Part {
    /// A literal.
    Lit(&'static str),
    /// The first of these literals that is present.
    OneOf(&'static [&'static str]),
    /// A greedy run of `min..=max` bytes of a class (no backtracking is needed: no shape
    /// follows a run with a byte of the run's own class).
    Run(fn(u8) -> bool, usize, usize),
}

use Part::{Lit, OneOf, Run};

const MANY: usize = usize::MAX;

/// Secret tokens recognised by their shape (after gitleaks' default rules): (rule id, shape).
/// Each starts at a word boundary; the first shape that matches at a position wins.
const TOKEN_RULES: &[(&str, &[Part])] = &[
    ("aws-access-key", &[Lit("A3T"), Run(class::upper_digit, 1, 1), Run(class::upper_2_7, 16, 16)]),
    ("aws-access-key", &[OneOf(&["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"]), Run(class::upper_2_7, 16, 16)]),
    ("gcp-api-key", &[Lit("AIza"), Run(class::b64url, 35, 35)]),
    ("google-oauth-token", &[Lit("ya29."), Run(class::b64url, 20, MANY)]),
    ("github-token", &[OneOf(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), Run(class::alnum, 36, 36)]),
    ("github-fine-grained-pat", &[Lit("github_pat_"), Run(class::alnum_us, 82, 82)]),
    (
        "gitlab-token",
        &[OneOf(&["glpat-", "glptt-", "glrt-", "gldt-", "glcbt-", "glsoat-", "glffct-", "glimt-", "glagent-", "gloas-"]), Run(class::b64url, 20, MANY)],
    ),
    ("slack-token", &[OneOf(&["xoxa-", "xoxb-", "xoxe-", "xoxo-", "xoxp-", "xoxr-", "xoxs-"]), Run(class::alnum_dash, 10, MANY)]),
    (
        "slack-app-token",
        &[Lit("xapp-"), Run(class::digit, 1, 1), Lit("-"), Run(class::upper_digit, 1, MANY), Lit("-"), Run(class::digit, 1, MANY), Lit("-"), Run(class::lower_digit, 1, MANY)],
    ),
    (
        "stripe-key",
        &[OneOf(&["sk_test_", "sk_live_", "sk_prod_", "rk_test_", "rk_live_", "rk_prod_", "pk_test_", "pk_live_", "pk_prod_"]), Run(class::alnum, 10, 99)],
    ),
    ("square-token", &[OneOf(&["EAAA", "sq0atp-", "sq0csp-"]), Run(class::b64url, 22, 60)]),
    ("anthropic-key", &[OneOf(&["sk-ant-api", "sk-ant-admin"]), Run(class::digit, 2, 2), Lit("-"), Run(class::b64url, 20, MANY)]),
    // `sk-proj-`, `sk-svcacct-`, `sk-admin-` and `sk-None-` are covered by the run's class.
    ("openai-key", &[Lit("sk-"), Run(class::b64url, 20, MANY)]),
    ("openai-session", &[Lit("sess-"), Run(class::b64url, 20, MANY)]),
    ("huggingface-token", &[Lit("hf_"), Run(class::alpha, 34, 34)]),
    ("npm-token", &[Lit("npm_"), Run(class::alnum, 36, 36)]),
    ("pypi-token", &[Lit("pypi-AgEIcHlwaS5vcmc"), Run(class::b64url, 50, MANY)]),
    ("rubygems-token", &[Lit("rubygems_"), Run(class::hex_lower, 48, 48)]),
    ("digitalocean-token", &[OneOf(&["doo_v1_", "dop_v1_", "dor_v1_"]), Run(class::hex_lower, 64, 64)]),
    ("shopify-token", &[OneOf(&["shpat_", "shpca_", "shppa_", "shpss_"]), Run(class::hex, 32, 32)]),
    ("sendgrid-key", &[Lit("SG."), Run(class::b64url, 22, 22), Lit("."), Run(class::b64url, 43, 43)]),
    ("mailgun-key", &[Lit("key-"), Run(class::hex_lower, 32, 32)]),
    ("databricks-token", &[Lit("dapi"), Run(class::hex_lower, 32, 32)]),
    ("linear-key", &[Lit("lin_api_"), Run(class::alnum, 40, 40)]),
    ("postman-key", &[Lit("PMAK-"), Run(class::hex_lower, 24, 24), Lit("-"), Run(class::hex_lower, 34, 34)]),
    ("doppler-token", &[OneOf(&["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."]), Run(class::alnum, 40, 44)]),
    ("age-secret-key", &[Lit("AGE-SECRET-KEY-1"), Run(class::bech32, 58, 58)]),
    ("atlassian-token", &[Lit("ATATT3"), Run(class::b64url_eq, 180, MANY)]),
    ("facebook-token", &[OneOf(&["EAAM", "EAAC"]), Run(class::alnum, 100, MANY)]),
    ("jwt", &[Lit("eyJ"), Run(class::b64url, 8, MANY), Lit(".eyJ"), Run(class::b64url, 8, MANY), Lit("."), Run(class::b64url, 8, MANY), Run(class::eq, 0, 2)]),
];

/// The shortest token of [`TOKEN_RULES`] (a Slack app token); shorter runs are skipped.
const MIN_TOKEN_RUN: usize = 12;

/// `s` starts with `prefix`; a plain loop, since most candidates fail on their first bytes.
fn has_prefix(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s.iter().zip(prefix).all(|(a, b)| a == b)
}

/// For each byte, a bit per item of `firsts` that may start with it; a scan tries only those
/// items.
const fn first_byte_index<const N: usize>(firsts: [&[&str]; N]) -> [u64; 256] {
    let mut index = [0u64; 256];
    let mut item = 0;
    while item < N {
        let mut alt = 0;
        while alt < firsts[item].len() {
            let b = firsts[item][alt].as_bytes()[0];
            index[b as usize] |= 1 << item;
            alt += 1;
        }
        item += 1;
    }
    index
}

/// The literals a token shape can start with.
const fn leading_literals(parts: &'static [Part]) -> &'static [&'static str] {
    match &parts[0] {
        Lit(l) => std::slice::from_ref(l),
        OneOf(ls) => ls,
        Run(..) => panic!("a token shape starts with a literal"),
    }
}

const TOKEN_FIRST_BYTES: [u64; 256] = {
    let mut firsts: [&[&str]; TOKEN_RULES.len()] = [&[]; TOKEN_RULES.len()];
    let mut i = 0;
    while i < TOKEN_RULES.len() {
        firsts[i] = leading_literals(TOKEN_RULES[i].1);
        i += 1;
    }
    first_byte_index(firsts)
};

/// The items whose bits are set in `mask`, in order.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            i
        })
    })
}

/// Matches `parts` at the start of `s`; returns the length.
fn match_parts(s: &[u8], parts: &[Part]) -> Option<usize> {
    let mut at = 0;
    for part in parts {
        let rest = &s[at..];
        match part {
            Lit(lit) => {
                if !has_prefix(rest, lit.as_bytes()) {
                    return None;
                }
                at += lit.len();
            }
            OneOf(lits) => at += lits.iter().find(|l| has_prefix(rest, l.as_bytes()))?.len(),
            Run(class, min, max) => {
                let n = rest.iter().take(*max).take_while(|&&b| class(b)).count();
                if n < *min {
                    return None;
                }
                at += n;
            }
        }
    }
    Some(at)
}

/// The characters secret tokens are made of.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'=')
}

/// One replacement found by a pass.
struct Edit {
    start: usize,
    end: usize,
    replacement: String,
    rule: &'static str,
}

/// Scans `text`, offering each position whose byte passes `candidate` to `try_at` (with the
/// end of the last replacement), which returns the replacement (it may start before the
/// position, never before that end). Matches never overlap; scanning resumes after each one.
/// `None` when nothing changed.
fn rewrite(text: &str, hits: &mut Hits, candidate: impl Fn(u8) -> bool, mut try_at: impl FnMut(usize, usize) -> Option<Edit>) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if candidate(bytes[i]) {
            if let Some(edit) = try_at(i, last).filter(|e| e.start >= last) {
                out.push_str(&text[last..edit.start]);
                out.push_str(&edit.replacement);
                hits.add(edit.rule);
                last = edit.end;
                changed = true;
                i = edit.end.max(i + 1);
                continue;
            }
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn mask_tokens(text: &str, hits: &mut Hits) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    // Most words of a log are short: only runs long enough to be a token are tried, and only
    // at word boundaries inside them.
    while i < bytes.len() {
        if !is_token_char(bytes[i]) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < bytes.len() && is_token_char(bytes[i]) {
            i += 1;
        }
        let run = &bytes[run_start..i];
        if run.len() < MIN_TOKEN_RUN {
            continue;
        }
        let mut at = 0;
        while at + MIN_TOKEN_RUN <= run.len() {
            let boundary = at == 0 || !class::word(run[at - 1]);
            let found = if boundary && class::word(run[at]) {
                bits(TOKEN_FIRST_BYTES[run[at] as usize]).find_map(|r| {
                    let (id, parts) = &TOKEN_RULES[r];
                    match_parts(&run[at..], parts).map(|len| (*id, len))
                })
            } else {
                None
            };
            match found {
                Some((id, len)) => {
                    hits.add(id);
                    out.push_str(&text[last..run_start + at]);
                    out.push_str(MASK);
                    last = run_start + at + len;
                    at += len;
                }
                None => at += 1,
            }
        }
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// A PEM private-key armour line: `-----BEGIN ... PRIVATE KEY-----` (or `END`); returns its length.
fn pem_armour(s: &[u8], word: &str) -> Option<usize> {
    let rest = s.strip_prefix(b"-----")?.strip_prefix(word.as_bytes())?;
    let label_len = rest.iter().take(120).take_while(|&&b| b == b' ' || b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_').count();
    let label = &rest[..label_len];
    if !(label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK")) || !rest[label_len..].starts_with(b"-----") {
        return None;
    }
    Some(5 + word.len() + label_len + 5)
}

/// Shapes found by an inner literal rather than a prefix: (rule id, literal, matcher). The
/// matcher gets the text and the literal's offset and returns the whole match.
type GatedMatcher = fn(&[u8], usize) -> Option<(usize, usize)>;

const GATED_RULES: &[(&str, &str, GatedMatcher)] = &[
    ("private-key", "-----BEGIN", |s, at| {
        let head = pem_armour(&s[at..], "BEGIN")?;
        let body = at + head;
        // To the END armour, or to the end of the text when it is cut off.
        let mut k = body;
        while let Some(off) = find(&s[k..], b"-----END") {
            if let Some(len) = pem_armour(&s[k + off..], "END") {
                return Some((at, k + off + len));
            }
            k += off + 1;
        }
        Some((at, s.len()))
    }),
    ("slack-webhook", "hooks.slack.com/", |s, at| {
        let rest = &s[at + 16..];
        let kind = ["services/", "workflows/", "triggers/"].iter().find(|k| rest.starts_with(k.as_bytes()))?;
        let n = rest[kind.len()..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/').count();
        (n >= 20).then_some((at, at + 16 + kind.len() + n))
    }),
    ("discord-webhook", "/api/webhooks/", |s, at| {
        let start = ["discord.com", "discordapp.com"].iter().find(|h| s[..at].ends_with(h.as_bytes())).map(|h| at - h.len())?;
        let rest = &s[at + 14..];
        let id = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if id == 0 || rest.get(id) != Some(&b'/') {
            return None;
        }
        let token = rest[id + 1..].iter().take_while(|&&b| class::b64url(b)).count();
        (token > 0).then_some((start, at + 14 + id + 1 + token))
    }),
    ("grafana-token", "glc_", grafana),
    ("grafana-token", "glsa_", grafana),
    ("telegram-bot-token", ":AA", |s, at| {
        let digits = s[..at].iter().rev().take_while(|b| b.is_ascii_digit()).count();
        let start = at - digits;
        if !(5..=16).contains(&digits) || start > 0 && class::word(s[start - 1]) {
            return None;
        }
        let n = s[at + 3..].iter().take(33).take_while(|&&b| class::b64url(b)).count();
        (n == 33).then_some((start, at + 3 + 33))
    }),
    ("twilio-key", "SK", |s, at| {
        if at > 0 && class::word(s[at - 1]) {
            return None;
        }
        let n = s[at + 2..].iter().take(32).take_while(|b| b.is_ascii_hexdigit()).count();
        let end = at + 2 + n;
        (n == 32 && !s.get(end).is_some_and(|&b| class::word(b))).then_some((at, end))
    }),
    ("azure-client-secret", "Q~", |s, at| {
        let inner = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'~' || b == b'.';
        if at < 4 || !s[at - 1].is_ascii_digit() || !s[at - 4..at - 1].iter().all(|&b| inner(b)) {
            return None;
        }
        let n = s[at + 2..].iter().take(34).take_while(|&&b| inner(b) || b == b'-').count();
        (n >= 31).then_some((at - 4, at + 2 + n))
    }),
];

fn grafana(s: &[u8], at: usize) -> Option<(usize, usize)> {
    if at > 0 && class::word(s[at - 1]) {
        return None;
    }
    let prefix = if s[at..].starts_with(b"glc_") { 4 } else { 5 };
    let n = s[at + prefix..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b"_+/=-".contains(&b)).count();
    (n >= 32).then_some((at, at + prefix + n))
}

/// The offset of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        i += hay[i..hay.len() - needle.len() + 1].iter().position(|&b| b == first)?;
        if hay[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// One pass per gated rule, in order (a PEM block is masked before anything inside it can be
/// taken for another shape); a first pass finds which gates occur at all.
fn mask_gated(text: &str, hits: &mut Hits) -> Option<String> {
    const FIRSTS: [u64; 256] = {
        let mut firsts: [&[&str]; GATED_RULES.len()] = [&[]; GATED_RULES.len()];
        let mut i = 0;
        while i < GATED_RULES.len() {
            firsts[i] = std::slice::from_ref(&GATED_RULES[i].1);
            i += 1;
        }
        first_byte_index(firsts)
    };
    let bytes = text.as_bytes();
    let mut present = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        let mut maybe = FIRSTS[b as usize] & !present;
        while maybe != 0 {
            let r = maybe.trailing_zeros() as usize;
            maybe &= maybe - 1;
            if has_prefix(&bytes[i..], GATED_RULES[r].1.as_bytes()) {
                present |= 1 << r;
            }
        }
    }
    let mut out: Option<String> = None;
    for r in bits(present) {
        let (id, gate, matcher) = GATED_RULES[r];
        let current = out.as_deref().unwrap_or(text);
        let s = current.as_bytes();
        let first = gate.as_bytes()[0];
        if let Some(t) = rewrite(current, hits, |b| b == first, |at, _| {
            if !has_prefix(&s[at..], gate.as_bytes()) {
                return None;
            }
            let (start, end) = matcher(s, at)?;
            Some(Edit { start, end, replacement: MASK.to_owned(), rule: id })
        }) {
            out = Some(t);
        }
    }
    out
}

/// `s` ends with `lower` (an ASCII lower-case literal), ignoring ASCII case.
fn ends_with_ci(s: &[u8], lower: &str) -> bool {
    s.len() >= lower.len() && s.iter().rev().zip(lower.as_bytes().iter().rev()).all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// `s` starts with `lower` (an ASCII lower-case literal), ignoring ASCII case.
fn starts_with_ci(s: &[u8], lower: &str) -> bool {
    s.len() >= lower.len() && s.iter().zip(lower.as_bytes()).all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// `Authorization: Bearer <value>` and friends: the header and the scheme stay. A match inside
/// a longer name (`proxy-authorization`, `x-api-key`) masks the same way.
fn mask_auth_headers(text: &str, hits: &mut Hits) -> Option<String> {
    const NAMES: [&str; 3] = ["authorization", "api-key", "x-auth-token"];
    const SCHEMES: [&str; 5] = ["bearer", "basic", "token", "digest", "bot"];
    let s = text.as_bytes();
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let value_len = |from: usize| s[from..].iter().take_while(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\'' | b'"')).count();
    // Anchored on the colon (rarer than the names' letters): the name ends before it.
    rewrite(text, hits, |b| b == b':', |colon, _| {
        let name_end = colon - s[..colon].iter().rev().take_while(|b| blank(b)).count();
        let name = NAMES.iter().find(|n| ends_with_ci(&s[..name_end], n))?;
        let at = name_end - name.len();
        let mut k = colon + 1;
        k += s[k..].iter().take_while(|b| blank(b)).count();
        // With a scheme word when a long enough value follows it; else the value starts here.
        let with_scheme = SCHEMES.iter().find(|w| starts_with_ci(&s[k..], w)).and_then(|w| {
            let spaces = s[k + w.len()..].iter().take_while(|b| blank(b)).count();
            let v = k + w.len() + spaces;
            (spaces > 0 && text[v..v + value_len(v)].chars().count() >= 6).then_some(v)
        });
        let v = with_scheme.unwrap_or(k);
        let end = v + value_len(v);
        if text[v..end].chars().count() < 6 {
            return None;
        }
        Some(Edit { start: at, end, replacement: format!("{}{MASK}", &text[at..v]), rule: "authorization-header" })
    })
}

/// `scheme://user:password@`: the scheme stays.
fn mask_url_credentials(text: &str, hits: &mut Hits) -> Option<String> {
    let s = text.as_bytes();
    let scheme_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-');
    rewrite(text, hits, |b| b == b':', |at, _| {
        if !s[at..].starts_with(b"://") {
            return None;
        }
        // The scheme: a letter, then 1 to 20 scheme characters, as far back as possible.
        let back = s[..at].iter().rev().take(21).take_while(|&&b| scheme_char(b)).count();
        let start = (at - back..at.saturating_sub(1)).find(|&p| s[p].is_ascii_alphabetic())?;
        let host = at + 3;
        let user = s[host..].iter().take_while(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'/' | b':' | b'@' | b'\'' | b'"')).count();
        if user == 0 || s.get(host + user) != Some(&b':') {
            return None;
        }
        let pass_at = host + user + 1;
        let pass = s[pass_at..].iter().take_while(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'/' | b'@' | b'\'' | b'"')).count();
        if pass == 0 || s.get(pass_at + pass) != Some(&b'@') {
            return None;
        }
        Some(Edit { start, end: pass_at + pass + 1, replacement: format!("{}{MASK}@", &text[start..host]), rule: "url-credentials" })
    })
}

/// Secret-like names, longest spelling first (the name must end at a word boundary).
const SECRET_NAMES: &[&str] = &[
    "api_key", "api-key", "apikey", "secret_key", "secret-key", "secretkey", "secret", "access_key", "access-key", "accesskey",
    "private_key", "private-key", "privatekey", "token", "password", "passwd", "pwd", "passphrase", "credentials", "credential",
    "auth_key", "auth-key", "authkey", "client_secret", "client-secret", "clientsecret", "session_key", "session-key", "sessionkey",
    "webhook_url", "webhook-url", "webhookurl", "dsn", "connection_string", "connection-string", "connectionstring",
];

/// For each byte, a bit per [`SECRET_NAMES`] entry that ends with it.
const SECRET_NAMES_BY_LAST_BYTE: [u64; 256] = {
    let mut index = [0u64; 256];
    let mut i = 0;
    while i < SECRET_NAMES.len() {
        let name = SECRET_NAMES[i].as_bytes();
        index[name[name.len() - 1] as usize] |= 1 << i;
        i += 1;
    }
    index
};

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `NAME=value` for secret-like names: the match starts at the keyword; the full name is the
/// run of name characters before it.
fn mask_assignments(text: &str, hits: &mut Hits) -> Option<String> {
    let s = text.as_bytes();
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    // Where the last match (masked or a placeholder) ended: a scan resumes after it.
    let mut matched_to = 0;
    // Anchored on the separator (rarer than the names' letters): the name ends before it, and
    // the longest name that does is the one a left-to-right scan would meet first.
    rewrite(text, hits, |b| b == b'=' || b == b':', |sep_at, last| {
        let name_end = sep_at - s[..sep_at].iter().rev().take_while(|b| blank(b)).count();
        let name = bits(SECRET_NAMES_BY_LAST_BYTE[s[..name_end].last()?.to_ascii_lowercase() as usize])
            .map(|i| SECRET_NAMES[i])
            .filter(|n| ends_with_ci(&s[..name_end], n))
            .max_by_key(|n| n.len())?;
        let at = name_end - name.len();
        if at < matched_to {
            return None;
        }
        let mut k = sep_at;
        let sep = match (s.get(k), s.get(k + 1)) {
            (Some(b'='), _) => { k += 1; "=" }
            (Some(b':'), Some(b'=')) => { k += 2; "=" }
            (Some(b':'), _) => { k += 1; ": " }
            _ => return None,
        };
        k += s[k..].iter().take_while(|b| blank(b)).count();
        let value_len = match s.get(k)? {
            q @ (b'"' | b'\'') => 2 + s[k + 1..].iter().position(|b| b == q || *b == b'\n').filter(|&p| s[k + 1 + p] == *q)?,
            b' ' | b'\t' | b'\n' | b',' | b';' | b'&' | b')' | b'}' | b']' | b'<' => return None,
            _ => s[k..].iter().take_while(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'"' | b'\'' | b',' | b';' | b'&' | b')' | b'}' | b']')).count(),
        };
        let end = k + value_len;
        matched_to = end;
        if is_placeholder(&text[k..end]) {
            return None;
        }
        let name_start = text[last..at].char_indices().rev().take_while(|(_, c)| is_name_char(*c)).last().map_or(at, |(i, _)| last + i);
        Some(Edit { start: name_start, end, replacement: format!("{}{sep}{MASK}", &text[name_start..name_end]), rule: "secret-assignment" })
    })
}

/// Characters a path segment is made of.
fn is_path_char(c: u8) -> bool {
    !matches!(c, b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'<' | b'>' | b':' | b';' | b',' | b'|' | b'`' | b'(' | b')' | b'{' | b'}' | b'[' | b']')
}

fn mask_paths(text: &str, hits: &mut Hits) -> Option<String> {
    let bytes = text.as_bytes();
    // Where the last path-shaped run ended, masked or not: a scan resumes after it.
    let mut last_end = 0;
    rewrite(text, hits, |b| b == b'/' || b == b'\\', |at, _| {
        if at < last_end {
            return None;
        }
        let len = 1 + bytes[at + 1..].iter().take_while(|&&b| is_path_char(b)).count();
        if len < 2 {
            return None;
        }
        let end = at + len;
        last_end = end;
        let mut begin = at;
        if begin >= 1 && bytes[begin - 1] == b'~' {
            begin -= 1;
        } else if begin >= 2 && bytes[begin - 1] == b':' && bytes[begin - 2].is_ascii_alphabetic() && (begin == 2 || !bytes[begin - 3].is_ascii_alphanumeric()) {
            begin -= 2;
        }
        let s = &text[begin..end];
        let before = text[..begin].chars().next_back();
        let starts_word =
            !matches!(before, Some(c) if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '\\' | '@' | '<' | '~' | '%' | '$' | '+' | '='));
        let url_path = before == Some(':') && s.starts_with("//");
        let backslash_only = s.starts_with('\\') && !s.contains('/');
        // A lone "/" or "\" (an operator, a separator) is no path.
        let trivial = s.trim_start_matches(['~']).len() <= 1 || s.starts_with(PATH_MASK) || s.starts_with("/<");
        let windows = s.len() > 2 && s.as_bytes()[1] == b':';
        if !starts_word || url_path || trivial || (backslash_only && !windows) {
            return None;
        }
        Some(Edit {
            start: begin,
            end,
            replacement: if s.starts_with('~') { format!("~{PATH_MASK}") } else { PATH_MASK.to_owned() },
            rule: if windows { "windows-path" } else { "local-path" },
        })
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
    let mut hits = Hits::default();
    let mut text = strip_ansi(input);
    let passes: [fn(&str, &mut Hits) -> Option<String>; 5] = [mask_tokens, mask_gated, mask_auth_headers, mask_url_credentials, mask_assignments];
    for pass in passes {
        if let Some(t) = pass(&text, &mut hits) {
            text = t;
        }
    }
    if let Some(t) = mask_known_paths(&text, known_paths, &mut hits) {
        text = t;
    }
    if let Some(t) = mask_paths(&text, &mut hits) {
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

    /// One real-shaped sample per rule: each is masked whole, and the hit names its rule.
    const SAMPLES: &[(&str, &str)] = &[
        ("aws-access-key", "AKIAIOSFODNN7EXAMPLE"),
        ("gcp-api-key", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ("google-oauth-token", "ya29.a0AfH6SMBx1234567890abcdefghij"),
        ("github-token", "gho_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("github-fine-grained-pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"),
        ("gitlab-token", "glrt-abcdefghij0123456789"),
        ("slack-token", "xoxp-1234567890-1234567890-abcdefghij"),
        ("slack-app-token", "xapp-1-A0123BCD-4567890-abc123def"),
        ("stripe-key", "rk_test_0123456789abcdefghij"),
        ("square-token", "sq0atp-abcdefghijklmnopqrstuv"),
        ("anthropic-key", "sk-ant-admin01-abcdefghijklmnopqrstuvwxyz"),
        ("openai-key", "sk-svcacct-abcdefghijklmnopqrstuvwxyz"),
        ("openai-session", "sess-abcdefghijklmnopqrstuvwxyz"),
        ("huggingface-token", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"),
        ("npm-token", "npm_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("pypi-token", "pypi-AgEIcHlwaS5vcmcabcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"),
        ("rubygems-token", "rubygems_0123456789abcdef0123456789abcdef0123456789abcdef"),
        ("digitalocean-token", "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ("shopify-token", "shpss_0123456789abcdefABCDEF0123456789"),
        ("sendgrid-key", "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
        ("mailgun-key", "key-0123456789abcdef0123456789abcdef"),
        ("databricks-token", "dapi0123456789abcdef0123456789abcdef"),
        ("linear-key", "lin_api_abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
        ("postman-key", "PMAK-0123456789abcdef01234567-0123456789abcdef0123456789abcdef01"),
        ("doppler-token", "dp.st.abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
        ("age-secret-key", "AGE-SECRET-KEY-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHCE"),
        ("atlassian-token", "ATATT3xFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF0aBcDxFfGF"),
        ("facebook-token", "EAAMZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCdEf012ZAbCd"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N=="),
        ("private-key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"),
        ("slack-webhook", "hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("discord-webhook", "discord.com/api/webhooks/123456789/abc_DEF-123"),
        ("grafana-token", "glsa_abcdefghijklmnopqrstuvwxyz0123456789_abcdef12"),
        ("telegram-bot-token", "123456789:AAabcdefghijklmnopqrstuvwxyz0123456"),
        ("twilio-key", "SK0123456789abcdef0123456789abcdef"),
        ("azure-client-secret", "abc1Q~abcdefghijklmnopqrstuvwxyz012345"),
    ];

    #[test]
    fn every_shape_rule_masks_its_sample() {
        let mut rules: Vec<&str> = TOKEN_RULES.iter().map(|(id, _)| *id).chain(GATED_RULES.iter().map(|(id, _, _)| *id)).collect();
        rules.dedup();
        for rule in &rules {
            assert!(SAMPLES.iter().any(|(r, _)| r == rule), "no sample for {rule}");
        }
        for (rule, sample) in SAMPLES {
            let out = redact(&format!("before {sample} after"), &[]);
            assert_eq!(out.text, format!("before {MASK} after"), "{rule}");
            assert_eq!(out.hits.iter().map(|h| h.rule.as_str()).collect::<Vec<_>>(), [*rule], "{rule}");
        }
    }

    #[test]
    fn the_shortest_token_is_not_skipped() {
        let shortest = SAMPLES.iter().map(|(_, s)| s.len()).min().unwrap();
        assert!(MIN_TOKEN_RUN <= "xapp-1-A-1-a".len() && MIN_TOKEN_RUN <= shortest);
        assert_eq!(redact("xapp-1-A-1-a", &[]).text, MASK);
    }

    #[test]
    fn token_shapes_need_their_boundaries_and_lengths() {
        for text in [
            "XAKIAIOSFODNN7EXAMPLE",                        // no word boundary before
            "ghp_abcdefghijklmnopqrstuvwxyz012345678",      // one short
            "SK0123456789abcdef0123456789abcdef0",          // twilio: 33 hex digits
            "1234:AAabcdefghijklmnopqrstuvwxyz0123456",     // telegram: 4-digit id
            "https://example.com/user/file",                // no credentials
        ] {
            let out = redact(text, &[]);
            assert!(!out.changed, "{text} -> {}", out.text);
        }
    }

    #[test]
    fn a_pem_block_is_masked_whole_even_next_to_other_shapes() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        for text in [format!("glc_abcdefghijklmnopqrstuvwxyz0123456789-{pem}"), format!("{pem}-{pem}"), format!("x {pem}")] {
            let out = redact(&text, &[]);
            assert!(!out.text.contains("MIIE") && !out.text.contains("PRIVATE"), "{}", out.text);
        }
        // Cut off before its END line: masked to the end.
        assert_eq!(redact("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", &[]).text, MASK);
    }

    #[test]
    fn headers_urls_and_assignments_keep_their_names() {
        let cases = [
            ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic <redacted>"),
            ("X-Api-Key: 0123456789", "X-Api-Key: <redacted>"),
            ("postgres://u:p:q@host/db", "postgres://<redacted>@host/db"),
            ("secret_key := 'abc def'", "secret_key=<redacted>"),
            ("my.token = abcdef;", "my.token=<redacted>;"),
            ("credentials: xyzw1234", "credentials: <redacted>"),
            ("password=\"unterminated", "password=\"unterminated"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input, &[]).text, expected, "{input}");
        }
    }

    #[test]
    fn hits_name_rules_and_count() {
        let out = redact("AKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPL2 /home/x/y", &[]);
        let get = |r: &str| out.hits.iter().find(|h| h.rule == r).map(|h| h.count);
        assert_eq!(get("aws-access-key"), Some(2));
        assert_eq!(get("local-path"), Some(1));
    }
}
