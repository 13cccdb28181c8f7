//! A failure as domain data: its [`ErrorCode`], a message masked by the default rules when made,
//! whether a retry may help, and its allowlisted details (words, numbers, a lease). The domain
//! returns it; `tools/` renders it (the lease as the caller sees it) and passes the message
//! through the whole redaction pipeline on the way out.

use crate::codes::ErrorCode;
use crate::lease::Lease;
use crate::text::safe_error_text;

/// One detail of a failure: never free text from a worker, only what the failing code chose.
#[derive(Debug, Clone)]
pub enum Detail {
    Text(String),
    Int(i64),
    Bool(bool),
    Null,
    Ints(Vec<i64>),
    /// A lease record, shown at the edge as the calling client sees it (never the holder).
    Lease {
        agent: String,
        lease: Box<Lease>,
    },
}

impl From<&str> for Detail {
    fn from(s: &str) -> Self {
        Detail::Text(s.to_owned())
    }
}
impl From<String> for Detail {
    fn from(s: String) -> Self {
        Detail::Text(s)
    }
}
impl From<&String> for Detail {
    fn from(s: &String) -> Self {
        Detail::Text(s.clone())
    }
}
impl From<bool> for Detail {
    fn from(b: bool) -> Self {
        Detail::Bool(b)
    }
}
macro_rules! int_detail {
    ($($t:ty),*) => {$(
        impl From<$t> for Detail {
            fn from(n: $t) -> Self {
                Detail::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_detail!(i64, u64, u32, usize, i32);
impl From<Vec<usize>> for Detail {
    fn from(v: Vec<usize>) -> Self {
        Detail::Ints(v.into_iter().map(|n| i64::try_from(n).unwrap_or(i64::MAX)).collect())
    }
}
impl<T: Into<Detail>> From<Option<T>> for Detail {
    fn from(v: Option<T>) -> Self {
        v.map_or(Detail::Null, Into::into)
    }
}

/// A failure, returned as `{error_code, message, retryable, …details}`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
    /// In the order they were added; a later key replaces an earlier one.
    pub details: Vec<(&'static str, Detail)>,
}

impl Fault {
    /// The message is masked by the default rules here; the edge passes it through the whole
    /// pipeline (the active extension, the team's rules).
    pub fn new(code: ErrorCode, message: impl AsRef<str>) -> Fault {
        Fault { code, message: safe_error_text(message.as_ref()), retryable: false, details: Vec::new() }
    }

    pub fn invalid_arguments(message: impl AsRef<str>) -> Fault {
        Fault::new(ErrorCode::InvalidArguments, message)
    }

    pub fn retryable(mut self) -> Fault {
        self.retryable = true;
        self
    }

    pub fn with(mut self, key: &'static str, value: impl Into<Detail>) -> Fault {
        self.details.retain(|(k, _)| *k != key);
        self.details.push((key, value.into()));
        self
    }

    /// The `lease` detail.
    pub fn with_lease(self, agent: &str, lease: impl Into<Box<Lease>>) -> Fault {
        self.with("lease", Detail::Lease { agent: agent.to_owned(), lease: lease.into() })
    }

    /// The busy error: retry metadata, never the holder's identity.
    pub fn lease_busy(agent: &str, lease: &Lease) -> Fault {
        let remaining = lease.seconds_remaining();
        Fault::new(ErrorCode::AgentLeaseHeldByOtherClient, format!("agent {agent} is leased by another MCP client"))
            .retryable()
            .with("agent", agent)
            .with("retry_after_seconds", remaining.clamp(1, 30))
            .with("lease_seconds_remaining", remaining)
            .with_lease(agent, lease.clone())
    }

    /// A lease refusal as the tool error callers see: retry metadata, never the holder's identity.
    pub fn lease_refusal(agent: &str, refusal: crate::lease::LeaseRefusal) -> Fault {
        match refusal {
            crate::lease::LeaseRefusal::HeldByOther(lease) => Fault::lease_busy(agent, &lease),
            crate::lease::LeaseRefusal::Stale { expected, current } => Fault::new(ErrorCode::StaleLeaseGeneration,
                format!("lease generation {expected} of agent {agent} is no longer held by this client; claim the agent again"),
            )
            .with("agent", agent)
            .with("expected_generation", expected)
            .with_lease(agent, current),
            crate::lease::LeaseRefusal::Unreadable => Fault::new(ErrorCode::CouldNotReadAgentLease, format!("the lease record of agent {agent} is unreadable")),
            crate::lease::LeaseRefusal::ForceNotAllowed(lease) => Fault::new(ErrorCode::ForceRequiresStoppedAgent,
                format!("agent {agent} is running and its lease is active; force is allowed only when the agent is stopped or the lease expired"),
            )
            .with("agent", agent)
            .with_lease(agent, lease.clone()),
            crate::lease::LeaseRefusal::Io(e) => e.into(),
            crate::lease::LeaseRefusal::Exhausted => Fault::new(ErrorCode::LeaseGenerationExhausted,
                format!("the lease generation of agent {agent} cannot grow any more; the next server start or watchdog pass repairs it"),
            )
            .with("agent", agent),
        }
    }

    /// A tmux failure: `tmux_not_installed`, or a retryable `tmux_error`.
    pub fn tmux(what: &str, agent: Option<&str>, e: crate::tmux::TmuxError) -> Fault {
        match (e, agent) {
            (e @ crate::tmux::TmuxError::NotInstalled, _) => Fault::new(ErrorCode::TmuxNotInstalled, e.to_string()),
            // A host that does not answer may answer again: retry later, or elsewhere.
            (e @ crate::tmux::TmuxError::Unreachable(_), _) => {
                Fault::new(ErrorCode::HostUnreachable, e.to_string()).retryable().with("retry_after_seconds", 10u64)
            }
            (e @ crate::tmux::TmuxError::UnknownHostKey(_), _) => Fault::new(ErrorCode::HostKeyUnknown, e.to_string()),
            (e, Some(agent)) => {
                Fault::new(ErrorCode::TmuxError, format!("tmux {what} failed for agent {agent}: {e}")).retryable()
            }
            (e, None) => Fault::new(ErrorCode::TmuxError, format!("tmux {what} failed: {e}")).retryable(),
        }
    }
}

impl From<crate::fsafe::FsError> for Fault {
    fn from(e: crate::fsafe::FsError) -> Self {
        if e == crate::fsafe::FsError::LockBusy {
            Fault::new(ErrorCode::AgentLockBusy, e.to_string()).retryable().with("retry_after_seconds", 1u64)
        } else {
            Fault::new(ErrorCode::StateError, e.to_string())
        }
    }
}

impl From<crate::state::StateError> for Fault {
    fn from(e: crate::state::StateError) -> Self {
        match e {
            crate::state::StateError::Fs(fs) => fs.into(),
            other => Fault::new(ErrorCode::StateError, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_masks_its_message_and_keeps_one_value_per_key() {
        let f = Fault::new(ErrorCode::StateError, "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 failed")
            .with("agent", "a")
            .with("agent", "b")
            .with("retry_after_seconds", 5u64);
        assert!(!f.message.contains("ghp_abcdef"), "{}", f.message);
        assert_eq!(f.details.len(), 2);
        assert!(matches!(&f.details[0], ("agent", Detail::Text(t)) if t == "b"));
        assert!(matches!(Detail::from(None::<&str>), Detail::Null));
    }
}
