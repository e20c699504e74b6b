//! Lead types and validation (no SQL, no HTTP).

use crate::entities::{lead, lead_form};
use crate::platform::api::double_option;
use crate::platform::validate::{self, Checks, max_len, one_of, required_text};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const STATUSES: &[&str] = &["new", "contacting", "qualified", "unqualified", "converted"];

/// A lead as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadView {
    pub id: String,
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// One of the administrator-defined sources (`GET /api/v1/settings/lead-sources`).
    pub source: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    /// The web-to-lead form it came through.
    pub form_id: Option<String>,
    /// `new`, `contacting`, `qualified`, `unqualified` or `converted`.
    pub status: String,
    /// 0–100.
    pub score: i32,
    pub tags: Vec<String>,
    /// Null: not assigned yet.
    pub owner_id: Option<String>,
    pub disqualify_reason: Option<String>,
    pub notes: Option<String>,
    #[schema(value_type = Object)]
    pub custom: Value,
    /// What it became.
    pub converted_customer_id: Option<String>,
    pub converted_contact_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub converted_at: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

impl From<lead::Model> for LeadView {
    fn from(m: lead::Model) -> Self {
        LeadView {
            tags: serde_json::from_str(&m.tags).unwrap_or_default(),
            custom: serde_json::from_str(&m.custom).unwrap_or(Value::Object(Map::new())),
            id: m.id,
            name: m.name,
            company: m.company,
            title: m.title,
            phone: m.phone,
            email: m.email,
            wechat: m.wechat,
            source: m.source,
            campaign_id: m.campaign_id,
            partner_id: m.partner_id,
            form_id: m.form_id,
            status: m.status,
            score: m.score,
            owner_id: m.owner_id,
            disqualify_reason: m.disqualify_reason,
            notes: m.notes,
            converted_customer_id: m.converted_customer_id,
            converted_contact_id: m.converted_contact_id,
            converted_at: m.converted_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
            deleted_at: m.deleted_at,
        }
    }
}

/// `POST /api/v1/leads`. Omit `owner_id` to own it yourself; `null` leaves it unassigned.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub source: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    pub status: Option<String>,
    pub score: Option<i32>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    pub disqualify_reason: Option<String>,
    pub notes: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
}

/// `PATCH /api/v1/leads/{id}`: only the fields sent change; `null` clears a field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub wechat: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    pub status: Option<String>,
    pub score: Option<i32>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub disqualify_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub version: Option<i64>,
}

