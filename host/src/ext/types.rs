//! Host-owned extension types: the only ones the rest of the host sees.
//!
//! Each binding version converts into these (older versions upward, filling what they lack), so
//! tools never name a WIT version. Enums carry the one `as_str` their JSON uses.

use super::wit::{since_v1_0 as v1_0, since_v1_1 as v1_1};

/// What an extension says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
}

/// Same-named variants of two enums, converted one to one.
macro_rules! enum_from {
    ($from:ty => $to:ty { $($v:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(x: $from) -> $to {
                match x { $(<$from>::$v => <$to>::$v),* }
            }
        }
    };
}

/// Host enums with stable wire names.
use crate::wire::wire_enum as named_enum;

pub mod limits {
    use super::*;

    /// The rule every shipped classifier reports when the screen shows a limit whose reset
    /// time has passed (the guest SDK's `classify` sets it).
    pub const RESET_PASSED_RULE: &str = "limit-reset-passed";

    named_enum!(
        /// What the agent's terminal shows.
        TuiState { Idle => "idle", Working => "working", Dialog => "dialog", Popup => "popup", Exited => "exited", NotRunning => "not_running", Unknown => "unknown" }
    );
    named_enum!(Severity { None => "none", Warning => "warning", Limited => "limited" });
    named_enum!(LimitKind {
        Usage => "usage", Rate => "rate", Credits => "credits", Quota => "quota", Plan => "plan",
        Capacity => "capacity", Context => "context", Network => "network", None => "none",
    });
    named_enum!(LimitWindow { FiveHour => "5h", Daily => "daily", Weekly => "weekly", Monthly => "monthly", Unknown => "unknown", None => "none" });
    named_enum!(ModelSource {
        LimitText => "limit_evidence_text", Assignment => "assignment_metadata", Session => "session_metadata",
        StatusText => "status_text", Unknown => "unknown",
    });
    named_enum!(
        /// The dialog that holds an agent's screen.
        DialogKind { None => "none", Trust => "trust", SwitchModel => "switch_model", LimitIncrease => "limit_increase", SignIn => "sign_in", Other => "other" }
    );

    #[derive(Debug, Clone, PartialEq)]
    pub struct ClassifyInput {
        pub pane: String,
        pub since_last_send: String,
        pub last_sent: Option<String>,
        pub pane_width: u32,
        pub running: bool,
        pub profile: String,
        pub session_model: Option<String>,
        pub assignment_model: Option<String>,
        pub now_epoch_seconds: u64,
        pub utc_offset_seconds: i32,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct ClassifyOutput {
        pub severity: Severity,
        pub kind: LimitKind,
        pub window: LimitWindow,
        pub reset_at_epoch_seconds: Option<u64>,
        pub model_bucket: Option<String>,
        pub model: Option<String>,
        pub model_source: ModelSource,
        pub used_percent: Option<u8>,
        pub tui: TuiState,
        pub blocks_input: bool,
        pub dialog: DialogKind,
        pub rule: String,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Vector {
        pub name: String,
        pub input: ClassifyInput,
        pub expected: ClassifyOutput,
    }

    macro_rules! shared_conversions {
        ($m:ident) => {
            enum_from!($m::limits::TuiState => TuiState { Idle, Working, Dialog, Popup, Exited, NotRunning, Unknown });
            enum_from!($m::limits::Severity => Severity { None, Warning, Limited });
            enum_from!($m::limits::LimitKind => LimitKind { Usage, Rate, Credits, Quota, Plan, Capacity, Context, Network, None });
            enum_from!($m::limits::LimitWindow => LimitWindow { FiveHour, Daily, Weekly, Monthly, Unknown, None });
            enum_from!($m::limits::ModelSource => ModelSource { LimitText, Assignment, Session, StatusText, Unknown });

            impl From<&ClassifyInput> for $m::limits::ClassifyInput {
                fn from(i: &ClassifyInput) -> Self {
                    $m::limits::ClassifyInput {
                        pane: i.pane.clone(),
                        since_last_send: i.since_last_send.clone(),
                        last_sent: i.last_sent.clone(),
                        pane_width: i.pane_width,
                        running: i.running,
                        profile: i.profile.clone(),
                        session_model: i.session_model.clone(),
                        assignment_model: i.assignment_model.clone(),
                        now_epoch_seconds: i.now_epoch_seconds,
                        utc_offset_seconds: i.utc_offset_seconds,
                    }
                }
            }

            impl From<$m::limits::Vector> for Vector {
                fn from(v: $m::limits::Vector) -> Self {
                    Vector { name: v.name, input: v.input.into(), expected: v.expected.into() }
                }
            }

            impl From<$m::limits::ClassifyInput> for ClassifyInput {
                fn from(i: $m::limits::ClassifyInput) -> Self {
                    ClassifyInput {
                        pane: i.pane,
                        since_last_send: i.since_last_send,
                        last_sent: i.last_sent,
                        pane_width: i.pane_width,
                        running: i.running,
                        profile: i.profile,
                        session_model: i.session_model,
                        assignment_model: i.assignment_model,
                        now_epoch_seconds: i.now_epoch_seconds,
                        utc_offset_seconds: i.utc_offset_seconds,
                    }
                }
            }
        };
    }
    shared_conversions!(v1_0);
    shared_conversions!(v1_1);
    enum_from!(v1_1::limits::DialogKind => DialogKind { None, Trust, SwitchModel, LimitIncrease, SignIn, Other });

    /// 1.0.0 knows no dialog kinds: an open dialog or popup is `other`.
    impl From<v1_0::limits::ClassifyOutput> for ClassifyOutput {
        fn from(o: v1_0::limits::ClassifyOutput) -> Self {
            let tui: TuiState = o.tui.into();
            let dialog =
                if matches!(tui, TuiState::Dialog | TuiState::Popup) { DialogKind::Other } else { DialogKind::None };
            ClassifyOutput {
                severity: o.severity.into(),
                kind: o.kind.into(),
                window: o.window.into(),
                reset_at_epoch_seconds: o.reset_at_epoch_seconds,
                model_bucket: o.model_bucket,
                model: o.model,
                model_source: o.model_source.into(),
                used_percent: o.used_percent,
                tui,
                blocks_input: o.blocks_input,
                dialog,
                rule: o.rule,
            }
        }
    }

    impl From<v1_1::limits::ClassifyOutput> for ClassifyOutput {
        fn from(o: v1_1::limits::ClassifyOutput) -> Self {
            ClassifyOutput {
                severity: o.severity.into(),
                kind: o.kind.into(),
                window: o.window.into(),
                reset_at_epoch_seconds: o.reset_at_epoch_seconds,
                model_bucket: o.model_bucket,
                model: o.model,
                model_source: o.model_source.into(),
                used_percent: o.used_percent,
                tui: o.tui.into(),
                blocks_input: o.blocks_input,
                dialog: o.dialog.into(),
                rule: o.rule,
            }
        }
    }
}

pub mod redaction {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RuleHit {
        pub rule: String,
        pub count: u32,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RedactOutput {
        pub text: String,
        pub changed: bool,
        pub hits: Vec<RuleHit>,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Vector {
        pub name: String,
        pub input: String,
        pub expected: String,
    }

    /// A team rule file, as written.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RuleFile {
        pub name: String,
        pub text: String,
    }

    /// A rule that could not be used.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RuleError {
        pub file: String,
        pub rule_id: String,
        pub message: String,
    }

    macro_rules! redaction_conversions {
        ($m:ident) => {
            impl From<$m::redaction::RedactOutput> for RedactOutput {
                fn from(o: $m::redaction::RedactOutput) -> Self {
                    RedactOutput {
                        text: o.text,
                        changed: o.changed,
                        hits: o.hits.into_iter().map(|h| RuleHit { rule: h.rule, count: h.count }).collect(),
                    }
                }
            }

            impl From<$m::redaction::Vector> for Vector {
                fn from(v: $m::redaction::Vector) -> Self {
                    Vector { name: v.name, input: v.input, expected: v.expected }
                }
            }
        };
    }
    redaction_conversions!(v1_0);
    redaction_conversions!(v1_1);

    impl From<&RuleFile> for v1_1::redaction::RuleFile {
        fn from(f: &RuleFile) -> Self {
            v1_1::redaction::RuleFile { name: f.name.clone(), text: f.text.clone() }
        }
    }

    impl From<codex_master_redaction_engine::RuleError> for RuleError {
        fn from(e: codex_master_redaction_engine::RuleError) -> Self {
            RuleError { file: e.file, rule_id: e.rule_id, message: e.message }
        }
    }

    impl From<v1_1::redaction::RuleError> for RuleError {
        fn from(e: v1_1::redaction::RuleError) -> Self {
            RuleError { file: e.file, rule_id: e.rule_id, message: e.message }
        }
    }
}

pub mod doctor {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    pub enum FactValue {
        Flag(bool),
        Number(i64),
        Text(String),
        Missing,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Fact {
        pub name: String,
        pub value: FactValue,
    }

    named_enum!(CheckStatus { Ok => "ok", Warning => "warning", Failed => "failed", Error => "error" });
    named_enum!(CheckSeverity { Info => "info", Warning => "warning", Error => "error" });

    #[derive(Debug, Clone, PartialEq)]
    pub struct Check {
        pub name: String,
        pub ok: bool,
        pub status: CheckStatus,
        pub severity: CheckSeverity,
        pub message: String,
        pub details: Vec<Fact>,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Vector {
        pub name: String,
        pub facts: Vec<Fact>,
        pub expected_failed: Vec<String>,
    }

    enum_from!(v1_0::doctor::CheckStatus => CheckStatus { Ok, Warning, Failed, Error });

    impl From<v1_0::doctor::Severity> for CheckSeverity {
        fn from(s: v1_0::doctor::Severity) -> Self {
            match s {
                v1_0::doctor::Severity::Info => CheckSeverity::Info,
                v1_0::doctor::Severity::Warning => CheckSeverity::Warning,
                v1_0::doctor::Severity::Error => CheckSeverity::Error,
            }
        }
    }

    impl From<v1_0::doctor::Fact> for Fact {
        fn from(f: v1_0::doctor::Fact) -> Self {
            use v1_0::doctor::FactValue as V;
            let value = match f.value {
                V::Flag(b) => FactValue::Flag(b),
                V::Number(n) => FactValue::Number(n),
                V::Text(t) => FactValue::Text(t),
                V::Missing => FactValue::Missing,
            };
            Fact { name: f.name, value }
        }
    }

    impl From<&Fact> for v1_0::doctor::Fact {
        fn from(f: &Fact) -> Self {
            use v1_0::doctor::FactValue as V;
            let value = match &f.value {
                FactValue::Flag(b) => V::Flag(*b),
                FactValue::Number(n) => V::Number(*n),
                FactValue::Text(t) => V::Text(t.clone()),
                FactValue::Missing => V::Missing,
            };
            v1_0::doctor::Fact { name: f.name.clone(), value }
        }
    }

    impl From<v1_0::doctor::Check> for Check {
        fn from(c: v1_0::doctor::Check) -> Self {
            Check {
                name: c.name,
                ok: c.ok,
                status: c.status.into(),
                severity: c.severity.into(),
                message: c.message,
                details: c.details.into_iter().map(Fact::from).collect(),
            }
        }
    }

    impl From<v1_0::doctor::Vector> for Vector {
        fn from(v: v1_0::doctor::Vector) -> Self {
            Vector {
                name: v.name,
                facts: v.facts.into_iter().map(Fact::from).collect(),
                expected_failed: v.expected_failed,
            }
        }
    }
}

pub mod prompts {
    use super::*;

    named_enum!(Role { Explorer => "explorer", Worker => "worker" });

    #[derive(Debug, Clone, PartialEq)]
    pub struct Assignment {
        pub role: Role,
        pub assignment_id: String,
        pub display_name: String,
        pub model: String,
        pub skill: Option<String>,
        pub scope: Vec<String>,
        pub write_paths: Vec<String>,
        pub context: Vec<String>,
        pub forbidden: Vec<String>,
        pub task: String,
        pub allow_subagents: bool,
        pub locale: String,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct ReportRequest {
        pub assignment_id: Option<String>,
        pub locale: String,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Vector {
        pub name: String,
        pub input: Assignment,
        pub expected_lines: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct ContinueRequest {
        pub assignment_id: Option<String>,
        pub locale: String,
    }

    macro_rules! prompts_conversions {
        ($m:ident) => {
            enum_from!($m::prompts::Role => Role { Explorer, Worker });
            enum_from!(Role => $m::prompts::Role { Explorer, Worker });

            impl From<&Assignment> for $m::prompts::Assignment {
                fn from(a: &Assignment) -> Self {
                    $m::prompts::Assignment {
                        role: a.role.into(),
                        assignment_id: a.assignment_id.clone(),
                        display_name: a.display_name.clone(),
                        model: a.model.clone(),
                        skill: a.skill.clone(),
                        scope: a.scope.clone(),
                        write_paths: a.write_paths.clone(),
                        context: a.context.clone(),
                        forbidden: a.forbidden.clone(),
                        task: a.task.clone(),
                        allow_subagents: a.allow_subagents,
                        locale: a.locale.clone(),
                    }
                }
            }

            impl From<$m::prompts::Assignment> for Assignment {
                fn from(a: $m::prompts::Assignment) -> Self {
                    Assignment {
                        role: a.role.into(),
                        assignment_id: a.assignment_id,
                        display_name: a.display_name,
                        model: a.model,
                        skill: a.skill,
                        scope: a.scope,
                        write_paths: a.write_paths,
                        context: a.context,
                        forbidden: a.forbidden,
                        task: a.task,
                        allow_subagents: a.allow_subagents,
                        locale: a.locale,
                    }
                }
            }

            impl From<&ReportRequest> for $m::prompts::ReportRequest {
                fn from(r: &ReportRequest) -> Self {
                    $m::prompts::ReportRequest { assignment_id: r.assignment_id.clone(), locale: r.locale.clone() }
                }
            }

            impl From<$m::prompts::Vector> for Vector {
                fn from(v: $m::prompts::Vector) -> Self {
                    Vector { name: v.name, input: v.input.into(), expected_lines: v.expected_lines }
                }
            }
        };
    }
    prompts_conversions!(v1_0);
    prompts_conversions!(v1_1);

    impl From<&ContinueRequest> for v1_1::prompts::ContinueRequest {
        fn from(r: &ContinueRequest) -> Self {
            v1_1::prompts::ContinueRequest { assignment_id: r.assignment_id.clone(), locale: r.locale.clone() }
        }
    }
}
