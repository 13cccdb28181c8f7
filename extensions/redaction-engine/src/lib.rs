//! The redaction engine: rules as data, in the gitleaks rule-file format, and one policy for
//! local paths.
//!
//! A rule file has `[[rules]]` with `id`, `regex`, `secretGroup`, `keywords`, `entropy` and
//! `[[rules.allowlists]]` (`regexes`, `regexTarget = "secret" | "match" | "line"`,
//! `stopwords`, `condition = "OR" | "AND"`), and global allowlists (`[allowlist]` or
//! `[[allowlists]]`, with `targetRules` to name the rules one applies to). A team's untargeted
//! global allowlists reach the team's rules only; a team narrows one of our rules only by
//! naming it, with `targetRules` or a `[[rules]]` entry of that id with allowlists and no regex. Two keys are ours: `blockEnd` makes a rule mask a whole block, from its
//! match to the match of `blockEnd` on a later line (private keys from BEGIN to END), and
//! `mask = "match"` masks the whole match instead of the secret group. Unknown keys are ignored,
//! as gitleaks does.
//!
//! Work per text: one Aho–Corasick pass over the lower-cased text finds every rule keyword;
//! a line runs only the regexes of the rules whose keywords it contains (a rule without
//! keywords runs everywhere, on a text no shorter than its shortest match, so the default rules
//! have few of those). Regexes compile on first use. Block rules run over the whole text first (one with keywords only when the text holds
//! one of them); then the line rules; then the path policy ([`paths`]). The engine is plain Rust: the default redaction component runs it in the
//! sandbox, and the host runs the same rules natively as its floor.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;
pub mod paths;
mod spec;

use spec::{AllowlistSpec, FileSpec, RuleSpec};

// `fn default_spec() -> FileSpec`: `default-rules.toml`, read by build.rs.
include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));

/// What a masked secret becomes.
pub const MASK: &str = "<redacted>";

/// Our default rule file (the rule ids are ours; gitleaks' public rules were the reference for
/// which token shapes exist).
pub const DEFAULT_RULES: &str = include_str!("default-rules.toml");
const DEFAULT_RULES_NAME: &str = "default-rules.toml";

/// Largest rule file accepted, and most rules per file.
pub const MAX_RULE_FILE_BYTES: usize = 256 * 1024;
pub const MAX_RULES_PER_FILE: usize = 1000;
/// Most team rules in all files together, and most keywords per rule: what keeps a first
/// redaction that touches every rule within a fraction of a second and about 150 MiB.
pub const MAX_TEAM_RULES: usize = 1000;
pub const MAX_KEYWORDS_PER_RULE: usize = 32;
/// A line longer than this is searched in windows of this size, overlapping by
/// [`WINDOW_OVERLAP`] (longer than any secret a rule finds).
pub const WINDOW_BYTES: usize = 8 * 1024;
const WINDOW_OVERLAP: usize = 1024;
/// Most keywords whose automaton is a full DFA (see [`Engine::automaton`]).
const DFA_KEYWORDS: usize = 1024;
/// Texts up to this size are scanned for keywords without the automaton.
const SHORT_TEXT_BYTES: usize = 2048;
/// Compiled size limit of one regex. Our largest default rule needs about 22 KiB; a rule near
/// the limit can already take a quarter second on one window of a hostile line, which
/// [`Engine::check`] measures.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Longest one team rule may take over one worst-case window ([`Engine::check`]); our default
/// rules take well under a millisecond.
#[cfg(not(target_arch = "wasm32"))]
pub const PROBE_LIMIT: std::time::Duration = std::time::Duration::from_millis(50);

/// A problem with one rule (or a whole file, with `rule_id` empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub rule_id: String,
    pub message: String,
}

/// Where an allowlist regex looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

#[derive(Debug)]
struct Allowlist {
    /// All of the allowlist's regexes as one alternation (any of them allows), compiled on
    /// first use; `None` when it has none.
    source: Option<String>,
    regex: OnceLock<Option<Regex>>,
    target: Target,
    /// Lower-cased.
    stopwords: Vec<String>,
    /// Both parts must hold (`AND`) instead of either (`OR`).
    all: bool,
}

impl Allowlist {
    /// Whether a finding is allowed (not a secret).
    fn allows(&self, secret: &str, whole: &str, line: &str) -> bool {
        let subject = match self.target {
            Target::Secret => secret,
            Target::Match => whole,
            Target::Line => line,
        };
        let regex = self.regex();
        let by_regex = regex.is_some_and(|r| r.is_match(subject.as_bytes()));
        let by_stopword = !self.stopwords.is_empty() && {
            let lower = secret.to_ascii_lowercase();
            self.stopwords.iter().any(|w| lower.contains(w.as_str()))
        };
        if self.all {
            (regex.is_none() || by_regex) && (self.stopwords.is_empty() || by_stopword)
        } else {
            by_regex || by_stopword
        }
    }

    fn regex(&self) -> Option<&Regex> {
        self.regex.get_or_init(|| self.source.as_deref().and_then(|s| build_regex(s).ok())).as_ref()
    }
}

#[derive(Debug)]
struct Rule {
    id: String,
    source: String,
    /// Compiled on first use: a call that finds none of a rule's keywords never builds it.
    compiled: OnceLock<Option<Compiled>>,
    /// See [`Rule::min_len`].
    min_len: OnceLock<usize>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allowlists: Vec<Allowlist>,
    block_end: Option<String>,
    block_end_regex: OnceLock<Option<Regex>>,
    mask_match: bool,
    /// One of our default rules (a team's global allowlists never reach it).
    default: bool,
}

#[derive(Debug)]
struct Compiled {
    regex: Regex,
    /// The secret is the whole match (no group, or one group with only zero-width
    /// assertions around it): a plain `find` gives it, no capture search needed.
    secret_is_match: bool,
}

/// Rules run in ASCII mode, as gitleaks' Go regexps do for `\w`, `\d`, `\s` and `\b`: secrets
/// are ASCII, and ASCII classes keep the automata small (fast captures, a small component).
/// Text is matched as bytes; spans are widened to character boundaries before use.
fn build_regex(source: &str) -> Result<Regex, String> {
    regex::bytes::RegexBuilder::new(source)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| first_line(&e.to_string()))
}

