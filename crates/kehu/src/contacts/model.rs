//! Contact types and validation (no SQL, no HTTP).

use crate::entities::contact;
use crate::platform::api::double_option;
use crate::platform::validate::{self, Checks, max_len, one_of, required_text};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A contact's part in the purchase.
pub const ROLES: &[&str] = &["decision_maker", "influencer", "user", "other"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    /// `decision_maker`, `influencer`, `user` or `other`.
    pub role: String,
    /// At most one primary contact per customer.
    pub is_primary: bool,
    pub notes: Option<String>,
    #[schema(value_type = Object)]
    pub custom: Value,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

impl From<contact::Model> for ContactView {
    fn from(m: contact::Model) -> Self {
        ContactView {
            custom: serde_json::from_str(&m.custom).unwrap_or(Value::Object(Map::new())),
            birthday: m.birthday.map(crate::customers::model::date_text),
            id: m.id,
            customer_id: m.customer_id,
            name: m.name,
            title: m.title,
            department: m.department,
            phone: m.phone,
            mobile: m.mobile,
            email: m.email,
            wechat: m.wechat,
            role: m.role,
            is_primary: m.is_primary,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// `POST /api/v1/contacts` (or `/api/v1/customers/{id}/contacts`, which sets `customer_id`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[serde(default)]
    pub customer_id: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub birthday: Option<String>,
    pub role: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
    pub notes: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
}

/// `PATCH /api/v1/contacts/{id}`: only the fields sent change; `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub role: Option<String>,
    pub is_primary: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub department: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub wechat: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub version: Option<i64>,
}

/// Every field of a contact before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub birthday: Option<String>,
    pub role: String,
    pub is_primary: bool,
    pub notes: Option<String>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Draft {
    pub fn from_new(n: &NewContact) -> Draft {
        Draft {
            name: n.name.trim().to_owned(),
            title: clean(n.title.clone()),
            department: clean(n.department.clone()),
            phone: clean(n.phone.clone()),
            mobile: clean(n.mobile.clone()),
            email: clean(n.email.clone()).map(|e| validate::normalize_email(&e)),
            wechat: clean(n.wechat.clone()),
            birthday: clean(n.birthday.clone()),
            role: clean(n.role.clone()).unwrap_or_else(|| "other".into()),
            is_primary: n.is_primary,
            notes: clean(n.notes.clone()),
        }
    }

    pub fn from_model(m: &contact::Model) -> Draft {
        let v = ContactView::from(m.clone());
        Draft {
            name: v.name,
            title: v.title,
            department: v.department,
            phone: v.phone,
            mobile: v.mobile,
            email: v.email,
            wechat: v.wechat,
            birthday: v.birthday,
            role: v.role,
            is_primary: v.is_primary,
            notes: v.notes,
        }
    }

    pub fn patch(mut self, p: &ContactPatch) -> Draft {
        fn set(target: &mut Option<String>, v: &Option<Option<String>>) {
            if let Some(v) = v {
                *target = clean(v.clone());
            }
        }
        if let Some(n) = &p.name {
            self.name = n.trim().to_owned();
        }
        if let Some(r) = &p.role {
            self.role = r.trim().to_owned();
        }
        if let Some(b) = p.is_primary {
            self.is_primary = b;
        }
        set(&mut self.title, &p.title);
        set(&mut self.department, &p.department);
        set(&mut self.phone, &p.phone);
        set(&mut self.mobile, &p.mobile);
        set(&mut self.email, &p.email);
        self.email = self.email.map(|e| validate::normalize_email(&e));
        set(&mut self.wechat, &p.wechat);
        set(&mut self.birthday, &p.birthday);
        set(&mut self.notes, &p.notes);
        self
    }

    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 100));
        c.add(one_of("role", &self.role, ROLES));
        for (field, v, max) in [
            ("title", &self.title, 100),
            ("department", &self.department, 100),
            ("wechat", &self.wechat, 100),
            ("notes", &self.notes, 10_000),
        ] {
            if let Some(v) = v {
                c.add(max_len(field, v, max));
            }
        }
        if let Some(p) = &self.phone {
            c.add(validate::phone("phone", p));
        }
        if let Some(p) = &self.mobile {
            c.add(validate::phone("mobile", p));
        }
        if let Some(e) = &self.email {
            c.add(validate::email("email", e));
        }
        if let Some(b) = &self.birthday
            && let Err(e) = validate::birthday("birthday", b, today())
        {
            c.add(Some(e));
        }
        c
    }
}

/// Today for the birthday check: where the user is, up to 14 hours ahead of
/// UTC (UTC+8 in China), as payments' dates allow.
fn today() -> time::Date {
    (time::OffsetDateTime::now_utc() + time::Duration::hours(14)).date()
}
