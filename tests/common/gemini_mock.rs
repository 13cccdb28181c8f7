//! A loopback mock of the Gemini API (`generateContent` and `streamGenerateContent?alt=sse`),
//! enough to drive the real Gemini CLI offline. The CLI's model router asks for a JSON choice
//! first (a request with `responseMimeType: application/json`): it always gets `flash`. A new
//! session asks for a summary of the one before it, in the background; that request gets a
//! summary. Each turn then takes the next queued reply (or a plain answer).

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::loopback::Request;

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub enum Reply {
    /// A text answer after `delay` seconds (the turn shows as working meanwhile).
    Text { text: String, delay: f64 },
    /// 429 RESOURCE_EXHAUSTED with a per-day quota violation: a terminal quota error, which the
    /// CLI shows as its usage-limit dialog.
    DailyQuota,
    /// A shell tool call (the permission prompt).
    Shell { command: String },
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Reply>,
    /// Every turn request gets a plain 429 (RESOURCE_EXHAUSTED, per-minute quota) while set.
    rate_limited: bool,
    /// The user texts of the newest turn request, oldest first.
    last_user_texts: Vec<String>,
}

#[derive(Clone)]
pub struct GeminiMock {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl GeminiMock {
    pub fn start() -> GeminiMock {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let port = super::loopback::serve(Arc::clone(&shared), serve);
        GeminiMock { port, shared }
    }

    /// Answers every turn request with a plain 429 while `on` (the CLI retries it silently).
    pub fn rate_limit(&self, on: bool) {
        self.shared.lock().unwrap().rate_limited = on;
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn push(&self, reply: Reply) {
        self.shared.lock().unwrap().queue.push_back(reply);
    }

    /// The user texts the newest turn request carried (the whole conversation so far).
    pub fn last_user_texts(&self) -> Vec<String> {
        self.shared.lock().unwrap().last_user_texts.clone()
    }
}

fn respond(out: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    super::loopback::respond_json(out, code, &[], body.to_string().as_bytes())
}

fn candidate(parts: Value) -> Value {
    json!({"candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}})
}

fn serve(req: Request, out: &mut TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let (path, body) = (req.path, req.body);
    if path.contains("countTokens") {
        return respond(out, 200, &json!({"totalTokens": 10}));
    }
    let text = String::from_utf8_lossy(&body);
    if text.contains("application/json") {
        // The model router's choice.
        return respond(
            out,
            200,
            &candidate(json!([{"text": json!({"reasoning": "simple", "model_choice": "flash"}).to_string()}])),
        );
    }
    if shared.lock().unwrap().rate_limited {
        let error = json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]}
        ]}});
        return respond(out, 429, &error);
    }
    if text.contains("Summarize the user's primary intent") {
        // The CLI's summary of an earlier session, asked for in the background at start: never
        // a turn, so it never takes a queued reply.
        return respond(out, 200, &candidate(json!([{"text": "Answer a question"}])));
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let contents = request["contents"].as_array().map(Vec::as_slice).unwrap_or_default();
    let texts: Vec<String> = contents
        .iter()
        .filter(|c| c["role"] == "user")
        .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect();
    shared.lock().unwrap().last_user_texts = texts;
    let reply = shared.lock().unwrap().queue.pop_front();
    let reply = reply.unwrap_or(Reply::Text { text: "Done: the answer is 42.".into(), delay: 0.0 });
    let parts = match reply {
        Reply::DailyQuota => {
            let error = json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}
            ]}});
            return respond(out, 429, &error);
        }
        Reply::Text { text, delay } => {
            if delay > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(delay));
            }
            json!([{"text": text}])
        }
        Reply::Shell { command } => {
            json!([{"functionCall": {"name": "run_shell_command", "args": {"command": command, "description": "Run a command"}}}])
        }
    };
    if !path.contains("streamGenerateContent") {
        return respond(out, 200, &candidate(parts));
    }
    out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")?;
    out.write_all(format!("data: {}\r\n\r\n", candidate(parts)).as_bytes())?;
    out.flush()
}
