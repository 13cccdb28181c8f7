//! The local-path policy: which absolute paths in a text are masked.
//!
//! | path | policy |
//! |---|---|
//! | the host's known paths (state dir, agent homes, working directories) | masked wherever they appear |
//! | `~`, `~/…`, `~user/…`, `/home/…`, `/Users/…`, `/var/home/…`, `/root…` | masked |
//! | `/tmp/…`, `/var/tmp/…`, `/private/tmp/…`, `/private/var/folders/…` | masked |
//! | `/usr`, `/etc`, `/bin`, `/sbin`, `/lib*`, `/opt`, `/proc`, `/sys`, `/dev`, `/run`, `/var/run`, `/nix/store`, `/snap`, `/System`, `/Library`, `/Applications`, a mount point (`/mnt`, `/media/x`) | kept: system paths say nothing about the user |
//! | an HTTP request's path (`GET /api/x?page=2`, `method=PUT path=/v2/x`), a closing tag (`</Password>`) | kept unless of a private kind |
//! | any other absolute path (`/srv/…`, `/var/lib/…`, `/work/…`) | masked: a local path of unknown kind |
//! | relative paths (`src/x`, `./x`, `../x`), URL paths (`https://host/a/b`) | kept |
//! | `file://` URLs, and editor links (`vscode://file/…`) | their path follows the rules above |
//! | a path that climbs (`/usr/../home/…`), `//home/…`, `/dev/shm/…` | judged as the path it reaches: masked |
//! | `C:\…` | masked |
//!
//! A path starts a word (after a space, `=`, `:`, a quote or a bracket); it ends at a space, a
//! quote, a bracket, `,`, `;`, `|` or `:`, so each entry of a `PATH`-like list is judged on its
//! own. A path that follows a quote runs to the closing quote, spaces included. After `+`, `@`,
//! `#`, `*` or a mask (`x+/home/ada`, `<redacted>/tmp/k`) a path is masked when it is a private
//! kind (a home, `/root`, a temp dir, `/dev/shm`): globs like `src/**/x` stay as they are.

/// What a masked path becomes.
pub const PATH_MASK: &str = "/<redacted>";

/// First components of system paths that are kept (`lib` matches every `lib*`).
pub const KEPT: &[&str] = &[
    "usr",
    "etc",
    "bin",
    "sbin",
    "opt",
    "proc",
    "sys",
    "dev",
    "run",
    "nix",
    "snap",
    "System",
    "Library",
    "Applications",
];

/// Whether an absolute path is a kept system path. A path that climbs (`..`) may reach
/// anywhere, and `/dev/shm` holds files of any user: neither is kept.
pub fn kept(path: &str) -> bool {
    let mut comps = path.trim_start_matches('/').split('/');
    if path.split('/').any(|c| c == "..") {
        return false;
    }
    let first = comps.next().unwrap_or("");
    match first {
        _ if first.starts_with("lib") => true,
        "var" => comps.next() == Some("run"),
        "nix" => comps.next() == Some("store"),
        "private" => comps.next() == Some("etc"),
        "dev" => comps.next() != Some("shm"),
        // A mount point (`/mnt`, `/media/usb`) says nothing; deeper may name a user's files.
        "mnt" | "media" => comps.nth(1).is_none(),
        f => KEPT.contains(&f),
    }
}

/// Whether an absolute path is of a private kind: a home, `/root`, a temp dir, `/dev/shm`, or
/// a path that climbs.
fn private(path: &str) -> bool {
    let mut comps = path.trim_start_matches('/').split('/');
    let first = comps.next().unwrap_or("");
    let second = comps.next();
    path.split('/').any(|c| c == "..")
        || matches!(first, "home" | "Users" | "root" | "tmp")
        || (first == "var" && matches!(second, Some("home" | "tmp")))
        || (first == "private" && matches!(second, Some("tmp" | "var")))
        || (first == "dev" && second == Some("shm"))
}

/// How surely a path starts at a position: at a word start it is judged in full; after `+`,
/// `@`, `#`, `*` or a mask only a private kind is masked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Word,
    Joined,
    No,
}

fn start_after(prev: Option<char>) -> Start {
    match prev {
        None => Start::Word,
        Some(c) if c.is_whitespace() || "=:'\"([{>,;|!`".contains(c) => Start::Word,
        // `</name>` closes a markup tag; a private path after `<` still goes.
        Some(c) if "+@#*<".contains(c) => Start::Joined,
        Some(_) => Start::No,
    }
}