/// Every field of a lead after a create or a patch, before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub source: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    pub status: String,
    pub score: i32,
    pub tags: Vec<String>,
    pub owner_id: Option<String>,
    pub disqualify_reason: Option<String>,
    pub notes: Option<String>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Draft {
    pub fn from_new(n: &NewLead, me: &str) -> Draft {
        Draft {
            name: n.name.trim().to_owned(),
            company: clean(n.company.clone()),
            title: clean(n.title.clone()),
            phone: clean(n.phone.clone()),
            email: clean(n.email.clone()).map(|e| validate::normalize_email(&e)),
            wechat: clean(n.wechat.clone()),
            source: clean(n.source.clone()),
            campaign_id: clean(n.campaign_id.clone()),
            partner_id: clean(n.partner_id.clone()),
            status: clean(n.status.clone()).unwrap_or_else(|| "new".into()),
            score: n.score.unwrap_or(0),
            tags: n.tags.clone().unwrap_or_default(),
            owner_id: match &n.owner_id {
                None => Some(me.to_owned()),
                Some(o) => clean(o.clone()),
            },
            disqualify_reason: clean(n.disqualify_reason.clone()),
            notes: clean(n.notes.clone()),
        }
    }

    pub fn from_view(v: &LeadView) -> Draft {
        Draft {
            name: v.name.clone(),
            company: v.company.clone(),
            title: v.title.clone(),
            phone: v.phone.clone(),
            email: v.email.clone(),
            wechat: v.wechat.clone(),
            source: v.source.clone(),
            campaign_id: v.campaign_id.clone(),
            partner_id: v.partner_id.clone(),
            status: v.status.clone(),
            score: v.score,
            tags: v.tags.clone(),
            owner_id: v.owner_id.clone(),
            disqualify_reason: v.disqualify_reason.clone(),
            notes: v.notes.clone(),
        }
    }

    pub fn patch(mut self, p: &LeadPatch) -> Draft {
        fn set(target: &mut Option<String>, v: &Option<Option<String>>) {
            if let Some(v) = v {
                *target = clean(v.clone());
            }
        }
        if let Some(n) = &p.name {
            self.name = n.trim().to_owned();
        }
        if let Some(s) = &p.status {
            self.status = s.trim().to_owned();
        }
        if let Some(s) = p.score {
            self.score = s;
        }
        set(&mut self.company, &p.company);
        set(&mut self.title, &p.title);
        set(&mut self.phone, &p.phone);
        set(&mut self.email, &p.email);
        self.email = self.email.map(|e| validate::normalize_email(&e));
        set(&mut self.wechat, &p.wechat);
        set(&mut self.source, &p.source);
        set(&mut self.owner_id, &p.owner_id);
        set(&mut self.disqualify_reason, &p.disqualify_reason);
        set(&mut self.notes, &p.notes);
        if let Some(t) = &p.tags {
            self.tags = t.clone();
        }
        self
    }

    /// Checks every field; `sources` are the administrator-defined lead sources.
    /// A lead needs a way to reach it: a phone, an email or a WeChat id.
    pub fn check(&mut self, sources: &[String]) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 100));
        c.add(one_of("status", &self.status, STATUSES));
        for (field, v, max) in [
            ("company", &self.company, 200),
            ("title", &self.title, 100),
            ("wechat", &self.wechat, 100),
            ("disqualify_reason", &self.disqualify_reason, 500),
            ("campaign_id", &self.campaign_id, 36),
            ("partner_id", &self.partner_id, 36),
            ("notes", &self.notes, 10_000),
        ] {
            if let Some(v) = v {
                c.add(max_len(field, v, max));
            }
        }
        if !(0..=100).contains(&self.score) {
            c.push("score", "out_of_range", "must be between 0 and 100");
        }
        if let Some(s) = &self.source
            && !sources.iter().any(|x| x == s)
        {
            c.push(
                "source",
                "not_an_option",
                &format!("must be one of: {}", sources.join(", ")),
            );
        }
        if let Some(p) = &self.phone {
            c.add(validate::phone("phone", p));
        }
        if let Some(e) = &self.email {
            c.add(validate::email("email", e));
        }
        if self.phone.is_none() && self.email.is_none() && self.wechat.is_none() {
            c.push(
                "phone",
                "contact_required",
                "give a phone, an email or a WeChat id",
            );
        }
        if self.status == "unqualified" && self.disqualify_reason.is_none() {
            c.push(
                "disqualify_reason",
                "required",
                "say why the lead is unqualified",
            );
        }
        let tags = validate::tags(&mut c, &self.tags);
        self.tags = tags;
        c
    }
}

/// `POST /api/v1/leads/{id}/convert`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertInput {
    /// Attach the lead to this existing customer (as a new contact) instead of creating one.
    pub customer_id: Option<String>,
    /// Create the customer even if it looks like an existing one.
    #[serde(default)]
    pub force: bool,
    /// Also open a deal for the customer in the default pipeline's first stage.
    #[serde(default)]
    pub create_opportunity: bool,
}

/// What a conversion made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Converted {
    pub lead: LeadView,
    pub customer_id: String,
    pub contact_id: String,
    /// Whether a new customer was created (false: attached to an existing one).
    pub created_customer: bool,
    /// The deal opened when `create_opportunity` was asked for.
    pub opportunity_id: Option<String>,
}

/// `POST /api/v1/leads/bulk`: change the status, or the owner, of many leads at once.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub ids: Vec<String>,
    pub status: Option<String>,
    /// Needed when `status` is `unqualified`.
    pub disqualify_reason: Option<String>,
    /// Give them to this user (managers and administrators).
    pub owner_id: Option<String>,
}

/// A web-to-lead form as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadFormView {
    pub id: String,
    /// The public address is `/f/{form_key}`.
    pub form_key: String,
    pub name: String,
    pub source: Option<String>,
    pub owner_id: Option<String>,
    pub active: bool,
    pub thank_you: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<lead_form::Model> for LeadFormView {
    fn from(m: lead_form::Model) -> Self {
        LeadFormView {
            id: m.id,
            form_key: m.form_key,
            name: m.name,
            source: m.source,
            owner_id: m.owner_id,
            active: m.active,
            thank_you: m.thank_you,
            version: m.version,
            created_at: m.created_at,
        }
    }
}

/// `POST /api/v1/lead-forms` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeadForm {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub source: Option<String>,
    pub owner_id: Option<String>,
    pub thank_you: Option<String>,
}

/// `PATCH /api/v1/lead-forms/{id}` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadFormPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub thank_you: Option<Option<String>>,
    pub version: Option<i64>,
}
