//! The MCP server: stdio framing, JSON-RPC dispatch, and the tool schema validator.
//!
//! Requests run concurrently: `tools/call` runs as a task on the async runtime, so a wait that
//! lasts minutes never blocks `ping` or a status call on the same connection, and
//! `notifications/cancelled` aborts the task. The connection itself is a plain thread that reads
//! frames and answers the cheap methods (`initialize`, `ping`, `tools/list`) inline, in arrival
//! order; a second thread writes tool results. Neither touches the runtime's blocking pool, so a
//! ping round trip costs one thread wake-up on each side. Every response is one JSON line on
//! stdout; logs go to stderr.

pub mod framing;
pub mod live;

use crate::codes::ErrorCode;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio::task::{AbortHandle, JoinSet};

use crate::text::{display_identifier, safe_error_text};
use crate::tools::{result_failed, Catalogue, Ctx};
use framing::{Frame, FrameReader, MAX_FRAME_BYTES};
/// Protocol versions we speak, newest first.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
pub const SERVER_NAME: &str = "codex-master-mcp";

/// JSON-RPC error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    /// Request before `initialize` (the code LSP and many MCP servers use).
    pub const NOT_INITIALIZED: i64 = -32002;
}

/// How long in-flight calls may finish after the client closed stdin.
const EOF_GRACE: Duration = Duration::from_secs(10);
/// How long a server that is shutting down waits for units that must finish (a start's steps
/// are each bounded well below it).
const UNIT_GRACE: Duration = Duration::from_secs(30);

/// Tool calls one connection may have running at once; beyond it a call is refused with
/// `server_busy` (retryable), so a client cannot grow the server without bound.
pub const MAX_INFLIGHT_CALLS: usize = 128;

/// Finished results waiting for the writer. When this many are queued (the client is not
/// reading), the reader stops reading until the writer catches up.
pub const MAX_QUEUED_RESULTS: usize = 64;

/// Counts results queued for the writer, and wakes the reader when there is room again.
#[derive(Default)]
struct Queue {
    queued: Mutex<usize>,
    room: std::sync::Condvar,
}

impl Queue {
    fn added(&self) {
        *self.queued.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    fn written(&self) {
        let mut q = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        *q = q.saturating_sub(1);
        self.room.notify_all();
    }

    /// Blocks while the queue is full; `false` if it stayed full for `limit`.
    fn wait_for_room(&self, limit: Duration) -> bool {
        let q = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let (q, _) =
            self.room.wait_timeout_while(q, limit, |q| *q >= MAX_QUEUED_RESULTS).unwrap_or_else(|p| p.into_inner());
        *q < MAX_QUEUED_RESULTS
    }
}

/// Server options.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Tools per `tools/list` page.
    pub page_size: usize,
    /// Pick up configuration changes without a restart ([`live`]); off for a connection whose
    /// context a test built by hand.
    pub live: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let page_size = std::env::var("CODEX_MASTER_MCP_TOOLS_PAGE_SIZE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(100);
        ServeOptions { page_size, live: false }
    }
}

fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": safe_error_text(message)}})
}

