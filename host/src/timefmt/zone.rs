//! Named time zones (`America/Los_Angeles`) from the system's tz database, without a date crate.
//!
//! A worker CLI prints a reset time in the zone it runs in ("resets 12:57am
//! (America/Los_Angeles)"), which need not be the server's. The offset comes from the zone's
//! TZif file: its transition table, then the POSIX rule of its footer for times past the table
//! (slim files end their tables early). Only names of the database's shape are looked up, in
//! `$TZDIR` or `/usr/share/zoneinfo`; anything odd is no zone.

use codex_master_guest_sdk::text::days_from_civil;

/// Largest TZif file read.
const MAX_TZIF_BYTES: u64 = 256 * 1024;

/// Whether `name` has the shape of a tz database name (`Area/Location`, `UTC`, `Etc/GMT+5`).
pub fn valid_zone_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.split('/').count() <= 3
        && name.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && !part.starts_with('-')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
        })
}

/// The offset from UTC (seconds east) of zone `name` at `epoch`; `None` when the zone is unknown.
pub fn offset_at(name: &str, epoch: i64) -> Option<i32> {
    if !valid_zone_name(name) {
        return None;
    }
    let dir = std::env::var_os("TZDIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| "/usr/share/zoneinfo".into());
    // System data, read-only: a zone may be a symlink to another in the database (UTC).
    let bytes = read_bounded(&dir.join(name))?;
    Tzif::parse(&bytes)?.offset_at(epoch)
}

fn read_bounded(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_TZIF_BYTES).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// The parts of a TZif file an offset needs.
struct Tzif {
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    footer: Option<Rule>,
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Tzif {
    fn parse(b: &[u8]) -> Option<Tzif> {
        if b.get(..4)? != b"TZif" {
            return None;
        }
        let counts = |at: usize| -> Option<[usize; 6]> {
            let mut c = [0usize; 6];
            for (i, slot) in c.iter_mut().enumerate() {
                *slot = be_u32(b, at + 20 + 4 * i)? as usize;
            }
            Some(c)
        };
        let [isut, isstd, leap, time, types, chars] = counts(0)?;
        let v1_len = time * 5 + types * 6 + chars + leap * 8 + isstd + isut;
        let (at, wide) = if b[4] >= b'2' { (44 + v1_len, true) } else { (0, false) };
        if b.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let [isut, isstd, leap, time, types, chars] = counts(at)?;
        let size = if wide { 8 } else { 4 };
        let data = at + 44;
        let idx_at = data + time * size;
        let info_at = idx_at + time;
        let offset_of = |t: usize| -> Option<i32> {
            Some(i32::from_be_bytes(b.get(info_at + 6 * t..info_at + 6 * t + 4)?.try_into().ok()?))
        };
        let mut transitions = Vec::with_capacity(time);
        for i in 0..time {
            let raw = b.get(data + i * size..data + (i + 1) * size)?;
            let when = if wide {
                i64::from_be_bytes(raw.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(raw.try_into().ok()?))
            };
            let ty = *b.get(idx_at + i)? as usize;
            if ty >= types {
                return None;
            }
            transitions.push((when, offset_of(ty)?));
        }
        let initial = offset_of(0)?;
        let end = info_at + types * 6 + chars + leap * (size + 4) + isstd + isut;
        let footer = if wide {
            b.get(end..).and_then(|f| std::str::from_utf8(f).ok()).and_then(|f| Rule::parse(f.trim_matches('\n')))
        } else {
            None
        };
        Some(Tzif { transitions, initial, footer })
    }

    fn offset_at(&self, epoch: i64) -> Option<i32> {
        match self.transitions.iter().rposition(|(t, _)| *t <= epoch) {
            None => Some(self.initial),
            Some(i) if i + 1 == self.transitions.len() => {
                Some(self.footer.as_ref().map_or(self.transitions[i].1, |r| r.offset_at(epoch)))
            }
            Some(i) => Some(self.transitions[i].1),
        }
    }
}

/// A POSIX TZ rule with `M` dates (`PST8PDT,M3.2.0,M11.1.0`), or a fixed offset (`<+0530>-5:30`).
struct Rule {
    std: i32,
    dst: Option<(i32, DateRule, DateRule)>,
}

/// `Mm.w.d/time`: the `w`th (5 = last) weekday `d` of month `m`, at `time` local seconds.
#[derive(Clone, Copy)]
struct DateRule {
    month: u32,
    week: u32,
    weekday: u32,
    time: i64,
}

/// `+hh[:mm[:ss]]` as seconds.
fn parse_hms(s: &str) -> Option<i64> {
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut total = 0i64;
    for (i, part) in s.split(':').enumerate() {
        if i > 2 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        total += part.parse::<i64>().ok()? * [3600, 60, 1][i];
    }
    Some(if neg { -total } else { total })
}

/// Splits a zone abbreviation (`PST`, `<+0530>`) off the front.
fn split_name(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('<') {
        return rest.split_once('>').map(|(_, r)| r);
    }
    let n = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    (n >= 3).then(|| &s[n..])
}

/// Splits the offset that follows a name (up to `,` or the next name).
fn split_offset(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b':')).count();
    (&s[..n], &s[n..])
}

