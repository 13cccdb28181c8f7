//! Error codes: the `error_code` word of every failure, written once.
//!
//! A caller branches on these words (retry on `agent_lock_busy`, claim again on
//! `stale_lease_generation`), so they are a wire enum like every other fixed vocabulary.

crate::wire::wire_enum!(
    /// The `error_code` of a failure.
    ErrorCode {
        AgentExited => "agent_exited",
        AgentHomeConfigInvalid => "agent_home_config_invalid",
        AgentHomeInUse => "agent_home_in_use",
        AgentHomeUnsafe => "agent_home_unsafe",
        AgentHomeUnwritable => "agent_home_unwritable",
        AgentLeaseHeldByOtherClient => "agent_lease_held_by_other_client",
        AgentLockBusy => "agent_lock_busy",
        AgentNotReady => "agent_not_ready",
        AgentNotRunning => "agent_not_running",
        AlreadyResumed => "already_resumed",
        AssignmentRefused => "assignment_refused",
        ConfigInvalid => "config_invalid",
        CouldNotReadAgentLease => "could_not_read_agent_lease",
        CouldNotReadAssignmentLog => "could_not_read_assignment_log",
        CouldNotUpdateWatchdogMetadata => "could_not_update_watchdog_metadata",
        CouldNotWriteAssignmentLog => "could_not_write_assignment_log",
        CwdNotDirectory => "cwd_not_directory",
        DialogAnswerNotFound => "dialog_answer_not_found",
        DialogChoiceNotAllowed => "dialog_choice_not_allowed",
        DialogTrustNotCwd => "dialog_trust_not_cwd",
        ExtensionConfigError => "extension_config_error",
        ExtensionDisabled => "extension_disabled",
        ExtensionForbiddenImport => "extension_forbidden_import",
        ExtensionLoadFailed => "extension_load_failed",
        ExtensionMemoryLimit => "extension_memory_limit",
        ExtensionOutputTooLarge => "extension_output_too_large",
        ExtensionRedactsLessThanTheFloor => "extension_redacts_less_than_the_floor",
        ExtensionRefused => "extension_refused",
        ExtensionTimeout => "extension_timeout",
        ExtensionTrap => "extension_trap",
        ExtensionUnsupportedVersion => "extension_unsupported_version",
        ExtensionVectorsFailed => "extension_vectors_failed",
        ExtensionWrongWorld => "extension_wrong_world",
        ForceRequiresStoppedAgent => "force_requires_stopped_agent",
        GitWorktreeFailed => "git_worktree_failed",
        HostBusy => "host_busy",
        HostKeyUnknown => "host_key_unknown",
        HostUnreachable => "host_unreachable",
        InstallFailed => "install_failed",
        InternalError => "internal_error",
        InvalidArguments => "invalid_arguments",
        LeaseGenerationExhausted => "lease_generation_exhausted",
        NoDialog => "no_dialog",
        NotAGitRepository => "not_a_git_repository",
        NothingToResume => "nothing_to_resume",
        PluginMarketplaceFailed => "plugin_marketplace_failed",
        RedactionFailed => "redaction_failed",
        RedactionWithheld => "redaction_withheld",
        ResumeCwdChanged => "resume_cwd_changed",
        ResumeNotSupported => "resume_not_supported",
        RuleFileInvalid => "rule_file_invalid",
        RunnerNotConfigured => "runner_not_configured",
        RunnerNotExecutable => "runner_not_executable",
        SendNotTyped => "send_not_typed",
        ServerBusy => "server_busy",
        StaleLeaseGeneration => "stale_lease_generation",
        StateError => "state_error",
        TmuxError => "tmux_error",
        TmuxNotInstalled => "tmux_not_installed",
        UninstallFailed => "uninstall_failed",
        WaitingOnDialog => "waiting_on_dialog",
        WorktreeRefused => "worktree_refused",
    }
);

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
