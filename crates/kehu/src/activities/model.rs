//! Activity types and validation (no SQL, no HTTP).

use crate::entities::activity;
use crate::platform::validate::{Checks, max_len, one_of};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const KINDS: &[&str] = &["call", "email", "meeting", "visit", "message", "note"];

/// Who took part: users and contacts (ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
}

/// An activity as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: String,
    /// `call`, `email`, `meeting`, `visit`, `message` or `note`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub duration_minutes: Option<i32>,
    pub location: Option<String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    /// One of the administrator-defined results (`GET /api/v1/settings/activity-results`).
    pub result: Option<String>,
    pub next_step: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_follow_up_at: Option<OffsetDateTime>,
    pub customer_id: Option<String>,
    pub contact_id: Option<String>,
    pub lead_id: Option<String>,
    pub participants: Participants,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
}

impl From<activity::Model> for ActivityView {
    fn from(m: activity::Model) -> Self {
        ActivityView {
            participants: serde_json::from_str(&m.participants).unwrap_or_default(),
            id: m.id,
            kind: m.kind,
            occurred_at: m.occurred_at,
            duration_minutes: m.duration_minutes,
            location: m.location,
            subject: m.subject,
            content: m.content,
            result: m.result,
            next_step: m.next_step,
            next_follow_up_at: m.next_follow_up_at,
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            lead_id: m.lead_id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
        }
    }
}

/// `POST /api/v1/activities`: on a customer, a contact (its customer is
/// implied) or a lead. Times are RFC 3339; `occurred_at` defaults to now.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub kind: String,
    pub occurred_at: Option<String>,
    pub duration_minutes: Option<i32>,
    pub location: Option<String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    pub result: Option<String>,
    pub next_step: Option<String>,
    /// Creates the follow-up task for you, due then (must be in the future).
    pub next_follow_up_at: Option<String>,
    pub customer_id: Option<String>,
    pub contact_id: Option<String>,
    pub lead_id: Option<String>,
    pub participants: Option<Participants>,
}

/// `PATCH /api/v1/activities/{id}`: the fields sent change (the related record does not).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    pub kind: Option<String>,
    pub occurred_at: Option<String>,
    pub duration_minutes: Option<i32>,
    pub location: Option<String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    pub result: Option<String>,
    pub next_step: Option<String>,
    pub version: Option<i64>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The free-text and choice fields of an activity, checked.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub kind: String,
    pub duration_minutes: Option<i32>,
    pub location: Option<String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    pub result: Option<String>,
    pub next_step: Option<String>,
}

impl Body {
    pub fn from_new(n: &NewActivity) -> Body {
        Body {
            kind: n.kind.trim().to_owned(),
            duration_minutes: n.duration_minutes,
            location: clean(&n.location),
            subject: clean(&n.subject),
            content: clean(&n.content),
            result: clean(&n.result),
            next_step: clean(&n.next_step),
        }
    }

    pub fn from_model(m: &activity::Model) -> Body {
        Body {
            kind: m.kind.clone(),
            duration_minutes: m.duration_minutes,
            location: m.location.clone(),
            subject: m.subject.clone(),
            content: m.content.clone(),
            result: m.result.clone(),
            next_step: m.next_step.clone(),
        }
    }

    pub fn patch(mut self, p: &ActivityPatch) -> Body {
        if let Some(k) = &p.kind {
            self.kind = k.trim().to_owned();
        }
        if p.duration_minutes.is_some() {
            self.duration_minutes = p.duration_minutes;
        }
        for (target, v) in [
            (&mut self.location, &p.location),
            (&mut self.subject, &p.subject),
            (&mut self.content, &p.content),
            (&mut self.result, &p.result),
            (&mut self.next_step, &p.next_step),
        ] {
            if v.is_some() {
                *target = clean(v);
            }
        }
        self
    }

    /// `results` are the administrator-defined activity results.
    pub fn check(&self, results: &[String]) -> Checks {
        let mut c = Checks::default();
        c.add(one_of("kind", &self.kind, KINDS));
        for (field, v, max) in [
            ("location", &self.location, 200),
            ("subject", &self.subject, 200),
            ("content", &self.content, 20_000),
            ("next_step", &self.next_step, 2_000),
        ] {
            if let Some(v) = v {
                c.add(max_len(field, v, max));
            }
        }
        if self.subject.is_none() && self.content.is_none() {
            c.push(
                "content",
                "required",
                "say what happened (a subject or content)",
            );
        }
        if let Some(d) = self.duration_minutes
            && !(0..=24 * 60).contains(&d)
        {
            c.push(
                "duration_minutes",
                "out_of_range",
                "must be between 0 and 1440",
            );
        }
        if let Some(r) = &self.result
            && !results.iter().any(|x| x == r)
        {
            c.push(
                "result",
                "not_an_option",
                &format!("must be one of: {}", results.join(", ")),
            );
        }
        c
    }
}

/// The timeline's view of an activity.
pub fn timeline_changes(m: &activity::Model) -> Value {
    let mut o = serde_json::Map::new();
    for (k, v) in [
        ("subject", &m.subject),
        ("content", &m.content),
        ("result", &m.result),
        ("next_step", &m.next_step),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), serde_json::json!([null, v]));
        }
    }
    Value::Object(o)
}
