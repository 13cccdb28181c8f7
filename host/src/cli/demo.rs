//! `codex-master-mcp demo`: the main job end to end, through the MCP server.
//!
//! It spawns this binary as an MCP server on pipes (as Codex would), with a private state dir,
//! config and tmux socket, and as the lead: starts agents `a` and `b`, sends each a task, waits
//! for both turns to end, shows their status and a redacted tail, and stops them. The workers are
//! the built-in scripted agent, or with `--profile codex` the real `codex` found on PATH.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{EXIT_FAILED, EXIT_OK};

/// Every answer from the server is awaited at most this long (a wait call adds its own timeout).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next_id: i64,
}

impl Server {
    fn spawn(exe: &Path, env: &[(&str, String)]) -> Result<Server, String> {
        let mut cmd = Command::new(exe);
        cmd.arg("serve").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The demo blocks the termination signals to handle them on one thread; the server (and
        // the tmux server and agents it starts) must get them as usual.
        unsafe {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls between fork and exec.
            cmd.pre_exec(|| {
                let set = super::signals::termination_signals();
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| format!("the MCP server could not start: {}", e.kind()))?;
        let stdin = child.stdin.take().ok_or("no server stdin")?;
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Server { child, stdin, lines, next_id: 1 })
    }

    fn request(&mut self, method: &str, params: Value, extra_wait: Duration) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}")
            .and_then(|()| self.stdin.flush())
            .map_err(|_| "the MCP server closed its input".to_owned())?;
        let deadline = Instant::now() + ANSWER_TIMEOUT + extra_wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|_| format!("no answer to {method} in time"))?;
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if v["id"] == json!(id) {
                if let Some(err) = v.get("error") {
                    return Err(format!("{method}: {}", err["message"].as_str().unwrap_or("error")));
                }
                return Ok(v["result"].clone());
            }
        }
    }

    fn call(&mut self, tool: &str, args: Value, extra_wait: Duration) -> Result<Value, String> {
        let result = self.request("tools/call", json!({"name": tool, "arguments": args}), extra_wait)?;
        let content = result["structuredContent"].clone();
        // A multi-agent result with a failed entry is an error too; its entries say why.
        if result["isError"] == json!(true) {
            let first_entry_error = content["results"].as_array().and_then(|rs| {
                rs.iter().find_map(|r| {
                    r["message"].as_str().map(|m| format!("agent {}: {m}", r["agent"].as_str().unwrap_or("?")))
                })
            });
            return Err(format!(
                "{tool}: {}",
                content["message"].as_str().map(str::to_owned).or(first_entry_error).unwrap_or_else(|| "failed".into())
            ));
        }
        Ok(content)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo's private world, removed at the end.
struct World {
    root: PathBuf,
    socket: String,
}

impl World {
    /// Kills the demo's tmux server (its agents, and the raw-log writers that read their panes,
    /// go with it) and removes the demo's directory.
    fn clean(root: &Path, socket: &str) {
        let _ = Command::new("tmux").arg("-S").arg(socket).arg("kill-server").stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(root);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        World::clean(&self.root, &self.socket);
    }
}

/// What a signal must clean up: the server's pid and the world.
type Cleanup = std::sync::Arc<std::sync::Mutex<Option<(u32, PathBuf, String)>>>;

/// A termination signal is being handled: the signal thread cleans up and exits with
/// 128 + the signal, and the demo's own failure (its server just killed) must not exit first.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Blocks the termination signals on this thread (and the threads it starts) and takes them on
/// a dedicated thread, which cleans up (the server, the tmux server, the agents, the raw-log
/// writers, the temp dir) and exits with 128 + the signal.
fn handle_signals() -> Cleanup {
    let cleanup: Cleanup = Default::default();
    let todo = cleanup.clone();
    super::signals::on_termination(move |sig| {
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some((pid, root, socket)) = todo.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // The server's own children (its kept tmux control client) go with it: one caught
            // attaching would keep the tmux server from exiting.
            let tree = crate::proctree::tree_pids(&crate::proctree::proc_root(), &[pid]).unwrap_or_else(|| vec![pid]);
            for p in tree {
                // SAFETY: a plain kill of our own child and its descendants.
                unsafe { libc::kill(p as libc::pid_t, libc::SIGKILL) };
            }
            World::clean(&root, &socket);
        }
        eprintln!("demo interrupted: agents stopped, temporary files removed");
        std::process::exit(128 + sig);
    });
    cleanup
}

