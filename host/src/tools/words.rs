//! The words tools write that no domain type owns yet: each list once, as a wire enum, read by
//! the output schema (`out::words`) and by the code that writes the word.

pub use crate::session::words::{
    AuditBaseline, AuditStatus, MemoryCapState, StartStatus, StopStatus, TrustState, WaitStatus,
};
use crate::wire::wire_enum;

wire_enum!(
    /// An assignment's role, by kind (the seed's names are `Role::seed_name`).
    RoleKind { Explorer => "explorer", Worker => "worker" }
);

wire_enum!(
    /// The seed's role names, as the ledger stores them.
    SeedRole { Exploriererin => "exploriererin", Arbeitsbiene => "arbeitsbiene" }
);

wire_enum!(
    /// Which paths an assignment may write.
    WritePolicy { ReadOnly => "read_only", ExplicitPathsOnly => "explicit_paths_only" }
);

wire_enum!(
    /// Whether a lookup found its record.
    Found { Found => "found", None => "none" }
);

wire_enum!(
    /// How a delivery of an assignment went, as the ledger stores it.
    Delivery { Pending => "pending", Submitted => "submitted", Typed => "typed", Failed => "failed" }
);

wire_enum!(
    /// What happened to a git excerpt's text.
    ExcerptRedaction { Applied => "applied", None => "none", Failed => "failed", Withheld => "withheld" }
);

wire_enum!(
    /// What a tail's text went through.
    TailRedaction { Applied => "applied", None => "none" }
);

wire_enum!(
    /// Where a scope check's working directory came from.
    CwdSource { Set => "set", AgentCwd => "agent_cwd", ServerCwd => "server_cwd" }
);

wire_enum!(
    /// Whether an agent has a home we manage.
    HomeKind { ManagedAgentHome => "managed_agent_home", NotConfigured => "not_configured" }
);

wire_enum!(
    /// Whether a configured value is set (never the value itself).
    SetState { Set => "set", NotSet => "not_set" }
);

wire_enum!(
    /// Where an agent's runner comes from.
    RunnerState { Configured => "configured", NotConfigured => "not_configured", Builtin => "builtin" }
);

wire_enum!(
    /// Whether the kernel's pressure readings exist here.
    Pressure { Available => "available", Unavailable => "unavailable" }
);

wire_enum!(
    /// Whether admission would start one more worker now.
    AdmissionState { Open => "open", HostBusy => "host_busy" }
);

wire_enum!(
    /// Where an agent runs, and whether its host answered.
    HostState { Local => "local", Reachable => "reachable", Unreachable => "unreachable" }
);

impl HostState {
    pub fn of(place: &crate::tmux::Place, unreachable: bool) -> HostState {
        match (place.is_local(), unreachable) {
            (true, _) => HostState::Local,
            (false, false) => HostState::Reachable,
            (false, true) => HostState::Unreachable,
        }
    }
}
