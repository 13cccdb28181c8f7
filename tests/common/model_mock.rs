//! A loopback mock of the OpenAI Responses API (`POST /v1/responses`, streamed as SSE), enough
//! to drive the real Codex CLI offline.
//!
//! Each turn request takes the next queued [`Reply`] (or the default). Codex also asks for a
//! thread title on the side (a request with a JSON output schema); those never consume a reply.
//! By default they fail, as they do when a real title request fails: Codex 0.171 then shows
//! the thread's first prompt in its footer. A tool call's follow-up request (the one that carries the tool's output)
//! gets the call's closing answer.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::loopback::Request;

use serde_json::{json, Value};

/// What the mock answers to one turn request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A plain assistant message.
    Answer(String),
    /// A message that arrives after `seconds` (the turn shows as working meanwhile).
    Slow { text: String, seconds: f64 },
    /// Codex's `exec` tool runs `js`; the follow-up request is answered with `then`.
    ToolCall { js: String, then: String },
    /// An HTTP error with headers and a JSON body (429 usage limits, 400 context window, 5xx).
    Status { code: u16, headers: Vec<(String, String)>, body: Value },
    /// A message whose response carries headers (the rate-limit windows Codex warns about).
    AnswerWithHeaders { text: String, headers: Vec<(String, String)> },
    /// A call of an MCP tool (Codex lists an MCP server's tools as a namespace of functions);
    /// the follow-up request, which carries the tool's output, is answered with `then`.
    McpCall { namespace: String, tool: String, arguments: Value, then: String },
}

impl Reply {
    pub fn answer(text: &str) -> Reply {
        Reply::Answer(text.to_owned())
    }

    /// `usage_limit_reached` for a plan, resetting at `resets_at` (epoch seconds).
    pub fn usage_limit(plan: &str, resets_at: Option<u64>) -> Reply {
        let mut error = json!({"type": "usage_limit_reached", "plan_type": plan});
        if let Some(r) = resets_at {
            error["resets_at"] = json!(r);
        }
        Reply::Status { code: 429, headers: Vec::new(), body: json!({ "error": error }) }
    }

    /// A usage limit with `x-codex-rate-limit-reached-type` (workspace credits, spend caps).
    pub fn reached_type(kind: &str) -> Reply {
        Reply::Status {
            code: 429,
            headers: vec![("x-codex-rate-limit-reached-type".into(), kind.into())],
            body: json!({"error": {"type": "usage_limit_reached", "plan_type": "team"}}),
        }
    }

    /// A per-model bucket: the active limit names its model.
    pub fn model_bucket(label: &str, resets_at: u64) -> Reply {
        Reply::Status {
            code: 429,
            headers: vec![
                ("x-codex-active-limit".into(), "codex_bucket".into()),
                ("x-codex-bucket-primary-used-percent".into(), "100".into()),
                ("x-codex-bucket-primary-window-minutes".into(), "300".into()),
                ("x-codex-bucket-limit-name".into(), label.into()),
            ],
            body: json!({"error": {"type": "usage_limit_reached", "plan_type": "pro", "resets_at": resets_at}}),
        }
    }

    pub fn too_many_requests() -> Reply {
        Reply::Status {
            code: 429,
            headers: Vec::new(),
            body: json!({"error": {"type": "rate_limit_exceeded", "message": "Rate limit reached"}}),
        }
    }

    pub fn context_window() -> Reply {
        Reply::Status {
            code: 400,
            headers: Vec::new(),
            body: json!({"error": {"code": "context_length_exceeded", "message": "Your input exceeds the context window of this model."}}),
        }
    }

    pub fn server_error() -> Reply {
        Reply::Status { code: 500, headers: Vec::new(), body: json!({"error": {"message": "internal"}}) }
    }

    /// Usage windows high enough for Codex's warning (and, on a model with a cheaper sibling,
    /// the switch-model popup).
    pub fn near_limits(text: &str, primary_used: u32) -> Reply {
        Reply::AnswerWithHeaders {
            text: text.to_owned(),
            headers: vec![
                ("x-codex-primary-used-percent".into(), primary_used.to_string()),
                ("x-codex-primary-window-minutes".into(), "300".into()),
                ("x-codex-primary-reset-after-seconds".into(), "3600".into()),
                ("x-codex-secondary-used-percent".into(), "40".into()),
                ("x-codex-secondary-window-minutes".into(), "10080".into()),
            ],
        }
    }
}

/// One turn request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The `input_text` spans of user messages, in order.
    pub user_texts: Vec<String>,
    /// The model the request named.
    pub model: Option<String>,
    /// The texts of tool outputs the request carries (what our tools answered Codex).
    pub tool_outputs: Vec<String>,
    /// The names of the tools and tool namespaces the request offered the model.
    pub tools: Vec<String>,
    /// The whole request body (instructions, skills, tools), for checks of what Codex offered.
    pub body: String,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Reply>,
    default: Option<Reply>,
    /// The closing answer of a tool call in flight.
    tool_followup: Option<String>,
    /// The answer to title requests; `None` fails them.
    title: Option<String>,
    seen: Vec<Seen>,
}