/// Prints a demo line; a closed stdout is no reason to stop (cleanup must still run).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `name` on PATH, resolved to the real file (a runner is never a symlink).
fn on_path(name: &str) -> Option<PathBuf> {
    crate::config::on_path(name).and_then(|p| std::fs::canonicalize(p).ok())
}

fn codex_on_path() -> Result<PathBuf, String> {
    on_path("codex")
        .ok_or_else(|| "no codex on PATH (install it with npm install --prefix DIR @openai/codex)".to_owned())
}

/// The mixed fleet: one Codex, one Claude Code and one Gemini CLI worker, each the real CLI
/// when it is on PATH (with a private home; the keys it needs pass from this environment, never
/// into a file), else a scripted stand-in.
fn mixed_config(root: &Path) -> Result<String, String> {
    let stand_in = |name: &str, cli: &str| {
        format!("[agents.{name}]\nlabel = \"{cli} (scripted stand-in: {cli} is not on PATH)\"\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"2\"]\n")
    };
    let mut toml = String::new();
    toml.push_str(&match on_path("codex") {
        Some(r) => format!(
            "[agents.codex]\nprofile = \"codex\"\nrunner = \"{}\"\nhome = \"{}\"\n",
            r.display(),
            codex_home(root, "codex")?.display()
        ),
        None => stand_in("codex", "codex"),
    });
    for (name, cli, pass) in [
        ("claude", "claude", "[\"ANTHROPIC_API_KEY\", \"CLAUDE_CODE_OAUTH_TOKEN\"]"),
        ("gemini", "gemini", "[\"GEMINI_API_KEY\"]"),
    ] {
        toml.push_str(&match on_path(cli) {
            Some(r) => {
                let home = root.join(format!("home-{name}"));
                std::fs::create_dir_all(&home).map_err(|e| format!("cannot create a demo home: {}", e.kind()))?;
                format!(
                    "[agents.{name}]\nprofile = \"{name}\"\nrunner = \"{}\"\nhome = \"{}\"\nenv_pass = {pass}\n",
                    r.display(),
                    home.display()
                )
            }
            None => stand_in(name, cli),
        });
    }
    Ok(toml)
}

/// The demo's agents, in order.
fn demo_agents(profile: &str) -> &'static [&'static str] {
    if profile == "mixed" {
        &["codex", "claude", "gemini"]
    } else {
        &["a", "b"]
    }
}

/// A private Codex home per demo agent (two Codex processes must not share one), holding a copy
/// of the user's `auth.json` when there is one.
fn codex_home(root: &Path, agent: &str) -> Result<PathBuf, String> {
    let home = root.join(format!("home-{agent}"));
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create a demo home: {}", e.kind()))?;
    let user_home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")));
    if let Some(auth) = user_home.map(|h| h.join("auth.json")).filter(|p| p.is_file()) {
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = std::fs::read(&auth).map_err(|e| format!("cannot read auth.json: {}", e.kind()))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(home.join("auth.json"))
            .map_err(|e| format!("cannot copy auth.json: {}", e.kind()))?;
        f.write_all(&bytes).map_err(|e| format!("cannot copy auth.json: {}", e.kind()))?;
    }
    Ok(home)
}