fn first_line(s: &str) -> String {
    let line = s.lines().rev().find(|l| l.trim_start().starts_with("error:")).unwrap_or(s.lines().next().unwrap_or(""));
    line.trim().chars().take(200).collect()
}

/// Whether the secret of a rule is always its whole match: the regex has no capture group, or
/// one group (the secret) with only zero-width assertions (`\b`, `^`, `$`) beside it.
fn secret_is_whole_match(source: &str, secret_group: Option<usize>) -> bool {
    use regex_syntax::hir::HirKind;
    let Ok(hir) = parse(source) else {
        return false;
    };
    match hir.properties().explicit_captures_len() {
        0 => return secret_group.is_none_or(|g| g == 0),
        1 if secret_group.is_none_or(|g| g == 1) => {}
        _ => return false,
    }
    let parts = match hir.kind() {
        HirKind::Concat(parts) => parts.as_slice(),
        _ => std::slice::from_ref(&hir),
    };
    parts.iter().all(|p| matches!(p.kind(), HirKind::Look(_) | HirKind::Capture(_)))
}

/// Parses a regex as [`build_regex`] reads it, without compiling it (a fraction of the cost).
fn parse(source: &str) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(source)
        .map_err(|e| first_line(&e.to_string()))
}

/// Parses a regex without compiling it: cheap enough to check a whole file up front.
fn check_syntax(source: &str) -> Result<(), String> {
    parse(source).map(drop)
}

impl Rule {
    fn compiled(&self) -> Option<&Compiled> {
        self.compiled
            .get_or_init(|| {
                let regex = build_regex(&self.source).ok()?;
                Some(Compiled { regex, secret_is_match: secret_is_whole_match(&self.source, self.secret_group) })
            })
            .as_ref()
    }

    fn regex(&self) -> Option<&Regex> {
        self.compiled().map(|c| &c.regex)
    }

    /// The fewest bytes a match takes (from a parse, no compiling): a rule without keywords
    /// skips a shorter text without building its regex. A regex that does not parse says 0
    /// (its compiling fails anyway); one that matches nothing, the most.
    fn min_len(&self) -> usize {
        *self
            .min_len
            .get_or_init(|| parse(&self.source).map_or(0, |h| h.properties().minimum_len().unwrap_or(usize::MAX)))
    }

    fn block_end(&self) -> Option<&Regex> {
        self.block_end_regex.get_or_init(|| self.block_end.as_deref().and_then(|s| build_regex(s).ok())).as_ref()
    }
}

/// The counts of masks per rule id.
pub type Hits = BTreeMap<String, u32>;

/// A redacted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub changed: bool,
    pub hits: Hits,
}

/// A rule set ready to run.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Global allowlists, and whether each came with our defaults: a team's apply to the team's
    /// rules only, so a rule file never switches a default rule off unawares. A team narrows a
    /// default rule only by naming it (`targetRules`, or a `[[rules]]` entry with its id and
    /// allowlists but no regex): see [`Engine::narrowed_defaults`].
    global: Vec<(Allowlist, bool)>,
    /// Ids of default rules that a team's allowlist names.
    narrowed: Vec<String>,
    /// The keywords, lower-cased; their automaton is built on the first long text.
    keyword_list: Vec<String>,
    keywords: OnceLock<Option<AhoCorasick>>,
    /// For each keyword pattern, the rules it triggers.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every line.
    always: Vec<usize>,
    /// Rules with `blockEnd`, each with its keyword patterns (none: it runs on every text).
    blocks: Vec<(usize, Vec<usize>)>,
}

/// An allowlist from its spec; `checked` parses its regexes now (a team's file), else they are
/// trusted to parse (our defaults, which the tests compile).
fn allowlist_from(
    spec: AllowlistSpec,
    file: &str,
    rule: &str,
    checked: bool,
    errors: &mut Vec<RuleError>,
) -> Option<Allowlist> {
    let _ = spec.description;
    let target = match spec.regex_target.as_deref() {
        None | Some("secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(_) => {
            errors.push(RuleError {
                file: file.into(),
                rule_id: rule.into(),
                message: "regexTarget must be secret, match or line".into(),
            });
            return None;
        }
    };
    let all = match spec.condition.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("OR") => false,
        Some("AND") => true,
        Some(_) => {
            errors.push(RuleError {
                file: file.into(),
                rule_id: rule.into(),
                message: "condition must be OR or AND".into(),
            });
            return None;
        }
    };
    let mut sources = Vec::new();
    for r in spec.regexes {
        match if checked { check_syntax(&r) } else { Ok(()) } {
            Ok(()) => sources.push(format!("(?:{r})")),
            Err(e) => errors.push(RuleError {
                file: file.into(),
                rule_id: rule.into(),
                message: format!("allowlist regex: {e}"),
            }),
        }
    }
    // Each part was parsed alone above; their alternation is what runs, compiled on first use.
    let source = (!sources.is_empty()).then(|| sources.join("|"));
    Some(Allowlist {
        source,
        regex: OnceLock::new(),
        target,
        stopwords: spec.stopwords.iter().map(|w| w.to_ascii_lowercase()).collect(),
        all,
    })
}

/// Allowlists that name the rules they apply to: a global one with `targetRules`, or a rule
/// entry with an id and allowlists but no regex. Applied once every file is loaded, so a file
/// may name a rule of any file.
struct Extension<'a> {
    file: &'a str,
    default: bool,
    targets: Vec<String>,
    allowlists: Vec<AllowlistSpec>,
}

/// Adds each extension's allowlists to the rules it names; returns the ids of default rules a
/// team's allowlist reached. A name that matches no rule is reported.
fn extend(rules: &mut [Rule], extensions: Vec<Extension<'_>>, errors: &mut Vec<RuleError>) -> Vec<String> {
    let mut narrowed: Vec<String> = Vec::new();
    for ext in extensions {
        for target in &ext.targets {
            let matching: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].id == *target).collect();
            if matching.is_empty() {
                errors.push(RuleError {
                    file: ext.file.to_owned(),
                    rule_id: target.chars().take(64).collect(),
                    message: "the allowlist names no rule of this id".into(),
                });
                continue;
            }
            for i in matching {
                for spec in &ext.allowlists {
                    // Regexes are checked (and reported) once, for the first rule named.
                    let mut quiet = Vec::new();
                    let sink = if Some(target) == ext.targets.first() { &mut *errors } else { &mut quiet };
                    if let Some(a) = allowlist_from(spec.clone(), ext.file, target, !ext.default, sink) {
                        rules[i].allowlists.push(a);
                    }
                }
                if rules[i].default && !ext.default && !narrowed.contains(target) {
                    narrowed.push(target.clone());
                }
            }
        }
    }
    narrowed
}

