//! Field validation shared by API bodies and HTML forms: each check returns a
//! `FieldError` naming the field, and callers collect them all before writing.

use crate::platform::error::FieldError;

/// Collects field errors; `finish` turns them into a 422.
#[derive(Default, Debug)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    pub fn add(&mut self, e: Option<FieldError>) {
        if let Some(e) = e {
            self.0.push(e);
        }
    }

    pub fn push(&mut self, field: &str, code: &str, message: &str) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn finish(self) -> Result<(), crate::platform::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::platform::error::AppError::Validation(self.0))
        }
    }
}

/// A required single-line text of at most `max` characters, trimmed.
pub fn required_text(field: &str, value: &str, max: usize) -> Option<FieldError> {
    let v = value.trim();
    if v.is_empty() {
        Some(FieldError::new(field, "required", "is required"))
    } else {
        max_len(field, v, max)
    }
}

pub fn max_len(field: &str, value: &str, max: usize) -> Option<FieldError> {
    if value.chars().count() > max {
        Some(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ))
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        Some(FieldError::new(
            field,
            "invalid_characters",
            "contains control characters",
        ))
    } else {
        None
    }
}

/// An email address: one `@`, a dotted domain, no spaces, at most 254 characters.
pub fn email(field: &str, value: &str) -> Option<FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Some(FieldError::new(field, "required", "is required"));
    }
    let bad = || {
        Some(FieldError::new(
            field,
            "invalid_email",
            "is not a valid email address",
        ))
    };
    if v.chars().count() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = v.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty()
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    None
}

/// Emails compare case-insensitively; they are stored lower-cased.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

/// An `http`/`https` address with a host.
pub fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str()
                .is_some_and(|h| h.contains('.') || h == "localhost")
    })
}

/// A website as people type it (`example.cn`, `https://example.cn/x`): checked and
/// given a scheme when it has none.
pub fn website(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let full = if v.contains("://") {
        v.to_owned()
    } else {
        format!("https://{v}")
    };
    if v.chars().count() > 300 || !is_web_url(&full) {
        return Err(FieldError::new(
            field,
            "invalid_url",
            "is not a web address",
        ));
    }
    Ok(full)
}

/// A phone number: only the characters phone numbers use, and at least 4 digits.
pub fn phone(field: &str, value: &str) -> Option<FieldError> {
    let v = value.trim();
    if v.chars().count() > 40 {
        return Some(FieldError::new(
            field,
            "too_long",
            "must be at most 40 characters",
        ));
    }
    if !crate::platform::normalize::phone_chars_ok(v) {
        return Some(FieldError::new(
            field,
            "invalid_phone",
            "may contain only digits, spaces and + - ( ) . / # *",
        ));
    }
    if crate::platform::normalize::phone_digits(v).len() < 4 {
        return Some(FieldError::new(
            field,
            "invalid_phone",
            "needs at least 4 digits",
        ));
    }
    None
}

/// The first and last day a business date (a sign date, a payment, a due
/// date, an order, a custom date field) may be.
pub const FIRST_DAY: time::Date = time::macros::date!(1970 - 01 - 01);
pub const LAST_DAY: time::Date = time::macros::date!(2100 - 12 - 31);

/// A calendar date `YYYY-MM-DD` with four-digit years, any year (list filters).
pub fn any_date(field: &str, value: &str) -> Result<time::Date, FieldError> {
    let v = value.trim();
    let bad = || FieldError::new(field, "invalid_date", "must be a date (YYYY-MM-DD)");
    // `[year]` alone also reads "-0001" and "+10000".
    if !v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return Err(bad());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, fmt).map_err(|_| bad())
}

/// A business date `YYYY-MM-DD` between `FIRST_DAY` and `LAST_DAY`: every
/// module's dates go through here (birthdays through `birthday`).
pub fn date(field: &str, value: &str) -> Result<time::Date, FieldError> {
    let d = any_date(field, value)?;
    if !(FIRST_DAY..=LAST_DAY).contains(&d) {
        return Err(FieldError::new(
            field,
            "out_of_range",
            format!("must be between {FIRST_DAY} and {LAST_DAY}"),
        ));
    }
    Ok(d)
}

