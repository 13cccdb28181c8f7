//! Reading MCP stdio frames with a hard size cap.
//!
//! The MCP stdio transport is one JSON-RPC message per `\n`-terminated line. Old clients that
//! send LSP-style `Content-Length:` headers are still understood. The cap is enforced while
//! reading: an over-long frame is never buffered, its remaining bytes are discarded up to the
//! end of the frame, and the caller is told so it can answer with an error and keep serving.

use std::io::{BufRead, Read};

/// Largest accepted frame (line or Content-Length body): 1 MiB.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// One unit read from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete frame's bytes (surrounding whitespace trimmed).
    Message(Vec<u8>),
    /// A frame over the cap; it was discarded.
    Oversized,
    /// A malformed Content-Length header block or a body cut short by EOF.
    BadFrame(&'static str),
    /// End of input.
    Eof,
}

enum Line {
    Bytes(Vec<u8>),
    TooLong,
    Eof,
}

pub struct FrameReader<R> {
    inner: R,
    cap: usize,
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &bytes[start..end]
}

impl<R: BufRead> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader { inner, cap: MAX_FRAME_BYTES }
    }

    pub fn with_cap(inner: R, cap: usize) -> Self {
        FrameReader { inner, cap }
    }

    /// Reads one line of at most `cap` bytes (newline excluded). A longer line is consumed
    /// through its newline without being kept.
    fn read_line(&mut self) -> std::io::Result<Line> {
        let mut buf = Vec::new();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(match (too_long || buf.len() > self.cap, saw_any) {
                    (true, _) => Line::TooLong,
                    (false, true) => Line::Bytes(buf),
                    (false, false) => Line::Eof,
                });
            }
            saw_any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            // One byte of room over the cap for a `\r` before the newline, which is no part of
            // the frame.
            if !too_long {
                if buf.len() + chunk.len() > self.cap + 1 {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = done.unwrap_or(available.len());
            self.inner.consume(used);
            if done.is_some() {
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                return Ok(if too_long || buf.len() > self.cap { Line::TooLong } else { Line::Bytes(buf) });
            }
        }
    }

    /// The next frame. Blank lines are skipped.
    pub fn next_frame(&mut self) -> std::io::Result<Frame> {
        loop {
            let bytes = match self.read_line()? {
                Line::Eof => return Ok(Frame::Eof),
                Line::TooLong => return Ok(Frame::Oversized),
                Line::Bytes(b) => b,
            };
            let line = trim(&bytes);
            if line.is_empty() {
                continue;
            }
            if line.len() >= 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
                return self.read_content_length_body(&line[15..]);
            }
            return Ok(Frame::Message(line.to_vec()));
        }
    }

    fn read_content_length_body(&mut self, value: &[u8]) -> std::io::Result<Frame> {
        let length = std::str::from_utf8(trim(value)).ok().and_then(|v| v.parse::<u64>().ok());
        // Skip further headers up to the blank separator line.
        loop {
            match self.read_line()? {
                Line::Eof => return Ok(Frame::BadFrame("incomplete message: headers not terminated")),
                Line::TooLong => return Ok(Frame::Oversized),
                Line::Bytes(b) if trim(&b).is_empty() => break,
                Line::Bytes(_) => {}
            }
        }
        let Some(length) = length.filter(|l| *l > 0) else {
            return Ok(Frame::BadFrame("invalid Content-Length header"));
        };
        if length > self.cap as u64 {
            std::io::copy(&mut (&mut self.inner).take(length), &mut std::io::sink())?;
            return Ok(Frame::Oversized);
        }
        let mut body = vec![0u8; length as usize];
        let mut filled = 0;
        while filled < body.len() {
            let n = match self.inner.read(&mut body[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(Frame::BadFrame("incomplete message body"));
            }
            filled += n;
        }
        Ok(Frame::Message(trim(&body).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], cap: usize) -> Vec<Frame> {
        let mut reader = FrameReader::with_cap(std::io::BufReader::with_capacity(8, input), cap);
        let mut out = Vec::new();
        loop {
            let f = reader.next_frame().unwrap();
            let end = f == Frame::Eof;
            out.push(f);
            if end {
                return out;
            }
        }
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(s.as_bytes().to_vec())
    }

    #[test]
    fn lines_blank_lines_and_oversize() {
        let input = b"{\"a\":1}\n\n  \r\n{\"b\":22222222222}\n{\"c\":3}\r\n{\"d\":4}";
        assert_eq!(
            frames(input, 12),
            vec![msg("{\"a\":1}"), Frame::Oversized, msg("{\"c\":3}"), msg("{\"d\":4}"), Frame::Eof]
        );
    }

    #[test]
    fn a_frame_at_the_cap_is_accepted_with_or_without_a_carriage_return() {
        let exact = "{\"e\":\"xxxx\"}";
        let cap = exact.len();
        for line in [format!("{exact}\n"), format!("{exact}\r\n"), exact.to_owned()] {
            assert_eq!(frames(line.as_bytes(), cap), vec![msg(exact), Frame::Eof], "{line:?}");
        }
        assert_eq!(frames(format!("{exact}x\r\n").as_bytes(), cap), vec![Frame::Oversized, Frame::Eof]);
        assert_eq!(frames(format!("{exact}x").as_bytes(), cap), vec![Frame::Oversized, Frame::Eof]);
    }

    #[test]
    fn content_length_frames() {
        let input = b"Content-Length: 7\r\nContent-Type: x\r\n\r\n{\"a\":1}{\"b\":2}\nContent-Length: 99\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n{\"c\":3}\n";
        let got = frames(input, 20);
        assert_eq!(
            got,
            vec![msg("{\"a\":1}"), msg("{\"b\":2}"), Frame::Oversized, msg("9"), msg("{\"c\":3}"), Frame::Eof]
        );
    }

    #[test]
    fn bad_content_length() {
        assert_eq!(
            frames(b"Content-Length: x\r\n\r\n{}\n", 20),
            vec![Frame::BadFrame("invalid Content-Length header"), msg("{}"), Frame::Eof]
        );
        assert_eq!(
            frames(b"Content-Length: 20\r\n\r\n{}", 64),
            vec![Frame::BadFrame("incomplete message body"), Frame::Eof]
        );
    }
}
