//! The rule-file format as read (gitleaks' keys, camelCase). Shared with `build.rs`, which
//! reads our default rule file at build time into code: a process that redacts never parses it.

use serde::Deserialize;

#[derive(Debug, Deserialize, Default, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AllowlistSpec {
    #[serde(default)]
    pub(crate) regexes: Vec<String>,
    #[serde(default)]
    pub(crate) regex_target: Option<String>,
    #[serde(default)]
    pub(crate) stopwords: Vec<String>,
    #[serde(default)]
    pub(crate) condition: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// A global allowlist that applies to these rules only (gitleaks 8.25): the one way a
    /// team's file narrows a default rule, naming it.
    #[serde(default)]
    pub(crate) target_rules: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleSpec {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) regex: Option<String>,
    #[serde(default)]
    pub(crate) secret_group: Option<usize>,
    #[serde(default)]
    pub(crate) keywords: Vec<String>,
    #[serde(default)]
    pub(crate) entropy: Option<f64>,
    #[serde(default)]
    pub(crate) allowlists: Vec<AllowlistSpec>,
    /// The older single-table form.
    #[serde(default)]
    pub(crate) allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    pub(crate) block_end: Option<String>,
    #[serde(default)]
    pub(crate) mask: Option<String>,
}

#[derive(Debug, Deserialize, Default, PartialEq)]
pub(crate) struct FileSpec {
    #[serde(default)]
    pub(crate) rules: Vec<RuleSpec>,
    #[serde(default)]
    pub(crate) allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    pub(crate) allowlists: Vec<AllowlistSpec>,
}