fn result_response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A `tools/call` response line: the result is serialised once, and that text is both the
/// text content and, verbatim, the structured content (a 64-agent status is ~120 KB; building a
/// second tree of it and serialising that cost as much as the status itself).
fn tool_result_line(id: &Value, structured: &Value, failed: bool) -> Vec<u8> {
    let text = serde_json::to_string(structured).expect("JSON value serialises");
    let mut line = Vec::with_capacity(text.len() * 2 + 128);
    line.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut line, id).expect("JSON value serialises");
    line.extend_from_slice(br#","result":{"content":[{"type":"text","text":"#);
    serde_json::to_writer(&mut line, &text).expect("JSON string serialises");
    line.extend_from_slice(br#"}],"structuredContent":"#);
    line.extend_from_slice(text.as_bytes());
    line.extend_from_slice(if failed { br#","isError":true}}"# } else { br#","isError":false}}"# });
    line.push(b'\n');
    line
}

/// A request id as a map key (`s:` / `n:` keep `"1"` and `1` apart).
fn id_key(id: &Value) -> Option<String> {
    match id {
        Value::String(s) => Some(format!("s:{s}")),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(format!("n:{n}")),
        _ => None,
    }
}

/// The output side: inline replies are written by the reader thread, tool results by the writer
/// thread; the mutex keeps lines whole.
type SharedOut = Arc<Mutex<Box<dyn Write + Send>>>;

fn write_line(out: &SharedOut, msg: &Value, flush: bool) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg).expect("JSON value serialises");
    line.push(b'\n');
    write_bytes(out, &line, flush)
}

fn write_bytes(out: &SharedOut, line: &[u8], flush: bool) -> std::io::Result<()> {
    let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
    w.write_all(line)?;
    if flush {
        w.flush()?;
    }
    Ok(())
}

struct Connection {
    catalogue: Arc<Catalogue>,
    ctx: Arc<Ctx>,
    /// The configuration as the files say, when the server follows their changes.
    live: Option<live::Live>,
    options: ServeOptions,
    runtime: Handle,
    protocol: Option<&'static str>,
    inflight: Arc<Mutex<HashMap<String, AbortHandle>>>,
    tasks: JoinSet<()>,
    out: SharedOut,
    /// Tool results go to the writer thread, so a task never blocks on a full stdout pipe.
    results: mpsc::Sender<Vec<u8>>,
    queue: Arc<Queue>,
    write_failed: bool,
}

/// Serves one MCP connection until EOF on `input`. The loop runs on the calling thread; tool
/// calls run on `runtime`.
pub fn serve<R, W>(
    input: R,
    output: W,
    ctx: Arc<Ctx>,
    catalogue: Arc<Catalogue>,
    options: ServeOptions,
    runtime: Handle,
) -> std::io::Result<()>
where
    R: BufRead,
    W: Write + Send + 'static,
{
    let out: SharedOut = Arc::new(Mutex::new(Box::new(output)));
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let queue = Arc::new(Queue::default());
    let writer = spawn_writer(out.clone(), queue.clone(), rx)?;
    let live = options.live.then(|| live::Live::new(live::Generation::first(Arc::clone(&ctx), Arc::clone(&catalogue))));
    let mut conn = Connection {
        catalogue,
        ctx,
        live,
        options,
        runtime: runtime.clone(),
        protocol: None,
        inflight: Arc::default(),
        tasks: JoinSet::new(),
        out,
        results: tx,
        queue,
        write_failed: false,
    };
    let read_result = read_loop(&mut conn, FrameReader::new(input), &writer);
    drain(&runtime, std::mem::take(&mut conn.tasks));
    drop(conn);
    let written = writer.join().unwrap_or(Ok(()));
    let written = written.or_else(|e| if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) });
    read_result.and(written)
}