/// Shannon entropy of `s` in bits per character.
pub fn entropy(s: &str) -> f64 {
    // H = log2(n) - (1/n) * sum(c * log2(c)) over the count c of each distinct character.
    let mut ascii = [0u32; 128];
    let mut seen: Vec<u8> = Vec::new();
    let mut other: Vec<(char, u32)> = Vec::new();
    let mut n = 0u32;
    for c in s.chars() {
        n += 1;
        if c.is_ascii() {
            let slot = &mut ascii[c as usize];
            if *slot == 0 {
                seen.push(c as u8);
            }
            *slot += 1;
        } else if let Some(slot) = other.iter_mut().find(|(o, _)| *o == c) {
            slot.1 += 1;
        } else {
            other.push((c, 1));
        }
    }
    if n == 0 {
        return 0.0;
    }
    let c_log_c = |c: u32| if c > 1 { f64::from(c) * f64::from(c).log2() } else { 0.0 };
    let sum: f64 = seen.iter().map(|&b| c_log_c(ascii[usize::from(b)])).sum::<f64>()
        + other.iter().map(|(_, c)| c_log_c(*c)).sum::<f64>();
    f64::from(n).log2() - sum / f64::from(n)
}

/// A span to mask, in bytes of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: usize,
    end: usize,
}

/// A rule set being loaded, file by file.
#[derive(Default)]
struct Loader<'a> {
    rules: Vec<Rule>,
    global: Vec<(Allowlist, bool)>,
    keyword_list: Vec<String>,
    /// Each distinct keyword's index in `keyword_list` (linear in the number of keywords).
    keyword_at: std::collections::HashMap<String, usize>,
    keyword_rules: Vec<Vec<usize>>,
    always: Vec<usize>,
    blocks: Vec<(usize, Vec<usize>)>,
    extensions: Vec<Extension<'a>>,
    errors: Vec<RuleError>,
}

impl<'a> Loader<'a> {
    /// One rule file: bounded, parsed, its allowlists and rules added; a file that breaks a
    /// bound is left out whole and reported.
    fn file(&mut self, name: &'a str, text: &str) {
        let file_error = |message: String| RuleError { file: name.to_owned(), rule_id: String::new(), message };
        if text.len() > MAX_RULE_FILE_BYTES {
            self.errors.push(file_error(format!("the file exceeds {MAX_RULE_FILE_BYTES} bytes")));
            return;
        }
        match toml::from_str(text) {
            Ok(spec) => self.spec(name, spec, false),
            Err(e) => self.errors.push(file_error(format!("not a valid rule file: {}", first_line(e.message())))),
        }
    }

    /// One parsed rule file (ours, `default`, or a team's).
    fn spec(&mut self, name: &'a str, spec: FileSpec, default: bool) {
        let file_error = |message: String| RuleError { file: name.to_owned(), rule_id: String::new(), message };
        if spec.rules.len() > MAX_RULES_PER_FILE {
            self.errors.push(file_error(format!("more than {MAX_RULES_PER_FILE} rules")));
            return;
        }
        let team_rules = self.rules.iter().filter(|r| !r.default).count();
        if !default && team_rules + spec.rules.len() > MAX_TEAM_RULES {
            self.errors.push(file_error(format!(
                "more than {MAX_TEAM_RULES} team rules in all files together: this file is left out"
            )));
            return;
        }
        for a in spec.allowlist.into_iter().chain(spec.allowlists) {
            if !a.target_rules.is_empty() {
                let targets = a.target_rules.clone();
                self.extensions.push(Extension { file: name, default, targets, allowlists: vec![a] });
            } else if let Some(a) = allowlist_from(a, name, "", !default, &mut self.errors) {
                self.global.push((a, default));
            }
        }
        for r in spec.rules {
            self.rule(name, r, default);
        }
    }

    /// One `[[rules]]` entry: a rule (a team's regexes checked now), or, without a regex but
    /// with allowlists, an extension of the rule of that id.
    fn rule(&mut self, name: &'a str, r: RuleSpec, default: bool) {
        let id = r.id.chars().take(64).collect::<String>();
        let bad = |message: String| RuleError { file: name.to_owned(), rule_id: id.clone(), message };
        let Some(source) = r.regex.clone().filter(|s| !s.is_empty()) else {
            if r.allowlist.is_some() || !r.allowlists.is_empty() {
                let allowlists = r.allowlists.into_iter().chain(r.allowlist).collect();
                self.extensions.push(Extension { file: name, default, targets: vec![id], allowlists });
            } else {
                self.errors.push(bad("a rule needs a regex (path-only rules do not apply to text)".into()));
            }
            return;
        };
        let checked = if default {
            Ok(())
        } else {
            check_syntax(&source).map_err(|e| format!("bad regex: {e}")).and_then(|()| match r.block_end.as_deref() {
                Some(end) => check_syntax(end).map_err(|e| format!("bad blockEnd regex: {e}")),
                None => Ok(()),
            })
        };
        if let Err(message) = checked {
            self.errors.push(bad(message));
            return;
        }
        let mut allowlists = Vec::new();
        for a in r.allowlists.into_iter().chain(r.allowlist) {
            if let Some(a) = allowlist_from(a, name, &id, !default, &mut self.errors) {
                allowlists.push(a);
            }
        }
        if !default && r.keywords.len() > MAX_KEYWORDS_PER_RULE {
            self.errors.push(bad(format!("more than {MAX_KEYWORDS_PER_RULE} keywords")));
            return;
        }
        let index = self.rules.len();
        self.index_keywords(index, &r.keywords, r.block_end.is_some());
        self.rules.push(Rule {
            id,
            source,
            compiled: OnceLock::new(),
            min_len: OnceLock::new(),
            secret_group: r.secret_group,
            entropy: r.entropy,
            allowlists,
            block_end: r.block_end,
            block_end_regex: OnceLock::new(),
            mask_match: r.mask.as_deref() == Some("match"),
            default,
        });
    }

