//! Wall-clock helpers: UTC ISO-8601 formatting, the `now_id` stamp and named zones ([`zone`]),
//! without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

use codex_master_guest_sdk::text::{civil_from_days, days_from_civil};

pub mod zone;

/// Seconds since the Unix epoch, as a float (sub-second precision for lease expiry).
pub fn now_epoch() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-06-07T18:35:46Z` for an epoch time (sub-seconds dropped).
pub fn iso_utc(epoch: f64) -> String {
    let secs = epoch.floor() as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses the forms we write (`YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00]`, naive means UTC).
pub fn parse_iso_utc(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00")).unwrap_or(t);
    let (date, time) = t.split_once('T')?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.splitn(3, ':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let s: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac: f64 = if frac.is_empty() { 0.0 } else { format!("0.{frac}").parse().ok()? };
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) as f64 + frac)
}

/// The seed's `now_id`: `YYYYMMDDTHHMMSSffffffZ`, used in run ids and assignment ids.
pub fn now_id() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}{mo:02}{d:02}T{:02}{:02}{:02}{:06}Z", rem / 3600, rem % 3600 / 60, rem % 60, now.subsec_micros())
}

/// The local time zone's offset from UTC, in seconds.
pub fn local_utc_offset(epoch: i64) -> i32 {
    // SAFETY: localtime_r only writes the tm we pass.
    unsafe {
        let t: libc::time_t = epoch as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_780_857_346.5), "2026-06-07T18:35:46Z");
        assert_eq!(parse_iso_utc("2026-06-07T18:35:46Z"), Some(1_780_857_346.0));
        assert_eq!(parse_iso_utc("1970-01-01T00:16:30"), Some(990.0));
        assert_eq!(parse_iso_utc("2024-02-29T00:00:00.25+00:00"), Some(1_709_164_800.25));
        assert_eq!(parse_iso_utc("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso_utc("garbage"), None);
        assert_eq!(now_id().len(), 22);
    }
}
