//! Local time. Kehu keeps and answers every point in time in UTC; pages show
//! it in the reader's time zone (an IANA name such as `Asia/Shanghai`, kept
//! on the user) and take form times as local times there. Days that are days
//! (due dates, birthdays, close dates) are dates and never move.
//!
//! The zone database is compiled in (jiff's bundled tzdb), so a server
//! without `/usr/share/zoneinfo` shows the same times.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Out of the box, for the company and its first users.
pub const DEFAULT: &str = "Asia/Shanghai";

fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::db().get(name).ok()
}

/// Whether `name` is a time zone of the database (`Asia/Shanghai`, `UTC`).
pub fn is_known(name: &str) -> bool {
    !name.is_empty() && zone(name).is_some()
}

/// Every zone name of the database, sorted, for pickers.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// `(name, "name (UTC+08:00)")` of every zone, for a select.
pub fn choices(now: OffsetDateTime) -> Vec<(String, String)> {
    names()
        .into_iter()
        .map(|n| {
            let label = format!("{n} ({})", offset_label(now, &n));
            (n, label)
        })
        .collect()
}

/// The offset from UTC in `tz` at the instant `t` (UTC for an unknown zone).
fn offset_at(t: OffsetDateTime, tz: &str) -> UtcOffset {
    let Some(z) = zone(tz) else {
        return UtcOffset::UTC;
    };
    let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else {
        return UtcOffset::UTC;
    };
    UtcOffset::from_whole_seconds(z.to_offset(ts).seconds()).unwrap_or(UtcOffset::UTC)
}

/// `t` as a wall-clock time in `tz`.
pub fn local(t: OffsetDateTime, tz: &str) -> OffsetDateTime {
    t.to_offset(offset_at(t, tz))
}

/// A wall-clock time in `tz` as an instant. A time skipped by a clock change
/// is taken as if the clock had not changed; a repeated one as its first.
pub fn from_local(t: PrimitiveDateTime, tz: &str) -> OffsetDateTime {
    let Some(z) = zone(tz) else {
        return t.assume_utc();
    };
    let civil = jiff::civil::DateTime::new(
        t.year() as i16,
        u8::from(t.month()) as i8,
        t.day() as i8,
        t.hour() as i8,
        t.minute() as i8,
        t.second() as i8,
        0,
    );
    match civil.and_then(|c| z.to_ambiguous_timestamp(c).compatible()) {
        Ok(ts) => OffsetDateTime::from_unix_timestamp(ts.as_second())
            .map(|u| u.to_offset(UtcOffset::UTC))
            .unwrap_or_else(|_| t.assume_utc()),
        Err(_) => t.assume_utc(),
    }
}

/// A form's time (`YYYY-MM-DDTHH:MM[:SS]`, what `<input type="datetime-local">`
/// sends) read as a wall-clock time in `tz`, written as RFC 3339 for the
/// stores; anything else (RFC 3339 already, a blank, a typo) is passed on
/// as it came, for the store's check to judge.
pub fn form_time(value: &str, tz: &str) -> String {
    let v = value.trim();
    let with_secs =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let no_secs = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    match PrimitiveDateTime::parse(v, &with_secs).or_else(|_| PrimitiveDateTime::parse(v, &no_secs))
    {
        Ok(t) => from_local(t, tz)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| v.to_owned()),
        Err(_) => value.to_owned(),
    }
}

/// `t` in `tz` as a form's `datetime-local` value (`2026-12-03T09:30`).
pub fn form_value(t: OffsetDateTime, tz: &str) -> String {
    local(t, tz)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap_or_default()
}

/// `t` in `tz` to the minute, as pages show it (`2026-12-03 09:30`).
pub fn minute(t: OffsetDateTime, tz: &str) -> String {
    crate::platform::clock::minute(&local(t, tz))
}

/// The day `t` falls on in `tz` (`2026-12-03`).
pub fn day(t: OffsetDateTime, tz: &str) -> String {
    crate::platform::clock::day(&local(t, tz))
}

/// The zone's offset now, as people write it (`UTC+08:00`).
pub fn offset_label(now: OffsetDateTime, tz: &str) -> String {
    let o = offset_at(now, tz);
    let (h, m, _) = o.as_hms();
    format!(
        "UTC{}{:02}:{:02}",
        if o.is_negative() { '-' } else { '+' },
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_shown_and_read_in_the_readers_zone() {
        let t = datetime!(2026-12-03 02:00 UTC);
        assert_eq!(minute(t, "Asia/Shanghai"), "2026-12-03 10:00");
        assert_eq!(minute(t, "America/New_York"), "2026-12-02 21:00");
        assert_eq!(day(t, "America/New_York"), "2026-12-02");
        assert_eq!(minute(t, "No/Such_Zone"), "2026-12-03 02:00");
        assert_eq!(form_value(t, "Asia/Shanghai"), "2026-12-03T10:00");
        assert_eq!(
            form_time("2026-12-03T10:00", "Asia/Shanghai"),
            "2026-12-03T02:00:00Z"
        );
        // Summer time: New York is UTC-4 in July, UTC-5 in December.
        assert_eq!(
            form_time("2026-07-01T09:00", "America/New_York"),
            "2026-07-01T13:00:00Z"
        );
        assert_eq!(
            form_time("2026-12-01T09:00", "America/New_York"),
            "2026-12-01T14:00:00Z"
        );
        // A time the spring change skips is read as if the clock had not moved.
        assert_eq!(
            form_time("2026-03-08T02:30", "America/New_York"),
            "2026-03-08T07:30:00Z"
        );
        // What is not a bare local time goes on unchanged, for the store to judge.
        assert_eq!(
            form_time("2026-12-03T10:00:00+08:00", "UTC"),
            "2026-12-03T10:00:00+08:00"
        );
        assert_eq!(form_time("soon", "UTC"), "soon");
        assert_eq!(offset_label(t, "Asia/Shanghai"), "UTC+08:00");
        assert_eq!(offset_label(t, "Asia/Kolkata"), "UTC+05:30");
        assert_eq!(offset_label(t, "America/St_Johns"), "UTC-03:30");
        assert!(is_known("Asia/Shanghai") && is_known("UTC") && !is_known("Mars/Olympus"));
        assert!(names().iter().any(|n| n == "Europe/Berlin"));
    }
}