    /// Which lines run rule `index`: a block rule runs over the whole text (when the text holds
    /// one of its keywords, if it has any), a rule without keywords on every line, the others
    /// where one of their keywords is.
    fn index_keywords(&mut self, index: usize, keywords: &[String], block: bool) {
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).filter(|k| !k.is_empty()).collect();
        if !block && keywords.is_empty() {
            self.always.push(index);
        }
        let mut patterns = Vec::new();
        for k in keywords {
            let at = *self.keyword_at.entry(k.clone()).or_insert_with(|| {
                self.keyword_list.push(k);
                self.keyword_rules.push(Vec::new());
                self.keyword_list.len() - 1
            });
            // A block rule's keyword never runs it as a line rule.
            if !block && self.keyword_rules[at].last() != Some(&index) {
                self.keyword_rules[at].push(index);
            }
            patterns.push(at);
        }
        if block {
            self.blocks.push((index, patterns));
        }
    }
}

impl Engine {
    /// Our default rules.
    pub fn with_defaults() -> Engine {
        let (engine, errors) = Engine::with_files(&[]);
        debug_assert!(errors.is_empty(), "the default rules are broken: {errors:?}");
        engine
    }

    /// The default rules plus `files` (name, text). A bad rule is left out and reported; the
    /// others apply. The files' global allowlists exempt text from their own rules only.
    ///
    /// Loading parses the team's files; it compiles nothing: a rule's regex, an allowlist's and
    /// the keyword automaton are built on first use, so a call that redacts nothing pays for
    /// none of them. A team's regexes are parsed up front so that a broken one is reported at
    /// once ([`Engine::check`] compiles them all).
    pub fn with_files(files: &[(&str, &str)]) -> (Engine, Vec<RuleError>) {
        let mut loader = Loader::default();
        loader.spec(DEFAULT_RULES_NAME, default_spec(), true);
        for (name, text) in files {
            loader.file(name, text);
        }
        let Loader { mut rules, global, keyword_list, keyword_rules, always, blocks, extensions, mut errors, .. } =
            loader;
        let narrowed = extend(&mut rules, extensions, &mut errors);
        let engine =
            Engine { rules, global, narrowed, keyword_list, keywords: OnceLock::new(), keyword_rules, always, blocks };
        (engine, errors)
    }

    /// The ids of our default rules that a team's allowlist narrows, by name (`targetRules`
    /// or a rule entry that extends one): `ext verify` and `doctor` show them.
    pub fn narrowed_defaults(&self) -> &[String] {
        &self.narrowed
    }

    /// The rules that came from a team's files.
    pub fn team_rule_count(&self) -> usize {
        self.rules.iter().filter(|r| !r.default).count()
    }

