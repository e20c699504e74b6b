//! Customer types and validation (no SQL, no HTTP).

use crate::entities::customer;
use crate::platform::api::double_option;
use crate::platform::validate::{self, Checks, max_len, one_of, required_text};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const KINDS: &[&str] = &["company", "person"];
pub const STATUSES: &[&str] = &["potential", "active", "vip", "dormant", "churned"];

/// A customer as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    /// `company` or `person`.
    pub kind: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub source: Option<String>,
    /// One of the administrator-defined levels (`GET /api/v1/settings/customer-levels`).
    pub level: Option<String>,
    /// `potential`, `active`, `vip`, `dormant` or `churned`.
    pub status: String,
    pub tags: Vec<String>,
    /// `YYYY-MM-DD` (people).
    pub birthday: Option<String>,
    /// The user who owns it; null: in the public pool.
    pub owner_id: Option<String>,
    pub notes: Option<String>,
    /// Custom field values by key.
    #[schema(value_type = Object)]
    pub custom: Value,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
    /// Set while it is in the recycle bin.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// The pool it sits in without an owner, and returns to (`GET /api/v1/pools`).
    pub pool_id: Option<String>,
    /// When the current owner got it: the return clock starts here.
    #[serde(with = "time::serde::rfc3339::option")]
    pub owned_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_activity_at: Option<OffsetDateTime>,
    /// When a deal of it was last won.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_won_at: Option<OffsetDateTime>,
    /// Locked by its owner against automatic return.
    pub locked: bool,
    /// The last time it went back to a pool, from whom and why.
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub former_owner_id: Option<String>,
    pub return_reason: Option<String>,
    /// Owned, and without an activity for longer than its level's follow-up
    /// interval (`GET /api/v1/settings/follow-up-intervals`).
    pub follow_up_due: bool,
}

pub fn date_text(d: time::Date) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    d.format(fmt).unwrap_or_default()
}

impl From<customer::Model> for CustomerView {
    fn from(m: customer::Model) -> Self {
        CustomerView {
            tags: serde_json::from_str(&m.tags).unwrap_or_default(),
            custom: serde_json::from_str(&m.custom).unwrap_or(Value::Object(Map::new())),
            birthday: m.birthday.map(date_text),
            id: m.id,
            name: m.name,
            kind: m.kind,
            industry: m.industry,
            size: m.size,
            region: m.region,
            address: m.address,
            phone: m.phone,
            email: m.email,
            website: m.website,
            source: m.source,
            level: m.level,
            status: m.status,
            owner_id: m.owner_id,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
            deleted_at: m.deleted_at,
            pool_id: m.pool_id,
            owned_since: m.owned_since,
            last_activity_at: m.last_activity_at,
            last_won_at: m.last_won_at,
            locked: m.locked,
            returned_at: m.returned_at,
            former_owner_id: m.former_owner_id,
            return_reason: m.return_reason,
            follow_up_due: false,
        }
    }
}

/// `POST /api/v1/customers`. Omit `owner_id` to own it yourself; `null` puts it in the pool.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    pub birthday: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    /// The pool it returns to (and sits in without an owner); the default pool when omitted.
    pub pool_id: Option<String>,
    pub notes: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
}

/// `PATCH /api/v1/customers/{id}`: only the fields sent change; `null` clears a field.
/// `custom` is merged key by key (`null` removes a value).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub size: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub level: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    /// Another pool it returns to.
    pub pool_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub version: Option<i64>,
}