/// The mock server; it stops with the test process.
#[derive(Clone)]
pub struct ModelMock {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl ModelMock {
    pub fn start() -> ModelMock {
        let shared = Arc::new(Mutex::new(Shared {
            default: Some(Reply::answer("Done: the answer is 42.")),
            ..Shared::default()
        }));
        let port = super::loopback::serve(Arc::clone(&shared), serve);
        ModelMock { port, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Queues replies for the next turn requests.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().unwrap().queue.push_back(reply);
    }

    /// Answers title requests with `title` (`None`: fail them).
    pub fn set_title(&self, title: Option<&str>) {
        self.shared.lock().unwrap().title = title.map(str::to_owned);
    }

    pub fn set_default(&self, reply: Reply) {
        self.shared.lock().unwrap().default = Some(reply);
    }

    /// Turn requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    /// The `config.toml` lines that point a Codex home at this mock, with no retries.
    pub fn codex_config(&self) -> String {
        format!(
            "model_provider = \"mock\"\n\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nrequires_openai_auth = false\nsupports_websockets = false\nrequest_max_retries = 0\nstream_max_retries = 0\n",
            self.base_url()
        )
    }
}

fn serve(req: Request, out: &mut TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    if req.method != "POST" {
        return respond_json(out, 200, &[], &json!({"models": []}));
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    // The side request for a thread title asks for a JSON schema.
    if body["text"]["format"]["type"] == "json_schema" {
        let title = shared.lock().unwrap().title.clone();
        return match title {
            Some(t) => respond_sse(out, &[], &message_events(&json!({ "title": t }).to_string()), 0.0),
            None => respond_json(out, 500, &[], &json!({"error": {"message": "no title"}})),
        };
    }
    let inputs = body["input"].as_array().cloned().unwrap_or_default();
    let tool_output =
        inputs.iter().any(|i| matches!(i["type"].as_str(), Some("custom_tool_call_output" | "function_call_output")));
    let reply = {
        let mut s = shared.lock().unwrap();
        let user_texts = inputs
            .iter()
            .filter(|i| i["type"] == "message" && i["role"] == "user")
            .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["type"] == "input_text")
            .filter_map(|c| c["text"].as_str().map(str::to_owned))
            .collect();
        let tool_outputs = inputs
            .iter()
            .filter(|i| matches!(i["type"].as_str(), Some("custom_tool_call_output" | "function_call_output")))
            .map(|i| match &i["output"] {
                Value::String(t) => t.clone(),
                Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
                other => other.to_string(),
            })
            .collect();
        let tools = body["tools"]
            .as_array()
            .map(|ts| ts.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let text = body.to_string();
        s.seen.push(Seen {
            user_texts,
            model: body["model"].as_str().map(str::to_owned),
            tool_outputs,
            tools,
            body: text,
        });
        match (tool_output, s.tool_followup.take()) {
            (true, Some(then)) => Reply::Answer(then),
            _ => s.queue.pop_front().or_else(|| s.default.clone()).unwrap_or_else(|| Reply::answer("ok")),
        }
    };
    match reply {
        Reply::Answer(text) => respond_sse(out, &[], &message_events(&text), 0.0),
        Reply::Slow { text, seconds } => respond_sse(out, &[], &message_events(&text), seconds),
        Reply::AnswerWithHeaders { text, headers } => respond_sse(out, &headers, &message_events(&text), 0.0),
        Reply::ToolCall { js, then } => {
            shared.lock().unwrap().tool_followup = Some(then);
            let events = vec![
                json!({"type": "response.created", "response": {"id": "resp_tool"}}),
                json!({"type": "response.output_item.done", "item": {"type": "custom_tool_call", "call_id": "call_1", "name": "exec", "input": js}}),
                completed("resp_tool"),
            ];
            respond_sse(out, &[], &events, 0.0)
        }
        Reply::McpCall { namespace, tool, arguments, then } => {
            shared.lock().unwrap().tool_followup = Some(then);
            let item = json!({"type": "function_call", "call_id": "call_mcp", "namespace": namespace, "name": tool, "arguments": arguments.to_string()});
            let events = vec![
                json!({"type": "response.created", "response": {"id": "resp_mcp"}}),
                json!({"type": "response.output_item.done", "item": item}),
                completed("resp_mcp"),
            ];
            respond_sse(out, &[], &events, 0.0)
        }
        Reply::Status { code, headers, body } => respond_json(out, code, &headers, &body),
    }
}

fn completed(id: &str) -> Value {
    json!({"type": "response.completed", "response": {"id": id, "usage": {"input_tokens": 10, "input_tokens_details": null, "output_tokens": 5, "output_tokens_details": null, "total_tokens": 15}}})
}

fn message_events(text: &str) -> Vec<Value> {
    vec![
        json!({"type": "response.created", "response": {"id": "resp_1"}}),
        json!({"type": "response.output_item.done", "item": {"type": "message", "role": "assistant", "id": "msg_1", "content": [{"type": "output_text", "text": text}]}}),
        completed("resp_1"),
    ]
}

fn respond_json(out: &mut TcpStream, code: u16, headers: &[(String, String)], body: &Value) -> std::io::Result<()> {
    super::loopback::respond_json(out, code, headers, body.to_string().as_bytes())
}

/// Streams `events`; with `delay`, the first event goes out at once and the rest after it.
fn respond_sse(out: &mut TcpStream, headers: &[(String, String)], events: &[Value], delay: f64) -> std::io::Result<()> {
    let mut head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n"
            .to_owned();
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    for (i, ev) in events.iter().enumerate() {
        out.write_all(format!("event: {}\ndata: {ev}\n\n", ev["type"].as_str().unwrap_or("message")).as_bytes())?;
        out.flush()?;
        if i == 0 && delay > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(delay));
        }
    }
    Ok(())
}
