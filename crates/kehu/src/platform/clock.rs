//! Time for the whole application. Handlers and jobs ask the clock, never the OS,
//! so that tests can move time forward without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The current time in UTC, in whole seconds. SQLite keeps times as RFC 3339
    /// text and compares them as text, which is only right when every value has
    /// the same shape; records of the same second are ordered by their
    /// time-ordered (UUIDv7) ids.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc()
            + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        now.replace_nanosecond(0).unwrap_or(now)
    }

    /// Moves this clock forward (tests only, but harmless elsewhere).
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }
}

/// A date as pages show it (`2026-12-03`).
pub fn day(t: &time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    t.format(fmt).unwrap_or_default()
}

/// A time to the minute as pages show it (`2026-12-03 09:54`).
pub fn minute(t: &time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(fmt).unwrap_or_default()
}