fn agents_config(profile: &str, root: &Path) -> Result<String, String> {
    match profile {
        "scripted" => Ok("[agents.a]\nlabel = \"Demo agent A\"\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"2\"]\n\
                          [agents.b]\nlabel = \"Demo agent B\"\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"2\"]\n"
            .to_owned()),
        "codex" => {
            let runner = codex_on_path()?;
            let r = runner.display();
            let (a, b) = (codex_home(root, "a")?, codex_home(root, "b")?);
            Ok(format!(
                "[agents.a]\nprofile = \"codex\"\nrunner = \"{r}\"\nhome = \"{}\"\n[agents.b]\nprofile = \"codex\"\nrunner = \"{r}\"\nhome = \"{}\"\n",
                a.display(),
                b.display()
            ))
        }
        "mixed" => mixed_config(root),
        _ => Err("profile must be scripted, codex or mixed".into()),
    }
}

fn line(label: &str, value: impl std::fmt::Display) {
    say!("  {label:<28} {value}");
}

/// Runs the demo; returns the exit code.
pub fn run(profile: &str) -> i32 {
    match demo(profile) {
        Ok(()) => EXIT_OK,
        Err(_) if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) => loop {
            std::thread::park();
        },
        Err(e) => {
            eprintln!("demo failed: {}", crate::text::safe_error_text(&e));
            EXIT_FAILED
        }
    }
}