/// Whether the path at `i` is an HTTP request's: after a method (`"GET /…`, `POST /…`), or a
/// `path=` field on a line that also logs a `method=`.
fn request_path(text: &str, i: usize) -> bool {
    const METHODS: &[&str] = &["GET ", "POST ", "PUT ", "DELETE ", "PATCH ", "HEAD ", "OPTIONS "];
    let before = &text[..i];
    if let Some(m) = METHODS.iter().find(|m| before.ends_with(*m)) {
        return before[..before.len() - m.len()].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
    }
    let field = before.trim_end_matches('"');
    if field.ends_with("path=") || field.ends_with("\"path\":") {
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
        let line = &text[line_start..line_end];
        return line.contains("method=") || line.contains("\"method\"");
    }
    false
}

fn ends_path(c: char) -> bool {
    c.is_whitespace() || "\"'<>()[]{},;|:`".contains(c)
}

/// Masks the local paths of `text` by the policy above; returns the text and how many paths
/// were masked.
pub fn mask_paths(text: &str, known: &[String]) -> (String, u32) {
    let mut count = 0u32;
    // Known paths first, longest first, so a parent never splits a longer one.
    let mut known: Vec<&String> =
        known.iter().filter(|p| p.len() >= 2 && p.starts_with('/') && p.as_str() != "/").collect();
    known.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut current = std::borrow::Cow::Borrowed(text);
    for k in known {
        let k = k.trim_end_matches('/');
        if k.len() >= 2 && current.contains(k) {
            count += current.matches(k).count() as u32;
            current = std::borrow::Cow::Owned(current.replace(k, PATH_MASK));
        }
    }
    let (out, n) = scan(&current);
    (out, count + n)
}