/// Every field of a customer after a create or a patch, before it is stored:
/// the one place the rules live.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub name: String,
    pub kind: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub status: String,
    pub tags: Vec<String>,
    pub birthday: Option<String>,
    pub owner_id: Option<String>,
    pub pool_id: Option<String>,
    pub notes: Option<String>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Draft {
    pub fn from_new(n: &NewCustomer, me: &str) -> Draft {
        Draft {
            name: n.name.trim().to_owned(),
            kind: clean(n.kind.clone()).unwrap_or_else(|| "company".into()),
            industry: clean(n.industry.clone()),
            size: clean(n.size.clone()),
            region: clean(n.region.clone()),
            address: clean(n.address.clone()),
            phone: clean(n.phone.clone()),
            email: clean(n.email.clone()).map(|e| validate::normalize_email(&e)),
            website: clean(n.website.clone()),
            source: clean(n.source.clone()),
            level: clean(n.level.clone()),
            status: clean(n.status.clone()).unwrap_or_else(|| "potential".into()),
            tags: n.tags.clone().unwrap_or_default(),
            birthday: clean(n.birthday.clone()),
            owner_id: match &n.owner_id {
                None => Some(me.to_owned()),
                Some(o) => clean(o.clone()),
            },
            pool_id: clean(n.pool_id.clone()),
            notes: clean(n.notes.clone()),
        }
    }

    pub fn from_model(m: &customer::Model) -> Draft {
        let v = CustomerView::from(m.clone());
        Draft {
            name: v.name,
            kind: v.kind,
            industry: v.industry,
            size: v.size,
            region: v.region,
            address: v.address,
            phone: v.phone,
            email: v.email,
            website: v.website,
            source: v.source,
            level: v.level,
            status: v.status,
            tags: v.tags,
            birthday: v.birthday,
            owner_id: v.owner_id,
            pool_id: v.pool_id,
            notes: v.notes,
        }
    }

    /// Applies a patch on top of this draft.
    pub fn patch(mut self, p: &CustomerPatch) -> Draft {
        fn set(target: &mut Option<String>, v: &Option<Option<String>>) {
            if let Some(v) = v {
                *target = clean(v.clone());
            }
        }
        if let Some(n) = &p.name {
            self.name = n.trim().to_owned();
        }
        if let Some(k) = &p.kind {
            self.kind = k.trim().to_owned();
        }
        if let Some(s) = &p.status {
            self.status = s.trim().to_owned();
        }
        set(&mut self.industry, &p.industry);
        set(&mut self.size, &p.size);
        set(&mut self.region, &p.region);
        set(&mut self.address, &p.address);
        set(&mut self.phone, &p.phone);
        set(&mut self.email, &p.email);
        self.email = self.email.map(|e| validate::normalize_email(&e));
        set(&mut self.website, &p.website);
        set(&mut self.source, &p.source);
        set(&mut self.level, &p.level);
        set(&mut self.birthday, &p.birthday);
        set(&mut self.owner_id, &p.owner_id);
        if let Some(pool) = &p.pool_id {
            self.pool_id = clean(Some(pool.clone()));
        }
        set(&mut self.notes, &p.notes);
        if let Some(t) = &p.tags {
            self.tags = t.clone();
        }
        self
    }

    /// Checks every field; `levels` are the administrator-defined customer levels.
    /// Normalises the website and tags in place.
    pub fn check(&mut self, levels: &[String]) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 200));
        c.add(one_of("kind", &self.kind, KINDS));
        c.add(one_of("status", &self.status, STATUSES));
        for (field, v, max) in [
            ("industry", &self.industry, 100),
            ("size", &self.size, 100),
            ("region", &self.region, 100),
            ("source", &self.source, 100),
            ("address", &self.address, 300),
            ("notes", &self.notes, 10_000),
        ] {
            if let Some(v) = v {
                c.add(max_len(field, v, max));
            }
        }
        if let Some(l) = &self.level
            && !levels.iter().any(|x| x == l)
        {
            c.push(
                "level",
                "not_an_option",
                &format!("must be one of: {}", levels.join(", ")),
            );
        }
        if let Some(p) = &self.phone {
            c.add(validate::phone("phone", p));
        }
        if let Some(e) = &self.email {
            c.add(validate::email("email", e));
        }
        if let Some(w) = &self.website {
            match validate::website("website", w) {
                Ok(full) => self.website = Some(full),
                Err(e) => c.add(Some(e)),
            }
        }
        if let Some(b) = &self.birthday {
            if let Err(e) = validate::birthday("birthday", b, today()) {
                c.add(Some(e));
            } else if self.kind == "company" {
                c.push(
                    "birthday",
                    "not_for_companies",
                    "only people have a birthday",
                );
            }
        }
        let tags = validate::tags(&mut c, &self.tags);
        self.tags = tags;
        c
    }
}

/// Today for the birthday check: where the user is, up to 14 hours ahead of
/// UTC (UTC+8 in China), as payments' dates allow.
fn today() -> time::Date {
    (time::OffsetDateTime::now_utc() + time::Duration::hours(14)).date()
}
