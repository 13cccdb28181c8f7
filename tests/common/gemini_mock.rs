//! A loopback mock of the Gemini API (`generateContent` and `streamGenerateContent?alt=sse`),
//! enough to drive the real Gemini CLI offline. The CLI's model router asks for a JSON choice
//! first (a request with `responseMimeType: application/json`): it always gets `flash`. Each
//! turn then takes the next queued reply (or a plain answer).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

#[derive(Clone)]
pub struct GeminiMock {
    pub port: u16,
    queue: Arc<Mutex<VecDeque<Reply>>>,
}

impl GeminiMock {
    pub fn start() -> GeminiMock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let serving = Arc::clone(&queue);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let queue = Arc::clone(&serving);
                std::thread::spawn(move || {
                    let _ = serve(stream, &queue);
                });
            }
        });
        GeminiMock { port, queue }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn push(&self, reply: Reply) {
        self.queue.lock().unwrap().push_back(reply);
    }
}

fn respond(out: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    out.flush()
}

fn candidate(parts: Value) -> Value {
    json!({"candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}})
}

fn serve(stream: TcpStream, queue: &Mutex<VecDeque<Reply>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length.min(64 * 1024 * 1024)];
    reader.read_exact(&mut body)?;
    if path.contains("countTokens") {
        return respond(&mut out, 200, &json!({"totalTokens": 10}));
    }
    let text = String::from_utf8_lossy(&body);
    if text.contains("application/json") {
        // The model router's choice.
        return respond(
            &mut out,
            200,
            &candidate(json!([{"text": json!({"reasoning": "simple", "model_choice": "flash"}).to_string()}])),
        );
    }
    let reply =
        queue.lock().unwrap().pop_front().unwrap_or(Reply::Text { text: "Done: the answer is 42.".into(), delay: 0.0 });
    let parts = match reply {
        Reply::DailyQuota => {
            let error = json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}
            ]}});
            return respond(&mut out, 429, &error);
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
        return respond(&mut out, 200, &candidate(parts));
    }
    out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")?;
    out.write_all(format!("data: {}\r\n\r\n", candidate(parts)).as_bytes())?;
    out.flush()
}