impl DateRule {
    fn parse(s: &str) -> Option<DateRule> {
        let (date, time) = s.split_once('/').unwrap_or((s, "2"));
        let mut parts = date.strip_prefix('M')?.split('.');
        let month: u32 = parts.next()?.parse().ok()?;
        let week: u32 = parts.next()?.parse().ok()?;
        let weekday: u32 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
            return None;
        }
        Some(DateRule { month, week, weekday, time: parse_hms(time)? })
    }

    /// Local seconds since the epoch of this date in `year` (local time, no offset applied).
    fn local_in(self, year: i64) -> i64 {
        let first = days_from_civil(year, self.month, 1);
        // 1970-01-01 was a Thursday (weekday 4).
        let first_weekday = (first + 4).rem_euclid(7) as u32;
        let mut day = first + i64::from((self.weekday + 7 - first_weekday) % 7) + 7 * i64::from(self.week - 1);
        let (ny, nm) = if self.month == 12 { (year + 1, 1) } else { (year, self.month + 1) };
        while day >= days_from_civil(ny, nm, 1) {
            day -= 7;
        }
        day * 86_400 + self.time
    }
}

impl Rule {
    fn parse(s: &str) -> Option<Rule> {
        let rest = split_name(s)?;
        let (off, rest) = split_offset(rest);
        // POSIX offsets are west of UTC.
        let std = -parse_hms(off)? as i32;
        if rest.is_empty() {
            return Some(Rule { std, dst: None });
        }
        let rest = split_name(rest)?;
        let (off, rest) = split_offset(rest);
        let dst = if off.is_empty() { std + 3600 } else { -parse_hms(off)? as i32 };
        let mut rules = rest.strip_prefix(',')?.split(',');
        let start = DateRule::parse(rules.next()?)?;
        let end = DateRule::parse(rules.next()?)?;
        Some(Rule { std, dst: Some((dst, start, end)) })
    }

    fn offset_at(&self, epoch: i64) -> i32 {
        let Some((dst, start, end)) = self.dst else { return self.std };
        let year = codex_master_guest_sdk::text::civil_from_days((epoch + i64::from(self.std)).div_euclid(86_400)).0;
        // The start is given in standard time, the end in daylight time.
        let begins = start.local_in(year) - i64::from(self.std);
        let ends = end.local_in(year) - i64::from(dst);
        let in_dst = if begins < ends { epoch >= begins && epoch < ends } else { epoch >= begins || epoch < ends };
        if in_dst {
            dst
        } else {
            self.std
        }
    }
}

/// The zone a screen names in parentheses after a time ("3pm (America/Los_Angeles)"), the last
/// one when there are several; `None` when it names none we know.
pub fn named_on_screen(text: &str) -> Option<(String, i32)> {
    let mut found = None;
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        let name = &after[..close];
        rest = &after[close..];
        // Zones with an area only: `UTC` alone is read by the classifiers themselves.
        if name.contains('/') && valid_zone_name(name) {
            found = Some(name);
        }
    }
    let name = found?;
    let now = crate::timefmt::now_epoch() as i64;
    offset_at(name, now).map(|o| (name.to_owned(), o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_checked_before_any_lookup() {
        for ok in ["America/Los_Angeles", "UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires"] {
            assert!(valid_zone_name(ok), "{ok}");
        }
        for bad in ["../etc/passwd", "/etc/passwd", "America/../x", "a//b", "", "a b", "x/.hidden", "a/b/c/d"] {
            assert!(!valid_zone_name(bad), "{bad}");
            assert_eq!(offset_at(bad, 0), None);
        }
    }

    #[test]
    fn posix_rules_give_daylight_time() {
        let us = Rule::parse("PST8PDT,M3.2.0,M11.1.0").unwrap();
        // 2026-07-01T00:00Z: daylight time (-7 h); 2026-12-01T00:00Z: standard (-8 h).
        assert_eq!(us.offset_at(1_782_864_000), -7 * 3600);
        assert_eq!(us.offset_at(1_796_083_200), -8 * 3600);
        // 2026-03-08 is the second Sunday of March: 02:00 PST is 10:00Z.
        assert_eq!(us.offset_at(1_772_964_000 - 1), -8 * 3600);
        assert_eq!(us.offset_at(1_772_964_000), -7 * 3600);
        let india = Rule::parse("IST-5:30").unwrap();
        assert_eq!(india.offset_at(0), 5 * 3600 + 1800);
        let south = Rule::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(south.offset_at(1_796_083_200), 11 * 3600);
        assert_eq!(south.offset_at(1_782_864_000), 10 * 3600);
        assert!(Rule::parse("<+0530>-5:30").is_some());
        assert!(Rule::parse("garbage,,").is_none());
    }

    #[test]
    fn the_system_database_is_read_when_present() {
        if !std::path::Path::new("/usr/share/zoneinfo/America/Los_Angeles").is_file() {
            eprintln!("skipped: no tz database");
            return;
        }
        assert_eq!(offset_at("America/Los_Angeles", 1_796_083_200), Some(-8 * 3600));
        assert_eq!(offset_at("America/Los_Angeles", 1_782_864_000), Some(-7 * 3600));
        // Past the table (2100): the footer's rule.
        assert_eq!(offset_at("America/Los_Angeles", 4_118_000_000), Some(-7 * 3600));
        assert_eq!(offset_at("Asia/Kolkata", 1_796_083_200), Some(19_800));
        assert_eq!(offset_at("No/Such_Zone", 0), None);
        let (name, _) = named_on_screen("limit · resets Dec 11, 2:50am (America/Los_Angeles)").unwrap();
        assert_eq!(name, "America/Los_Angeles");
        assert_eq!(named_on_screen("resets 3pm (UTC) (see docs)"), None);
    }
}
