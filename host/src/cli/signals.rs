//! The termination signals (SIGINT, SIGTERM, SIGHUP) of a long-running CLI command, taken on one
//! dedicated thread so that the command can clean up (or restore the terminal) before it exits.

/// SIGINT, SIGTERM and SIGHUP.
pub fn termination_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset only write the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Blocks the termination signals on this thread (and the threads it starts later) and runs
/// `then` with the first one that arrives, on a thread of its own. Call it before any other
/// thread starts: a thread started earlier would still die of the signal.
pub fn on_termination(then: impl FnOnce(libc::c_int) + Send + 'static) {
    let set = termination_signals();
    // SAFETY: changes this thread's signal mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    std::thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: waits for one of the blocked signals.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            then(sig);
        }
    });
}