/// The thread that writes results: everything already queued, then one flush.
fn spawn_writer(
    out: SharedOut,
    queue: Arc<Queue>,
    rx: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<std::thread::JoinHandle<std::io::Result<()>>> {
    std::thread::Builder::new().name("mcp-writer".into()).spawn(move || -> std::io::Result<()> {
        while let Ok(msg) = rx.recv() {
            let mut next = Some(msg);
            while let Some(msg) = next {
                next = rx.try_recv().ok();
                let written = write_bytes(&out, &msg, next.is_none());
                queue.written();
                written?;
            }
        }
        Ok(())
    })
}

/// Reads and handles frames until the input ends or nobody reads our answers any more.
fn read_loop<R: BufRead>(
    conn: &mut Connection,
    mut reader: FrameReader<R>,
    writer: &std::thread::JoinHandle<std::io::Result<()>>,
) -> std::io::Result<()> {
    loop {
        // Backpressure: while the client does not read our results, we do not read its calls.
        while !conn.queue.wait_for_room(Duration::from_secs(1)) {
            if writer.is_finished() {
                conn.write_failed = true;
                break;
            }
        }
        if conn.write_failed {
            return Ok(());
        }
        match reader.next_frame()? {
            Frame::Eof => return Ok(()),
            Frame::Oversized => conn.send(error_response(
                Value::Null,
                code::INVALID_REQUEST,
                &format!("message exceeds the {MAX_FRAME_BYTES}-byte frame limit and was discarded"),
            )),
            Frame::BadFrame(why) => conn.send(error_response(Value::Null, code::PARSE_ERROR, why)),
            Frame::Message(bytes) => conn.handle(&bytes),
        }
        if conn.write_failed {
            return Ok(()); // Nobody reads our answers any more.
        }
        while conn.tasks.try_join_next().is_some() {}
    }
}

/// Input closed: in-flight calls finish briefly, then stop; work that must not stop halfway (a
/// start) runs on after its call was cancelled, bounded.
fn drain(runtime: &Handle, mut tasks: JoinSet<()>) {
    runtime.block_on(async {
        let wait = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(EOF_GRACE, wait).await.is_err() {
            tasks.abort_all();
        }
        if !crate::tools::units_finished(UNIT_GRACE).await {
            tracing::warn!("work still running at exit");
        }
    });
}

impl Connection {
    fn send(&mut self, msg: Value) {
        if write_line(&self.out, &msg, true).is_err() {
            self.write_failed = true;
        }
    }

    /// Follows a configuration change before a message is handled: later calls run on the new
    /// generation, and a client whose tool list changed is told.
    fn follow_configuration(&mut self) {
        let Some(live) = self.live.as_mut() else { return };
        if let live::Change::Applied { tools_changed } = live.check() {
            let current = live.current();
            self.ctx = Arc::clone(&current.ctx);
            self.catalogue = Arc::clone(&current.catalogue);
            if tools_changed && self.protocol.is_some() {
                self.send(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
            }
        }
    }

    fn handle(&mut self, bytes: &[u8]) {
        self.follow_configuration();
        let msg: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(_) => {
                return self.send(error_response(
                    Value::Null,
                    code::PARSE_ERROR,
                    "parse error: message is not valid JSON",
                ))
            }
        };
        let Value::Object(obj) = msg else {
            let why = if msg.is_array() {
                "invalid request: batches are not supported"
            } else {
                "invalid request: message must be a JSON object"
            };
            return self.send(error_response(Value::Null, code::INVALID_REQUEST, why));
        };
        let id = obj.get("id").cloned();
        let id_valid = id.as_ref().is_some_and(|i| id_key(i).is_some());
        if obj.get("jsonrpc") != Some(&json!("2.0")) {
            let reply_id = if id_valid { id.unwrap_or(Value::Null) } else { Value::Null };
            return self.send(error_response(
                reply_id,
                code::INVALID_REQUEST,
                "invalid request: jsonrpc must be \"2.0\"",
            ));
        }
        let Some(method) = obj.get("method").and_then(Value::as_str) else {
            if obj.contains_key("result") || obj.contains_key("error") {
                return; // A response to a server request; we send none, so ignore it.
            }
            let reply_id = if id_valid { id.unwrap_or(Value::Null) } else { Value::Null };
            return self.send(error_response(
                reply_id,
                code::INVALID_REQUEST,
                "invalid request: method must be a string",
            ));
        };
        let params = obj.get("params").cloned();
        match id {
            None => self.notification(method, params),
            Some(id) if !id_valid => {
                let _ = id;
                self.send(error_response(
                    Value::Null,
                    code::INVALID_REQUEST,
                    "invalid request: id must be a string or an integer",
                ))
            }
            Some(id) => self.request(id, method, params),
        }
    }

    fn notification(&mut self, method: &str, params: Option<Value>) {
        match method {
            "notifications/cancelled" => {
                let key = params.as_ref().and_then(|p| p.get("requestId")).and_then(id_key);
                if let Some(key) = key {
                    if let Some(handle) = self.inflight.lock().expect("inflight lock").remove(&key) {
                        tracing::debug!("cancelling in-flight request");
                        handle.abort();
                    }
                }
            }
            "notifications/initialized" => tracing::debug!("client initialized"),
            other => tracing::debug!(method = %display_identifier(other), "ignoring notification"),
        }
    }

    fn request(&mut self, id: Value, method: &str, params: Option<Value>) {
        match method {
            "initialize" => {
                let reply = self.initialize(params.as_ref());
                self.send(match reply {
                    Ok(result) => result_response(id, result),
                    Err(msg) => error_response(id, code::INVALID_PARAMS, msg),
                });
            }
            "ping" => self.send(result_response(id, json!({}))),
            _ if self.protocol.is_none() => {
                self.send(error_response(id, code::NOT_INITIALIZED, "server not initialized: send initialize first"))
            }
            "tools/list" => {
                let reply = self.list_tools(params.as_ref());
                self.send(match reply {
                    Ok(result) => result_response(id, result),
                    Err(msg) => error_response(id, code::INVALID_PARAMS, msg),
                });
            }
            "tools/call" => self.call_tool(id, params),
            other => self.send(error_response(
                id,
                code::METHOD_NOT_FOUND,
                &format!("method not found: {}", display_identifier(other)),
            )),
        }
    }

    fn initialize(&mut self, params: Option<&Value>) -> Result<Value, &'static str> {
        let requested = params
            .and_then(Value::as_object)
            .ok_or("invalid params: initialize needs a params object")?
            .get("protocolVersion");
        let requested = requested.and_then(Value::as_str).ok_or("invalid params: protocolVersion must be a string")?;
        // An unknown version gets our newest; the client decides whether it can use it.
        let version = SUPPORTED_VERSIONS.iter().copied().find(|v| *v == requested).unwrap_or(SUPPORTED_VERSIONS[0]);
        self.protocol = Some(version);
        Ok(json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": self.live.is_some()}},
            "serverInfo": {"name": SERVER_NAME, "title": "Codex Master", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Runs worker coding agents in tmux. Results are data-sparse: terminal output, prompts and local paths are never returned, except redacted text from agent_safe_tail.",
        }))
    }

    fn list_tools(&self, params: Option<&Value>) -> Result<Value, &'static str> {
        let cursor = params.and_then(|p| p.get("cursor"));
        let start = match cursor {
            None | Some(Value::Null) => 0,
            Some(Value::String(c)) => c
                .strip_prefix("offset:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or("invalid params: unknown cursor")?,
            Some(_) => return Err("invalid params: cursor must be a string"),
        };
        let tools = self.catalogue.tools();
        if start > tools.len() {
            return Err("invalid params: unknown cursor");
        }
        let end = (start + self.options.page_size).min(tools.len());
        let page: Vec<Value> = tools[start..end].iter().map(|t| t.describe()).collect();
        let mut result = json!({"tools": page});
        if end < tools.len() {
            result["nextCursor"] = json!(format!("offset:{end}"));
        }
        Ok(result)
    }

    fn call_tool(&mut self, id: Value, params: Option<Value>) {
        let params = match params {
            None => Value::Object(Default::default()),
            Some(p @ Value::Object(_)) => p,
            Some(_) => {
                return self.send(error_response(
                    id,
                    code::INVALID_PARAMS,
                    "invalid params: tools/call params must be an object",
                ))
            }
        };
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return self.send(error_response(
                id,
                code::INVALID_PARAMS,
                "invalid params: tools/call requires a tool name",
            ));
        };
        if self.catalogue.find(name).is_none() {
            return self.send(error_response(
                id,
                code::INVALID_PARAMS,
                &format!("unknown tool: {}", display_identifier(name)),
            ));
        }
        let key = id_key(&id).expect("validated id");
        let mut inflight = self.inflight.lock().expect("inflight lock");
        if inflight.contains_key(&key) {
            drop(inflight);
            return self.send(error_response(
                id,
                code::INVALID_REQUEST,
                "invalid request: a request with this id is still in flight",
            ));
        }
        if inflight.len() >= MAX_INFLIGHT_CALLS {
            drop(inflight);
            let busy = crate::tools::Fault::new(ErrorCode::ServerBusy, format!("this connection already has {MAX_INFLIGHT_CALLS} tool calls in flight; retry when one has finished"))
                .retryable()
                .with("retry_after_seconds", 1)
                .with("max_inflight_calls", MAX_INFLIGHT_CALLS);
            let busy = crate::tools::fault_json(&busy, &self.ctx.client_id);
            if write_bytes(&self.out, &tool_result_line(&id, &busy, true), true).is_err() {
                self.write_failed = true;
            }
            return;
        }
        let name = name.to_owned();
        let (catalogue, ctx, out, registry, queue) =
            (self.catalogue.clone(), self.ctx.clone(), self.results.clone(), self.inflight.clone(), self.queue.clone());
        let task_key = key.clone();
        let task = async move {
            let tool = catalogue.find(&name).expect("tool checked before spawn");
            let client = ctx.client_id.clone();
            let result = catalogue.call(ctx, tool, params.get("arguments")).await;
            let failed = result_failed(&result);
            let structured = match result {
                Ok(v) => v,
                Err(e) => crate::tools::fault_json(&e, &client),
            };
            let line = tool_result_line(&id, &structured, failed);
            drop(structured);
            // Remove before replying, so a cancel that arrives later is a no-op.
            registry.lock().expect("inflight lock").remove(&task_key);
            queue.added();
            let _ = out.send(line);
        };
        let handle = self.tasks.spawn_on(task, &self.runtime);
        inflight.insert(key, handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_result_line_is_one_json_line_with_the_text_and_the_same_structure() {
        let structured = json!({"results": [{"agent": "a\"b\n", "n": 1}], "host": null});
        for (id, failed) in [(json!(7), false), (json!("x\"y"), true)] {
            let line = tool_result_line(&id, &structured, failed);
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1, "one line");
            let v: Value = serde_json::from_slice(&line).unwrap();
            assert_eq!(v["jsonrpc"], "2.0");
            assert_eq!(v["id"], id);
            assert_eq!(v["result"]["structuredContent"], structured);
            assert_eq!(v["result"]["isError"], failed);
            assert_eq!(v["result"]["content"][0]["type"], "text");
            let text: Value = serde_json::from_str(v["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
            assert_eq!(text, structured);
        }
    }
}
