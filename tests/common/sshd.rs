//! A real OpenSSH host on the loopback: Debian's `sshd` with a throwaway host key, a client key
//! and a test-owned config, so a "remote" worker runs through the same ssh the user's would.
//! The host's tmux socket directory and home are the test's own (`SetEnv`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// `sshd` is installed (scripts/bootstrap installs it); with `CODEX_MASTER_REQUIRE_REAL_CLIENTS=1`
/// a missing one fails the test instead of skipping it.
pub fn available() -> bool {
    let found = Path::new(SSHD).is_file();
    if !found {
        assert!(
            std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
            "sshd is not installed: run scripts/bootstrap"
        );
        eprintln!("skipped: sshd is not installed (scripts/bootstrap installs it)");
    }
    found
}

/// One loopback host: its sshd, keys, and the client's ssh config naming it `alias`.
pub struct Host {
    pub dir: PathBuf,
    pub alias: String,
    pub port: u16,
    child: Option<Child>,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Host {
    /// A host named `alias` under `dir` (created), serving at once.
    pub fn start(dir: &Path, alias: &str) -> Host {
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::create_dir_all(dir.join("tmux")).unwrap();
        // sshd insists on its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        keygen(&dir.join("host_key"));
        keygen(&dir.join("client_key"));
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let port = free_port();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                 AllowAgentForwarding no\nAllowTcpForwarding no\nX11Forwarding no\nLogLevel ERROR\n\
                 SetEnv HOME={d}/home TMUX_TMPDIR={d}/tmux\n"
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        std::fs::write(dir.join("known_hosts"), format!("[127.0.0.1]:{port} {}\n", key.join(" "))).unwrap();
        std::fs::write(
            dir.join("ssh_config"),
            format!(
                "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {}\n  IdentityFile {d}/client_key\n  \
                 IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n",
                user.trim()
            ),
        )
        .unwrap();
        let mut host = Host { dir: dir.to_path_buf(), alias: alias.to_owned(), port, child: None };
        host.serve();
        host
    }

    /// The ssh config file the host's `[hosts.NAME]` names.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// Starts sshd (again, on the same port and keys) and waits until it accepts.
    pub fn serve(&mut self) {
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops sshd and every connection it serves (the shared connections too): the host drops
    /// off the network. Its tmux server (detached from sshd) and workers keep running.
    pub fn drop_off(&mut self) {
        if let Some(mut c) = self.child.take() {
            for pid in descendants(c.id()) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs a command on the host through the test's ssh config.
    pub fn ssh(&self, command: &str) -> std::process::Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes", "-T", &self.alias, command])
            .output()
            .unwrap()
    }
}

/// Every process below `root`, from `/proc`.
fn descendants(root: u32) -> Vec<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let all: Vec<u32> =
        std::fs::read_dir("/proc").unwrap().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        let children: Vec<u32> =
            all.iter().copied().filter(|c| parent_of(*c) == Some(p) && !found.contains(c)).collect();
        found.extend(children);
        i += 1;
    }
    found.remove(0);
    found
}

impl Drop for Host {
    fn drop(&mut self) {
        // The host's tmux server, then sshd.
        let _ = Command::new("tmux")
            .env("TMUX_TMPDIR", self.dir.join("tmux"))
            .args(["-L", "codex-master-mcp", "kill-server"])
            .output();
        self.drop_off();
    }
}