/// A birthday: a date in the past 130 years, not after today.
pub fn birthday(field: &str, value: &str, today: time::Date) -> Result<time::Date, FieldError> {
    let d = any_date(field, value)?;
    // On 29 February the year 130 years back may have no such day: the 28th.
    let earliest = today
        .replace_year(today.year() - 130)
        .or_else(|_| {
            today
                .replace_day(28)
                .and_then(|d| d.replace_year(today.year() - 130))
        })
        .unwrap_or(FIRST_DAY);
    if d > today {
        return Err(FieldError::new(
            field,
            "in_future",
            "must not be in the future",
        ));
    }
    if d < earliest {
        return Err(FieldError::new(
            field,
            "out_of_range",
            format!("must be after {earliest}"),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod date_tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn business_dates_and_birthdays_have_their_ranges() {
        assert!(date("d", "1969-12-31").is_err());
        assert!(date("d", "2100-12-31").is_ok());
        assert!(date("d", "-0001-01-01").is_err());
        assert!(any_date("d", "1900-01-01").is_ok());
        let today = date!(2028 - 02 - 29);
        assert!(birthday("b", "1898-03-01", today).is_ok());
        assert!(birthday("b", "1965-04-02", today).is_ok());
        assert!(birthday("b", "1897-12-31", today).is_err());
        assert!(birthday("b", "2028-03-01", today).is_err());
    }
}

/// An IANA time zone name the zone database knows (`Asia/Shanghai`, `UTC`).
pub fn timezone(field: &str, value: &str) -> Option<FieldError> {
    (!crate::platform::tz::is_known(value)).then(|| {
        FieldError::new(
            field,
            "unknown_timezone",
            "must be a time zone such as Asia/Shanghai",
        )
    })
}

/// One of a fixed set of codes.
/// A point in time: RFC 3339 (`2026-11-25T09:30:00+08:00`), or a form's
/// `YYYY-MM-DDTHH:MM[:SS]` taken as UTC. Whole seconds, in UTC.
pub fn time(field: &str, value: &str) -> Result<time::OffsetDateTime, FieldError> {
    use time::format_description::well_known::Rfc3339;
    let v = value.trim();
    let bad = || {
        FieldError::new(
            field,
            "invalid_time",
            "must be a time such as 2026-11-25T09:30:00Z",
        )
    };
    let t = match time::OffsetDateTime::parse(v, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let with_secs =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
            let no_secs = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
            time::PrimitiveDateTime::parse(v, &with_secs)
                .or_else(|_| time::PrimitiveDateTime::parse(v, &no_secs))
                .map_err(|_| bad())?
                .assume_utc()
        }
    };
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(2000..=2100).contains(&t.year()) {
        return Err(bad());
    }
    Ok(t.replace_nanosecond(0).unwrap_or(t))
}

/// Trimmed, distinct, non-empty tags of at most 30 characters, at most 20 of them
/// (errors on `tags` go into `c`).
pub fn tags(c: &mut Checks, input: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in input {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > 30 {
            c.push("tags", "too_long", "a tag has at most 30 characters");
            break;
        }
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_owned());
        }
    }
    if tags.len() > 20 {
        c.push("tags", "too_long", "at most 20 tags");
    }
    tags
}

pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Option<FieldError> {
    if allowed.contains(&value) {
        None
    } else {
        Some(FieldError::new(
            field,
            "not_an_option",
            format!("must be one of: {}", allowed.join(", ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("email", "li.lei@example.cn").is_none());
        assert!(email("email", "张三@例子.中国").is_none());
        for bad in [
            "", "a", "a@b", "a@@b.cn", "a b@c.cn", "@c.cn", "a@.cn", "a@c..cn",
        ] {
            assert!(email("email", bad).is_some(), "{bad} should be rejected");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(required_text("name", "  ", 10).unwrap().code, "required");
        assert_eq!(
            required_text("name", "abcdefghijk", 10).unwrap().code,
            "too_long"
        );
        assert!(required_text("name", "张三", 2).is_none());
        assert_eq!(
            max_len("name", "a\u{0}b", 10).unwrap().code,
            "invalid_characters"
        );
    }
}
