//! A loopback mock of the Anthropic Messages API (`POST /v1/messages`, streamed as SSE), enough
//! to drive the real Claude Code offline. Each turn request takes the next queued reply (or the
//! default); every other request gets an empty JSON object.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::loopback::Request;

use serde_json::{json, Value};

/// What the mock answers to one turn.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A text answer, after `delay` seconds (the turn shows as working meanwhile).
    Text { text: String, delay: f64 },
    /// An HTTP error with Anthropic's error body (429 rate limit, 529 overload).
    Status { code: u16, kind: &'static str, message: &'static str },
    /// A Bash tool call (the permission prompt), then `then` once the tool's result comes back.
    Bash { command: String, then: String },
    /// A subscriber's plan limit: 429 with the `anthropic-ratelimit-unified-*` headers naming the
    /// window (`five_hour`, `seven_day`) and its reset (epoch seconds).
    PlanLimit { claim: &'static str, reset: u64 },
    /// A text answer whose response reports a subscriber's 5-hour window `used` (0-1) of the
    /// way through, resetting at `reset` (the `anthropic-ratelimit-unified-5h-*` headers).
    TextWithUsage { text: String, used: f64, reset: u64 },
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Reply>,
    followup: Option<String>,
    turns: usize,
    /// The user texts of the newest turn request, oldest first.
    last_user_texts: Vec<String>,
}

#[derive(Clone)]
pub struct AnthropicMock {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl AnthropicMock {
    pub fn start() -> AnthropicMock {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let port = super::loopback::serve(Arc::clone(&shared), serve);
        AnthropicMock { port, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn push(&self, reply: Reply) {
        self.shared.lock().unwrap().queue.push_back(reply);
    }

    /// Turn requests seen so far.
    pub fn turns(&self) -> usize {
        self.shared.lock().unwrap().turns
    }

    /// The user texts the newest turn request carried (the whole conversation so far).
    pub fn last_user_texts(&self) -> Vec<String> {
        self.shared.lock().unwrap().last_user_texts.clone()
    }
}

/// The text of every user message of a Messages request (string content or text blocks).
fn user_texts(body: &Value) -> Vec<String> {
    let messages = body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    messages
        .iter()
        .filter(|m| m["role"] == "user")
        .flat_map(|m| match &m["content"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn serve(req: Request, out: &mut TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let (method, path) = (req.method, req.path);
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    if method != "POST" || !path.starts_with("/v1/messages") || path.contains("count_tokens") {
        return respond(out, 200, br#"{"input_tokens": 10}"#);
    }
    if body["stream"] != true {
        // A side request (a title, a summary): a short, complete answer.
        let msg = json!({"id": "msg_side", "type": "message", "role": "assistant", "model": body["model"], "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}});
        return respond(out, 200, msg.to_string().as_bytes());
    }
    let tool_result = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"));
    let reply = {
        let mut s = shared.lock().unwrap();
        s.turns += 1;
        s.last_user_texts = user_texts(&body);
        match (tool_result, s.followup.take()) {
            (true, Some(then)) => Reply::Text { text: then, delay: 0.0 },
            _ => s.queue.pop_front().unwrap_or(Reply::Text { text: "Done: the answer is 42.".into(), delay: 0.0 }),
        }
    };
    match reply {
        Reply::Status { code, kind, message } => {
            let b = json!({"type": "error", "error": {"type": kind, "message": message}}).to_string();
            respond(out, code, b.as_bytes())
        }
        Reply::Text { text, delay } => {
            let block = json!({"type": "text", "text": ""});
            let delta = json!({"type": "text_delta", "text": text});
            stream_message(out, &body, block, delta, "end_turn", delay, &[])
        }
        Reply::TextWithUsage { text, used, reset } => {
            // Past 90% the window is in its warning band: Claude Code also says so on screen.
            let status = if used >= 0.9 { "allowed_warning" } else { "allowed" };
            let headers = [
                ("anthropic-ratelimit-unified-status".to_owned(), status.to_owned()),
                ("anthropic-ratelimit-unified-5h-status".to_owned(), status.to_owned()),
                ("anthropic-ratelimit-unified-5h-surpassed-threshold".to_owned(), "0.9".to_owned()),
                ("anthropic-ratelimit-unified-5h-utilization".to_owned(), used.to_string()),
                ("anthropic-ratelimit-unified-5h-reset".to_owned(), reset.to_string()),
                ("anthropic-ratelimit-unified-representative-claim".to_owned(), "five_hour".to_owned()),
                ("anthropic-ratelimit-unified-reset".to_owned(), reset.to_string()),
            ];
            let block = json!({"type": "text", "text": ""});
            let delta = json!({"type": "text_delta", "text": text});
            stream_message(out, &body, block, delta, "end_turn", 0.0, &headers)
        }
        Reply::PlanLimit { claim, reset } => {
            let window = if claim == "five_hour" { "5h" } else { "7d" };
            let headers: Vec<(String, String)> = vec![
                ("anthropic-ratelimit-unified-status".into(), "rejected".into()),
                ("anthropic-ratelimit-unified-reset".into(), reset.to_string()),
                ("anthropic-ratelimit-unified-representative-claim".into(), claim.into()),
                (format!("anthropic-ratelimit-unified-{window}-status"), "rejected".into()),
                (format!("anthropic-ratelimit-unified-{window}-reset"), reset.to_string()),
                (format!("anthropic-ratelimit-unified-{window}-utilization"), "1.0".into()),
            ];
            let b = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed your account's rate limit."}}).to_string();
            super::loopback::respond_json(out, 429, &headers, b.as_bytes())
        }
        Reply::Bash { command, then } => {
            shared.lock().unwrap().followup = Some(then);
            let block = json!({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}});
            let delta = json!({"type": "input_json_delta", "partial_json": json!({"command": command, "description": "Run a command"}).to_string()});
            stream_message(out, &body, block, delta, "tool_use", 0.0, &[])
        }
    }
}

fn respond(out: &mut TcpStream, code: u16, body: &[u8]) -> std::io::Result<()> {
    super::loopback::respond_json(out, code, &[], body)
}

fn stream_message(
    out: &mut TcpStream,
    req: &Value,
    block: Value,
    delta: Value,
    stop: &str,
    delay: f64,
    headers: &[(String, String)],
) -> std::io::Result<()> {
    let mut head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n"
            .to_owned();
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    let mut send = |event: &str, data: Value| -> std::io::Result<()> {
        out.write_all(format!("event: {event}\ndata: {data}\n\n").as_bytes())?;
        out.flush()
    };
    send(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": req["model"], "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )?;
    if delay > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(delay));
    }
    send("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": block}))?;
    send("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": delta}))?;
    send("content_block_stop", json!({"type": "content_block_stop", "index": 0}))?;
    send(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
    )?;
    send("message_stop", json!({"type": "message_stop"}))
}
