//! The wire words of the worker-session results.

use crate::wire::wire_enum;

wire_enum!(
    /// `agent_start`'s status.
    StartStatus { Started => "started", AlreadyRunning => "already_running" }
);

wire_enum!(
    /// What a start did about the folder trust in a managed home.
    TrustState { Written => "written", Present => "present", NotManaged => "not_managed", Disabled => "disabled" }
);

wire_enum!(
    /// How a worker's memory cap was applied (`state::meta::MemoryCap`, or none configured).
    MemoryCapState { SystemdScope => "systemd_scope", Unavailable => "unavailable", NotConfigured => "not_configured" }
);

wire_enum!(
    /// `agent_stop`'s status.
    StopStatus { Stopped => "stopped", NotRunning => "not_running" }
);

wire_enum!(
    /// Whether an assignment recorded a git baseline for the scope audit.
    AuditBaseline { Recorded => "recorded", NotAGitRepo => "not_a_git_repo", Failed => "failed" }
);

wire_enum!(
    /// `agent_scope_audit`'s status.
    AuditStatus {
        Clean => "clean",
        OutOfScopeChanges => "out_of_scope_changes",
        NoAssignment => "no_assignment",
        NoBaseline => "no_baseline",
        GitFailed => "git_failed",
    }
);

wire_enum!(
    /// Why a wait ended for one agent.
    WaitStatus {
        ActivityObserved => "activity_observed",
        Idle => "idle",
        Available => "available",
        NotRunning => "not_running",
        Exited => "exited",
        BlockedByLimit => "blocked_by_limit",
        Dialog => "dialog",
        Timeout => "timeout",
    }
);