fn demo(profile: &str) -> Result<(), String> {
    let cleanup = handle_signals();
    let exe = std::env::current_exe().map_err(|_| "the demo cannot find its own executable")?;
    // Short: the tmux socket inside must fit a socket path (108 bytes).
    let root = std::env::temp_dir().join(format!("codex-master-demo-{}", &crate::fsafe::nonce()[..12]));
    for sub in ["config", "work"] {
        std::fs::create_dir_all(root.join(sub)).map_err(|e| format!("cannot create the demo dir: {}", e.kind()))?;
    }
    let world = World { socket: root.join("tmux.sock").display().to_string(), root };
    std::fs::write(world.root.join("config/config.toml"), agents_config(profile, &world.root)?)
        .map_err(|e| format!("cannot write the demo config: {}", e.kind()))?;
    let env = [
        ("CODEX_MASTER_MCP_STATE_DIR", world.root.join("state").display().to_string()),
        ("CODEX_MASTER_MCP_CONFIG_DIR", world.root.join("config").display().to_string()),
        ("CODEX_MASTER_TMUX_SOCKET", world.socket.clone()),
    ];
    let started = Instant::now();
    let mut server = Server::spawn(&exe, &env)?;
    *cleanup.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((server.child.id(), world.root.clone(), world.socket.clone()));
    let init = server.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "codex-master-demo", "version": env!("CARGO_PKG_VERSION")}}),
        Duration::ZERO,
    )?;
    writeln!(server.stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .map_err(|_| "server input closed")?;
    let tools = server.request("tools/list", json!({}), Duration::ZERO)?;
    say!("codex-master demo ({profile} workers) — everything below goes through the MCP server on stdio");
    line(
        "server",
        format!(
            "{} {}, protocol {}",
            init["serverInfo"]["name"].as_str().unwrap_or("?"),
            init["serverInfo"]["version"].as_str().unwrap_or("?"),
            init["protocolVersion"].as_str().unwrap_or("?")
        ),
    );
    line("tools", tools["tools"].as_array().map_or(0, Vec::len));

    let agents = demo_agents(profile);
    say!("\n1. start agents {}", agents.join(", "));
    let cwd = world.root.join("work").display().to_string();
    let start = server.call("agent_start", json!({"agent": "all", "cwd": cwd}), Duration::ZERO)?;
    for r in start["results"].as_array().into_iter().flatten() {
        match r["status"].as_str() {
            Some(status) => line(
                &format!("agent {}", r["agent"].as_str().unwrap_or("?")),
                format!("{status} in tmux session {}", r["session"].as_str().unwrap_or("?")),
            ),
            None => {
                return Err(format!(
                    "agent {} did not start: {}",
                    r["agent"].as_str().unwrap_or("?"),
                    r["message"].as_str().unwrap_or("?")
                ))
            }
        }
    }
    // Let both TUIs draw their composer; a sign-in or trust screen ends the demo clearly.
    server.call(
        "agent_wait",
        json!({"agent": "all", "until": "idle", "mode": "all", "timeout_seconds": 30, "poll_interval_seconds": 1}),
        Duration::from_secs(30),
    )?;
    let ready = server.call("agent_status", json!({"agent": "all"}), Duration::ZERO)?;
    let blocked: Vec<String> = ready["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["state"] != "idle")
        .map(|r| format!("agent {} is {}", r["agent"].as_str().unwrap_or("?"), r["state"].as_str().unwrap_or("?")))
        .collect();
    if !blocked.is_empty() {
        let _ = server.call("agent_stop", json!({"agent": "all"}), Duration::ZERO);
        return Err(format!(
            "{} (a sign-in or trust screen? log in to the CLI first); the agents were stopped",
            blocked.join(", ")
        ));
    }

    say!("\n2. send each a task (the receipt says whether the turn really started)");
    let tasks = [
        "Summarise the layout of this repository in three bullet points.",
        "List the test files and say which ones need tmux.",
    ];
    for (i, agent) in agents.iter().enumerate() {
        let task = tasks[i % tasks.len()];
        let sent = server.call("agent_send", json!({"agent": agent, "text": task}), Duration::from_secs(10))?;
        line(
            &format!("agent {agent}"),
            format!(
                "typed={} submitted={} turn_started={} ({})",
                sent["typed"],
                sent["submitted"],
                sent["turn_started"],
                sent["receipt"].as_str().unwrap_or("?")
            ),
        );
    }

    say!("\n3. wait for every turn to end (bounded, cancellable)");
    let waited = server.call(
        "agent_wait",
        json!({"agent": "all", "until": "idle", "mode": "all", "timeout_seconds": 120, "poll_interval_seconds": 1}),
        Duration::from_secs(120),
    )?;
    line("wait", format!("{} after {} s", waited["status"].as_str().unwrap_or("?"), waited["elapsed_seconds"]));

    say!("\n4. status (no terminal text, no paths)");
    let status = server.call("agent_status", json!({"agent": "all"}), Duration::ZERO)?;
    for r in status["results"].as_array().into_iter().flatten() {
        line(
            &format!("agent {}", r["agent"].as_str().unwrap_or("?")),
            format!(
                "state={} lease={} limit={} raw_log_bytes={} cwd={}",
                r["state"].as_str().unwrap_or("?"),
                r["lease"]["state"].as_str().unwrap_or("?"),
                r["limit_state"]["severity"].as_str().unwrap_or("?"),
                r["raw_log_bytes"],
                r["cwd"].as_str().unwrap_or("-")
            ),
        );
    }
    let tail = server.call("agent_safe_tail", json!({"agent": agents[0], "lines": 6}), Duration::ZERO)?;
    say!("\n   agent {}, last lines (redacted):", agents[0]);
    for l in tail["output"].as_str().unwrap_or("").lines().filter(|l| !l.trim().is_empty()) {
        say!("   | {l}");
    }

    say!("\n5. stop them");
    let stop = server.call("agent_stop", json!({"agent": "all"}), Duration::ZERO)?;
    for r in stop["results"].as_array().into_iter().flatten() {
        line(
            &format!("agent {}", r["agent"].as_str().unwrap_or("?")),
            format!("{} (lease {})", r["status"].as_str().unwrap_or("?"), r["lease"]["state"].as_str().unwrap_or("?")),
        );
    }
    say!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
    // From here the normal drops clean up; a late signal must not race them.
    cleanup.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(server);
    drop(world);
    Ok(())
}