fn scan(text: &str) -> (String, u32) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Jump to the next candidate: `/`, `~`, or the `\\` of a drive letter (`C:\\`).
        let Some(n) = memchr::memchr3(b'/', b'~', b'\\', &bytes[i..]) else { break };
        let at = i + n;
        let drive = bytes[at] == b'\\' && at >= i + 2 && bytes[at - 1] == b':' && bytes[at - 2].is_ascii_alphabetic();
        if bytes[at] == b'\\' && !drive {
            i = at + 1;
            continue;
        }
        i = if drive { at - 2 } else { at };
        let b = bytes[i];
        let prev = text[..i].chars().next_back();
        // `file:///home/…`, and the editors' `vscode://file/home/…`.
        let file_url = text[..i].ends_with("file://") || text[..i].ends_with("://file");
        // Right after a mask: the rest of a masked path (`/<redacted>/meta`) is no new path,
        // but a private one joined to a masked secret still is.
        let start = match () {
            _ if file_url => Start::Word,
            _ if text[..i].ends_with("<redacted>") => Start::Joined,
            // A request path (`GET /api/tokens?page=2`) is a URL's path: only a private kind
            // is masked there.
            _ if start_after(prev) == Start::Word && request_path(text, i) => Start::Joined,
            _ => start_after(prev),
        };
        if start == Start::No {
            i += 1;
            continue;
        }
        // `scheme://…`: a URL, not a path (`//home/…` without a scheme is a path).
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') && prev == Some(':') {
            i += 2;
            continue;
        }
        if b == b'~'
            && !matches!(bytes.get(i + 1), None | Some(b'/') | Some(b'a'..=b'z') | Some(b'A'..=b'Z') | Some(b'_'))
        {
            i += 1;
            continue;
        }
        // The extent: to the closing quote after a quote, else to the first end character.
        let quote = prev.filter(|c| ['"', '\''].contains(c));
        let end = match quote {
            Some(q) => text[i..].find([q, '\n']).map_or(text.len(), |n| i + n),
            None => text[i..]
                .find(|c: char| ends_path(c) && !(c == ':' && b.is_ascii_alphabetic()))
                .map_or(text.len(), |n| i + n),
        };
        let end = if b.is_ascii_alphabetic() && quote.is_none() {
            text[i..].find(|c: char| c.is_whitespace() || "\"'<>|,;".contains(c)).map_or(text.len(), |n| i + n)
        } else {
            end
        };
        let token = &text[i..end];
        let mask = match b {
            _ if token.starts_with(PATH_MASK) => false,
            b'~' => token.len() > 1 || text[end..].is_empty() || text[end..].starts_with(char::is_whitespace),
            b'/' if start == Start::Joined => private(token),
            b'/' => !token.trim_start_matches('/').is_empty() && !kept(token),
            _ => true,
        };
        if mask {
            out.push_str(&text[last..i]);
            if b == b'~' {
                out.push('~');
            }
            out.push_str(PATH_MASK);
            last = end;
            count += 1;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[last..]);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        mask_paths(s, &[]).0
    }

    #[test]
    fn private_paths_go_and_system_paths_stay() {
        assert_eq!(m("open /home/ada/notes.txt now"), "open /<redacted> now");
        assert_eq!(m("--prefix=/home/ada/.local HOME=/root"), "--prefix=/<redacted> HOME=/<redacted>");
        assert_eq!(m("PATH=/usr/local/bin:/usr/bin:/home/ada/.cargo/bin"), "PATH=/usr/local/bin:/usr/bin:/<redacted>");
        assert_eq!(m("#!/usr/bin/env python3"), "#!/usr/bin/env python3");
        assert_eq!(
            m("cat /etc/nginx/nginx.conf /proc/self/status /lib64/ld.so"),
            "cat /etc/nginx/nginx.conf /proc/self/status /lib64/ld.so"
        );
        assert_eq!(
            m("see file:///home/ada/x.html and file:///etc/hosts"),
            "see file:///<redacted> and file:///etc/hosts"
        );
        assert_eq!(m("cd ~/proj; ls ~ada/notes"), "cd ~/<redacted>; ls ~/<redacted>");
        assert_eq!(m("\"/home/ada/My Documents/a b.txt\""), "\"/<redacted>\"");
        assert_eq!(
            m("src/main.rs ./x ../y https://example.com/a/b 1/2 and/or"),
            "src/main.rs ./x ../y https://example.com/a/b 1/2 and/or"
        );
        assert_eq!(m("build in /tmp/cargo-xyz and /srv/app"), "build in /<redacted> and /<redacted>");
        assert_eq!(m(r"C:\Users\ada\file.txt"), "/<redacted>");
        assert_eq!(m("socket /run/user/1000/bus"), "socket /run/user/1000/bus");
        assert_eq!(m("mount /dev/sda1 /mnt; ls /mnt/c/Users/ada"), "mount /dev/sda1 /mnt; ls /<redacted>");
    }

    #[test]
    fn request_paths_stay_unless_they_name_a_private_place() {
        assert_eq!(
            m("\"GET /api/v1/tokens?page=2 HTTP/1.1\" 200; DELETE /secrets/db 204"),
            "\"GET /api/v1/tokens?page=2 HTTP/1.1\" 200; DELETE /secrets/db 204"
        );
        assert_eq!(m("method=PUT path=/v2/users/7 status=204"), "method=PUT path=/v2/users/7 status=204");
        assert_eq!(m("GET /home/ada/.ssh/id_rsa"), "GET /<redacted>");
        // Without a method, the same paths are local paths of unknown kind.
        assert_eq!(m("path=/v2/users/7 FORGET /srv/x"), "path=/<redacted> FORGET /<redacted>");
    }

    #[test]
    fn paths_that_hide_behind_a_prefix_a_climb_or_a_scheme_go() {
        assert_eq!(m("see //home/ada/x and ///root/.ssh"), "see /<redacted> and /<redacted>");
        assert_eq!(
            m("x+/home/ada/a @/home/ada/b #/tmp/k *\"/root/c\""),
            "x+/<redacted> @/<redacted> #/<redacted> *\"/<redacted>\""
        );
        assert_eq!(m("cat /usr/../home/ada/.netrc"), "cat /<redacted>");
        assert_eq!(m("ls /dev/shm/ada-cache/k /dev/null"), "ls /<redacted> /dev/null");
        assert_eq!(m("open vscode://file/home/ada/src/main.rs:12"), "open vscode://file/<redacted>:12");
        assert_eq!(m("token <redacted>/home/ada/.aws"), "token <redacted>/<redacted>");
        // What stays: globs, the rest of a masked path, URLs.
        assert_eq!(m("src/**/*.rs and **/target a+/b"), "src/**/*.rs and **/target a+/b");
        assert_eq!(m("at /<redacted>/meta/x.json"), "at /<redacted>/meta/x.json");
        assert_eq!(m("https://example.com//home/a"), "https://example.com//home/a");
    }

    #[test]
    fn known_paths_go_anywhere() {
        let (out, n) = mask_paths("state at x/srv/state/codex/meta", &["/srv/state/codex".into()]);
        assert_eq!((out.as_str(), n), ("state at x/<redacted>/meta", 1));
    }
}