    /// Compiles every regex now (`ext verify`): a rule whose regex parses but is too large to
    /// compile, or a broken allowlist, is reported by id.
    pub fn check(&self) -> Vec<RuleError> {
        let mut errors = Vec::new();
        let mut report = |rule_id: &str, message: &str| {
            errors.push(RuleError { file: String::new(), rule_id: rule_id.to_owned(), message: message.to_owned() })
        };
        for rule in &self.rules {
            if rule.compiled().is_none() {
                report(&rule.id, "the regex is too large to compile");
            }
            if rule.block_end.is_some() && rule.block_end().is_none() {
                report(&rule.id, "the blockEnd regex does not compile");
            }
            if rule.allowlists.iter().any(|a| a.source.is_some() && a.regex().is_none()) {
                report(&rule.id, "an allowlist regex does not compile");
            }
        }
        if self.global.iter().any(|(a, _)| a.source.is_some() && a.regex().is_none()) {
            report("", "a global allowlist regex does not compile");
        }
        #[cfg(not(target_arch = "wasm32"))]
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.default || rule.compiled().is_none() {
                continue;
            }
            let took = self.probe(i);
            if took > PROBE_LIMIT {
                let message = format!(
                    "the regex is too slow: {} ms on a worst-case line of {} KiB (at most {} ms)",
                    took.as_millis(),
                    WINDOW_BYTES / 1024,
                    PROBE_LIMIT.as_millis()
                );
                report(&rule.id, &message);
            }
        }
        errors
    }

    /// The longest rule `i` takes on one window of a hostile line: runs of the characters
    /// secrets are made of, after the rule's keyword. Each probe runs twice and the faster run
    /// counts, so a cold cache or a busy machine does not refuse a good rule.
    #[cfg(not(target_arch = "wasm32"))]
    fn probe(&self, i: usize) -> std::time::Duration {
        let keyword = self
            .keyword_rules
            .iter()
            .position(|rules| rules.contains(&i))
            .map_or("", |k| self.keyword_list[k].as_str());
        let alphabets = ["ab1", "aB3_", "aB3+/=-.", "0f9e", "a b1 ", "a:b,c\"\"=x "];
        let mut worst = std::time::Duration::ZERO;
        for alphabet in alphabets {
            let mut line = format!("{keyword}=");
            while line.len() < WINDOW_BYTES {
                line.push_str(alphabet);
            }
            line.truncate(WINDOW_BYTES);
            let run = || {
                let started = std::time::Instant::now();
                self.rule_spans(i, &line, 0, &mut Vec::new());
                started.elapsed()
            };
            let first = run();
            let took = if first > PROBE_LIMIT / 4 { first.min(run()) } else { first };
            worst = worst.max(took);
            if worst > PROBE_LIMIT {
                break;
            }
        }
        worst
    }

    /// The keyword automaton, built on first use.
    fn automaton(&self) -> Option<&AhoCorasick> {
        self.keywords
            .get_or_init(|| {
                (!self.keyword_list.is_empty()).then(|| {
                    // A full DFA while the keywords are few (ours are about 140): the overlapping
                    // scan of every byte is the engine's hottest loop on long texts. Thousands
                    // of team keywords would make that DFA hundreds of MiB; a contiguous NFA
                    // stays within a few MiB and is still linear.
                    let kind = if self.keyword_list.len() <= DFA_KEYWORDS {
                        AhoCorasickKind::DFA
                    } else {
                        AhoCorasickKind::ContiguousNFA
                    };
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .match_kind(MatchKind::Standard)
                        .kind(Some(kind))
                        .build(&self.keyword_list)
                        .expect("keywords build")
                })
            })
            .as_ref()
    }

    /// Every keyword hit in `text`: (start, pattern). A short text is scanned keyword by
    /// keyword (no automaton built); a long one through the automaton.
    fn keyword_hits(&self, text: &str) -> Vec<(usize, usize)> {
        if text.len() <= SHORT_TEXT_BYTES && self.keywords.get().is_none() {
            let lower = text.to_ascii_lowercase();
            let mut hits: Vec<(usize, usize)> = self
                .keyword_list
                .iter()
                .enumerate()
                .flat_map(|(p, k)| lower.match_indices(k.as_str()).map(move |(at, _)| (at, p)))
                .collect();
            hits.sort_unstable();
            return hits;
        }
        match self.automaton() {
            Some(ac) => ac.find_overlapping_iter(text).map(|m| (m.start(), m.pattern().as_usize())).collect(),
            None => Vec::new(),
        }
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether a finding is a secret: long enough in entropy and allowed by no allowlist.
    fn is_secret(&self, rule: &Rule, secret: &str, whole: &str, line: &str) -> bool {
        if secret.trim().is_empty() {
            return false;
        }
        if rule.entropy.is_some_and(|min| entropy(secret) < min) {
            return false;
        }
        // A team's global allowlists reach the team's rules only, never ours.
        let global = self.global.iter().filter(|(_, ours)| *ours || !rule.default).map(|(a, _)| a);
        !rule.allowlists.iter().chain(global).any(|a| a.allows(secret, whole, line))
    }

    /// Masks secrets and local paths in `text` (escape sequences already stripped by the
    /// caller). `known_paths` are masked wherever they appear.
    pub fn redact(&self, text: &str, known_paths: &[String]) -> Redacted {
        self.redact_until(text, known_paths, &|| false).expect("never stopped")
    }

    /// [`Engine::redact`] that stops as soon as `stop` says so (a deadline passed, the caller
    /// went away), checked between rules and between windows of a long line: `None` then, and
    /// the caller withholds the text. A single regex search runs over at most
    /// [`WINDOW_BYTES`] of a line.
    pub fn redact_until(&self, text: &str, known_paths: &[String], stop: &dyn Fn() -> bool) -> Option<Redacted> {
        let mut spans: Vec<(Span, usize)> = Vec::new();
        let keyword_hits = self.keyword_hits(text);
        self.block_spans(text, &keyword_hits, &mut spans, stop)?;
        self.line_spans(text, &keyword_hits, &mut spans, stop)?;
        if stop() {
            return None;
        }
        let mut hits = Hits::new();
        let masked = apply(text, &mut spans, &self.rules, &mut hits);
        let (out, path_hits) = paths::mask_paths(&masked, known_paths);
        if path_hits > 0 {
            *hits.entry("local-path".into()).or_default() += path_hits;
        }
        let changed = out != text;
        Some(Redacted { text: out, changed, hits })
    }

    /// Whole blocks (a private key from BEGIN to END). A block whose END is missing runs to
    /// the end of the text; an END with no BEGIN before it masks from the start of the text
    /// (the window began inside a block). A block rule with keywords runs only on a text that
    /// holds one of them (its regexes are not even compiled otherwise).
    fn block_spans(
        &self,
        text: &str,
        keyword_hits: &[(usize, usize)],
        spans: &mut Vec<(Span, usize)>,
        stop: &dyn Fn() -> bool,
    ) -> Option<()> {
        for (i, patterns) in &self.blocks {
            if stop() {
                return None;
            }
            if !patterns.is_empty() && !keyword_hits.iter().any(|(_, p)| patterns.contains(p)) {
                continue;
            }
            let i = *i;
            let rule = &self.rules[i];
            let (Some(begin), Some(end)) = (rule.regex(), rule.block_end()) else { continue };
            let mut at = 0;
            let bytes = text.as_bytes();
            let first_begin = begin.find(bytes).map(|m| m.start());
            if let Some(first_end) = end.find(bytes) {
                if first_begin.is_none_or(|b| first_end.start() < b) {
                    spans.push((widen(text, 0, first_end.end()), i));
                    at = first_end.end();
                }
            }
            while let Some(m) = begin.find_at(bytes, at) {
                let stop = end.find_at(bytes, m.end()).map_or(text.len(), |e| e.end());
                spans.push((widen(text, m.start(), stop), i));
                at = stop.max(m.end());
                if at >= text.len() {
                    break;
                }
            }
        }
        Some(())
    }

    fn line_spans(
        &self,
        text: &str,
        keyword_hits: &[(usize, usize)],
        spans: &mut Vec<(Span, usize)>,
        stop: &dyn Fn() -> bool,
    ) -> Option<()> {
        // (line start, rule) pairs to run: keyword hits, and the lines where a rule without
        // keywords matches somewhere (found by one search over the whole text, not one per line).
        let mut jobs: Vec<(usize, usize)> = Vec::new();
        let line_start = |pos: usize| text[..pos].rfind('\n').map_or(0, |n| n + 1);
        let mut line = (0usize, 0usize); // (start, end) of the line of the previous hit
        for &(at, pattern) in keyword_hits {
            if at >= line.1 || at < line.0 {
                let start = line_start(at);
                let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                line = (start, end);
            }
            jobs.extend(self.keyword_rules[pattern].iter().map(|&r| (line.0, r)));
        }
        for &i in &self.always {
            if text.len() < self.rules[i].min_len() {
                continue;
            }
            let Some(re) = self.rules[i].regex() else { continue };
            // Windowed like a long line below: one search covers at most WINDOW_BYTES.
            let mut from = 0;
            'windows: for (window_start, window_end) in windows(text, 0, text.len()) {
                if stop() {
                    return None;
                }
                let mut at = from.max(window_start);
                while at < window_end {
                    let Some(m) = re.find_at(&text.as_bytes()[..window_end], at) else { break };
                    jobs.push((line_start(m.start()), i));
                    // Go on from the next line: this line runs the rule in full below.
                    at = text[m.start()..].find('\n').map_or(text.len(), |n| m.start() + n + 1);
                    from = at;
                    if at >= text.len() {
                        break 'windows;
                    }
                }
            }
        }
        jobs.sort_unstable();
        jobs.dedup();
        for (start, rule) in jobs {
            let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
            // A long line is searched in overlapping windows, so that one search stays short
            // and the budget is checked between them; a span seen twice is merged when masked.
            for (at, stop_at) in windows(text, start, end) {
                if stop() {
                    return None;
                }
                self.rule_spans(rule, &text[at..stop_at], at, spans);
            }
        }
        Some(())
    }

    fn rule_spans(&self, i: usize, line: &str, offset: usize, spans: &mut Vec<(Span, usize)>) {
        let rule = &self.rules[i];
        let Some(Compiled { regex: re, secret_is_match }) = rule.compiled() else { return };
        if *secret_is_match {
            for m in re.find_iter(line.as_bytes()) {
                let whole = widen(line, m.start(), m.end());
                let secret = &line[whole.start..whole.end];
                if self.is_secret(rule, secret, secret, line) {
                    spans.push((Span { start: offset + whole.start, end: offset + whole.end }, i));
                }
            }
            return;
        }
        for caps in re.captures_iter(line.as_bytes()) {
            let whole = caps.get(0).expect("group 0");
            let whole = widen(line, whole.start(), whole.end());
            // The secret: the configured group, else the first group that matched, else the
            // whole match.
            let group = match rule.secret_group {
                Some(g) => caps.get(g),
                None => (1..caps.len()).find_map(|g| caps.get(g)).or(caps.get(0)),
            };
            let Some(secret) = group else { continue };
            let secret = widen(line, secret.start(), secret.end());
            if !self.is_secret(rule, &line[secret.start..secret.end], &line[whole.start..whole.end], line) {
                continue;
            }
            let span = if rule.mask_match { whole } else { secret };
            spans.push((Span { start: offset + span.start, end: offset + span.end }, i));
        }
    }
}

