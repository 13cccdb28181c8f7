//! Text folding and a one-pass needle search, shared by the screen model and the message rules.

/// Appends `s` lower-cased, with curly apostrophes and non-breaking spaces made plain and
/// runs of whitespace collapsed to one space. One pass, no intermediate strings.
pub fn fold_into(out: &mut String, s: &str) {
    let mut space = out.is_empty() || out.ends_with(' ');
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_whitespace() {
                if !space {
                    out.push(' ');
                    space = true;
                }
            } else {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
            continue;
        }
        let c = match c {
            '\u{2019}' | '\u{2018}' | '\u{02bc}' => '\'',
            '\u{00a0}' | '\u{2007}' | '\u{202f}' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        match c {
            // Box drawing, block elements and geometric shapes (TUI frames): no case.
            '\u{2500}'..='\u{25ff}' | '\'' => out.push(c),
            c => out.extend(c.to_lowercase()),
        }
    }
}

pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(&mut out, s);
    out.trim_end().to_owned()
}

/// A set of needles searched for in one pass. Most blocks match none, and `str::contains`
/// builds a searcher per call, which made the per-block gate the bulk of a classify call.
pub struct Needles {
    first_bytes: [bool; 256],
    words: &'static [&'static str],
}

impl Needles {
    pub const fn new(words: &'static [&'static str]) -> Needles {
        let mut first_bytes = [false; 256];
        let mut i = 0;
        while i < words.len() {
            first_bytes[words[i].as_bytes()[0] as usize] = true;
            i += 1;
        }
        Needles { first_bytes, words }
    }

    pub fn found_in(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        (0..bytes.len()).any(|i| {
            self.first_bytes[bytes[i] as usize] && self.words.iter().any(|w| bytes[i..].starts_with(w.as_bytes()))
        })
    }
}