/// Windows of at most [`WINDOW_BYTES`] (on character boundaries) that cover `text[start..end]`,
/// each overlapping the one before by [`WINDOW_OVERLAP`].
fn windows(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = Some(start);
    std::iter::from_fn(move || {
        let from = at?;
        let mut to = (from + WINDOW_BYTES).min(end);
        while !text.is_char_boundary(to) {
            to += 1;
        }
        at = (to < end).then(|| {
            let mut next = to - WINDOW_OVERLAP;
            while !text.is_char_boundary(next) {
                next -= 1;
            }
            next
        });
        Some((from, to))
    })
}

/// The byte span `start..end` of `text`, widened to character boundaries (a byte-level match
/// may end inside a multi-byte character).
fn widen(text: &str, mut start: usize, mut end: usize) -> Span {
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    Span { start, end }
}

/// Masks `spans` (merging overlaps), counting hits per rule.
fn apply(text: &str, spans: &mut [(Span, usize)], rules: &[Rule], hits: &mut Hits) -> String {
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut counts = vec![0u32; rules.len()];
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut open: Option<Span> = None;
    for (span, rule) in spans.iter() {
        counts[*rule] += 1;
        match &mut open {
            Some(o) if span.start <= o.end => o.end = o.end.max(span.end),
            _ => {
                if let Some(o) = open.take() {
                    out.push_str(&text[last..o.start]);
                    out.push_str(MASK);
                    last = o.end;
                }
                open = Some(*span);
            }
        }
    }
    if let Some(o) = open {
        out.push_str(&text[last..o.start]);
        out.push_str(MASK);
        last = o.end;
    }
    out.push_str(&text[last..]);
    for (rule, count) in rules.iter().zip(counts).filter(|(_, c)| *c > 0) {
        *hits.entry(rule.id.clone()).or_default() += count;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_load_without_errors() {
        let (engine, errors) = Engine::with_files(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(engine.rule_count() > 40);
        // Loading compiled nothing; every default regex compiles when asked.
        assert!(engine.rules.iter().all(|r| r.compiled.get().is_none()) && engine.keywords.get().is_none());
        assert_eq!(engine.check(), Vec::new());
    }

    #[test]
    fn the_built_in_default_rules_are_the_rule_file_as_parsed() {
        let parsed: FileSpec = toml::from_str(DEFAULT_RULES).unwrap();
        assert_eq!(default_spec(), parsed);
        // The comparison covers every kind of field.
        let allowlists = || parsed.rules.iter().flat_map(|r| &r.allowlists).chain(&parsed.allowlists);
        assert!(
            parsed.rules.iter().any(|r| r.entropy.is_some()) && parsed.rules.iter().any(|r| r.secret_group.is_some())
        );
        assert!(allowlists().any(|a| a.regex_target.is_some()) && allowlists().any(|a| a.description.is_some()));
    }

    #[test]
    fn a_short_text_is_redacted_without_the_automaton_and_only_its_rules_compile() {
        let e = Engine::with_defaults();
        let out = e.redact("token ghp_0123456789abcdefghijABCDEFGHIJ012345 here", &[]);
        assert_eq!(out.text, "token <redacted> here");
        assert!(e.keywords.get().is_none(), "a short text needs no automaton");
        let compiled = e.rules.iter().filter(|r| r.compiled.get().is_some()).count();
        assert!(compiled * 5 < e.rule_count(), "only the rules its keywords name (and block rules): {compiled}");
        // A long text builds it, and finds the same.
        let long = format!("{}\ntoken ghp_0123456789abcdefghijABCDEFGHIJ012345 here", "x".repeat(SHORT_TEXT_BYTES));
        assert!(e.redact(&long, &[]).text.ends_with("token <redacted> here"));
        assert!(e.keywords.get().is_some());
    }

    #[test]
    fn a_teams_global_allowlist_never_reaches_the_default_rules() {
        let secret = "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789abcd";
        let rule = "[[rules]]\nid = \"team-ticket\"\nregex = 'TCK-[0-9]{6}'\nkeywords = [\"tck-\"]\n";
        for allow in [
            "[[allowlists]]\nstopwords = ['']\n",
            "[[allowlists]]\nregexes = ['.']\n",
            "[allowlist]\nregexes = ['.*']\nregexTarget = 'line'\n",
        ] {
            let team = format!("{allow}\n{rule}");
            let (e, errors) = Engine::with_files(&[("team.toml", &team)]);
            assert!(errors.is_empty(), "{errors:?}");
            let out = e.redact(&format!("{secret}\nticket TCK-123456"), &[]).text;
            assert!(!out.contains("sk-proj"), "{allow}: {out}");
            // The team's own rule is exempted by the team's own allowlist.
            assert!(out.contains("TCK-123456"), "{allow}: {out}");
        }
    }

    #[test]
    fn a_team_narrows_a_default_rule_only_by_naming_it() {
        let line = "BUILD_TOKEN=ci0build0fixture0token0value";
        let (plain, _) = Engine::with_files(&[]);
        assert!(plain.redact(line, &[]).changed);
        for file in [
            "[[allowlists]]\ntargetRules = [\"secret-assignment\"]\nregexes = ['^ci0build0fixture']\n",
            "[[rules]]\nid = \"secret-assignment\"\n[[rules.allowlists]]\nstopwords = [\"fixture0token\"]\n",
        ] {
            let (e, errors) = Engine::with_files(&[("team.toml", file)]);
            assert_eq!(errors, Vec::new(), "{file}");
            assert_eq!(e.redact(line, &[]).text, line, "{file}");
            assert_eq!(e.narrowed_defaults(), ["secret-assignment".to_owned()]);
            // Only that rule: the same value under another rule is still masked.
            assert!(e.redact("Authorization: Bearer ci0build0fixture0token0value", &[]).changed, "{file}");
        }
        let (e, errors) =
            Engine::with_files(&[("team.toml", "[[allowlists]]\ntargetRules = [\"no-such-rule\"]\nregexes = ['x']\n")]);
        assert_eq!((errors.len(), errors[0].rule_id.as_str()), (1, "no-such-rule"), "{errors:?}");
        assert!(e.narrowed_defaults().is_empty());
    }

    #[test]
    fn many_keywords_load_in_linear_time() {
        let rules: String = (0..MAX_RULES_PER_FILE)
            .map(|i| {
                format!("[[rules]]\nid = \"r{i}\"\nregex = 'K{i}-[0-9]{{4}}'\nkeywords = [\"k{i}-\", \"shared\"]\n")
            })
            .collect();
        let started = std::time::Instant::now();
        let (e, errors) = Engine::with_files(&[("many.toml", &rules)]);
        assert!(errors.is_empty());
        let shared = e.keyword_list.iter().position(|k| k == "shared").unwrap();
        assert_eq!(e.keyword_rules[shared].len(), MAX_RULES_PER_FILE);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    /// Two full team files (about 400 rules and 12,000 keywords each).
    fn two_full_team_files() -> Vec<(String, String)> {
        (0..2)
            .map(|f| {
                let mut text = String::new();
                let mut i = 0;
                while text.len() < MAX_RULE_FILE_BYTES - 1200 {
                    let keywords: Vec<String> = (0..30).map(|k| format!("\"kw{f}x{i}y{k}abcdef\"")).collect();
                    text.push_str(&format!(
                        "[[rules]]\nid = \"r{f}-{i}\"\nregex = '(?i)kw{f}x{i}[a-z0-9]{{0,9}}\\s*=\\s*([a-z0-9]{{16,64}})'\nkeywords = [{}]\n",
                        keywords.join(",")
                    ));
                    i += 1;
                }
                (format!("f{f}.toml"), text)
            })
            .collect()
    }

    #[test]
    fn two_full_team_files_load_into_a_small_automaton_and_a_third_is_left_out() {
        let files = two_full_team_files();
        let named: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let (e, errors) = Engine::with_files(&named);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(e.keyword_list.len() > 2 * DFA_KEYWORDS, "{}", e.keyword_list.len());
        let text = format!("{}\nset kw1x7y3abcdef = abcdefghijklmnop1234\n", "plain words\n".repeat(400));
        assert!(e.redact(&text, &[]).text.ends_with("set kw1x7y3abcdef = <redacted>\n"));
        // A full DFA over these keywords takes well over 100 MiB.
        let automaton = e.automaton().unwrap();
        assert_eq!(automaton.kind(), AhoCorasickKind::ContiguousNFA);
        assert!(automaton.memory_usage() < 16 << 20, "{}", automaton.memory_usage());
        // Only the rule the text named compiled.
        assert_eq!(e.rules.iter().filter(|r| !r.default && r.compiled.get().is_some()).count(), 1);

        // A third such file would pass 1,000 team rules: it is left out whole.
        let (e3, errors) = Engine::with_files(&[named[0], named[1], ("third.toml", named[0].1)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].file == "third.toml" && errors[0].message.contains("team rules"), "{errors:?}");
        assert_eq!(e3.rule_count(), e.rule_count());
        let many = format!("[[rules]]\nid = \"wide\"\nregex = 'x'\nkeywords = [{}]\n", vec!["'k'"; 33].join(","));
        let (_, errors) = Engine::with_files(&[("wide.toml", &many)]);
        assert!(errors.len() == 1 && errors[0].message.contains("keywords"), "{errors:?}");
    }

    #[test]
    fn a_bad_rule_is_reported_by_id_and_the_others_apply() {
        let file = "[[rules]]\nid = \"team-broken\"\nregex = '''(unclosed'''\nkeywords = [\"x\"]\n\n[[rules]]\nid = \"team-ticket\"\nregex = '''TCK-[0-9]{6}'''\nkeywords = [\"tck-\"]\n";
        let (engine, errors) = Engine::with_files(&[("team.toml", file)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].file.as_str(), errors[0].rule_id.as_str()), ("team.toml", "team-broken"));
        let out = engine.redact("ticket TCK-123456 filed", &[]);
        assert_eq!(out.text, "ticket <redacted> filed");
        assert_eq!(out.hits.get("team-ticket"), Some(&1));
    }

    #[test]
    fn blocks_run_from_begin_to_end_and_a_window_inside_one_is_masked_to_its_end() {
        let e = Engine::with_defaults();
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGR0g=\n-----END OPENSSH PRIVATE KEY-----";
        let out = e.redact(&format!("before\n{key}\nafter"), &[]).text;
        assert_eq!(out, "before\n<redacted>\nafter");
        let inside = "QUJDREVGR0g=\n-----END OPENSSH PRIVATE KEY-----\nafter";
        assert_eq!(e.redact(inside, &[]).text, "<redacted>\nafter");
        let open = "x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA";
        assert_eq!(e.redact(open, &[]).text, "x\n<redacted>");
    }

    #[test]
    fn a_block_rule_with_keywords_runs_only_on_a_text_that_holds_one() {
        let e = Engine::with_defaults();
        let block = |id: &str| e.rules.iter().find(|r| r.id == id).unwrap();
        e.redact("an innocent line\nand another", &[]);
        let compiled: Vec<&str> =
            e.rules.iter().filter(|r| r.compiled.get().is_some()).map(|r| r.id.as_str()).collect();
        assert!(compiled.is_empty(), "innocent text compiled {compiled:?}");
        assert!(block("private-key").block_end_regex.get().is_none());
        // A rule without keywords skips a text shorter than its shortest match, uncompiled.
        let short = "a status line, model gpt-5.4-mini, 3 tasks";
        assert!(short.len() < block("discord-bot-token").min_len());
        e.redact(short, &[]);
        assert!(block("discord-bot-token").compiled.get().is_none());
        // Its keyword, in another case and on a line of its own, runs it.
        let out = e.redact("x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----", &[]).text;
        assert_eq!(out, "x\n<redacted>");
        assert!(block("private-key").block_end_regex.get().is_some());
        assert!(block("putty-private-key").block_end_regex.get().is_none());
        let long = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
        assert_eq!(e.redact(&format!("x {long} y"), &[]).text, "x <redacted> y");
        // A team's block rule without keywords runs on every text, as before.
        let team = "[[rules]]\nid = \"t\"\nregex = '''BEGIN T'''\nblockEnd = '''END T'''\n";
        let (e, errors) = Engine::with_files(&[("team.toml", team)]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(e.redact("a\nBEGIN T\nsecret\nEND T\nb", &[]).text, "a\n<redacted>\nb");
    }

    #[test]
    fn a_secret_that_is_the_whole_match_is_found_without_captures() {
        assert!(secret_is_whole_match(r"\b(ghp_[A-Za-z0-9]{36})\b", None));
        assert!(secret_is_whole_match(r"AGE-SECRET-KEY-1[A-Z0-9]{58}", None));
        assert!(!secret_is_whole_match(r"(?i)\bbearer\s+([A-Za-z0-9]{16,})", None));
        assert!(!secret_is_whole_match(r"\b(a)(b)\b", None));
        assert!(!secret_is_whole_match(r"\b(ab)\b", Some(2)));
        let e = Engine::with_defaults();
        assert!(e.rules.iter().filter(|r| r.compiled().is_some_and(|c| c.secret_is_match)).count() > 30);
    }

    #[test]
    fn a_long_line_is_searched_in_overlapping_windows_and_no_secret_falls_between_them() {
        let text = "x".repeat(3 * WINDOW_BYTES + 17);
        let all: Vec<(usize, usize)> = windows(&text, 5, text.len()).collect();
        assert_eq!((all[0].0, all.last().unwrap().1), (5, text.len()));
        assert!(all.iter().all(|(a, b)| b - a <= WINDOW_BYTES), "{all:?}");
        assert!(all.windows(2).all(|w| w[0].1 - w[1].0 == WINDOW_OVERLAP), "{all:?}");
        let e = Engine::with_defaults();
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        for at in [0, WINDOW_BYTES - 20, WINDOW_BYTES - 1, 2 * WINDOW_BYTES - WINDOW_OVERLAP - 3, 3 * WINDOW_BYTES] {
            let line = format!("{} {token} {}", "a ".repeat(at / 2), "b ".repeat(WINDOW_BYTES));
            let out = e.redact(&line, &[]).text;
            assert!(!out.contains("ghp_"), "a token at {at} was kept");
            assert_eq!(out.matches(MASK).count(), 1, "at {at}");
        }
    }

    #[test]
    fn redaction_stops_when_told_and_returns_nothing() {
        let e = Engine::with_defaults();
        let text = format!("OPENAI_API_KEY=sk-proj-{}\n{}", "Qw8vN2mL5kJ7hG3fD9sA1zX4".repeat(2), "word ".repeat(5000));
        assert!(e.redact_until(&text, &[], &|| true).is_none());
        let checks = std::cell::Cell::new(0);
        let stop_later = || {
            checks.set(checks.get() + 1);
            checks.get() > 3
        };
        assert!(e.redact_until(&text, &[], &stop_later).is_none());
        assert!(!e.redact_until(&text, &[], &|| false).unwrap().text.contains("Qw8vN2"));
    }

    #[test]
    fn check_refuses_a_team_rule_that_is_too_slow_or_too_large_and_never_probes_ours() {
        let slow = "[[rules]]\nid = \"team-slow\"\nregex = '''(\\w{1,600}\\s?){1,3}Z'''\n";
        let large = "[[rules]]\nid = \"team-large\"\nregex = '''(\\w{1,1000}\\s?){1,3}Z'''\n";
        let fine = "[[rules]]\nid = \"team-fine\"\nregex = '''(?:\\w{1,30}[ ]?){1,10}(Z)'''\nkeywords = [\"z\"]\n";
        let (e, errors) = Engine::with_files(&[("slow.toml", slow), ("large.toml", large), ("fine.toml", fine)]);
        assert!(errors.is_empty(), "{errors:?}");
        let found: Vec<(String, String)> = e.check().into_iter().map(|r| (r.rule_id, r.message)).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|(id, m)| id == "team-slow" && m.contains("too slow")), "{found:?}");
        assert!(found.iter().any(|(id, m)| id == "team-large" && m.contains("too large")), "{found:?}");
        assert!(Engine::with_defaults().check().is_empty());
    }

    #[test]
    fn entropy_is_in_bits_per_character() {
        assert!(entropy("aaaa") < 0.01);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
