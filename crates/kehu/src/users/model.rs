//! User types and validation (no SQL, no HTTP).

use crate::entities::user;
use crate::platform::api::double_option;
use crate::platform::auth::{Role, Scope, check_password};
use crate::platform::validate::{Checks, email, max_len, required_text};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub team_id: Option<String>,
    pub active: bool,
    /// Preferred UI language (`zh-CN` or `en`); null follows the browser.
    pub locale: Option<String>,
    /// The IANA time zone pages show times in (`Asia/Shanghai`); the API
    /// always answers UTC.
    pub timezone: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<user::Model> for UserView {
    fn from(m: user::Model) -> Self {
        UserView {
            role: Role::parse(&m.role).unwrap_or(Role::Sales),
            scope: Scope::parse(&m.scope).unwrap_or(Scope::Own),
            id: m.id,
            email: m.email,
            name: m.name,
            team_id: m.team_id,
            active: m.active,
            locale: m.locale,
            timezone: m.timezone,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            last_login_at: m.last_login_at,
        }
    }
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub email: String,
    pub password: String,
    pub role: Role,
    /// Defaults from the role: admin and finance `all`, manager `team`, others `own`.
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// IANA time zone; the company's (`GET /api/v1/settings/timezone`) when omitted.
    #[serde(default)]
    pub timezone: Option<String>,
}

fn yes() -> bool {
    true
}

impl NewUser {
    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 100));
        c.add(email("email", &self.email));
        c.add(check_password("password", &self.password));
        if let Some(z) = &self.timezone {
            c.add(crate::platform::validate::timezone("timezone", z.trim()));
        }
        c
    }
}

/// `PATCH /api/v1/users/{id}`: only the fields sent change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub email: Option<String>,
    /// Sets a new password.
    pub password: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<String>>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    /// IANA time zone (`Asia/Shanghai`, `Europe/Berlin`, `UTC`).
    pub timezone: Option<String>,
    /// The version you read; a stale one answers 409 (or send `If-Match`).
    pub version: Option<i64>,
}

impl UserPatch {
    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        if let Some(n) = &self.name {
            c.add(required_text("name", n, 100));
        }
        if let Some(e) = &self.email {
            c.add(email("email", e));
        }
        if let Some(p) = &self.password {
            c.add(check_password("password", p));
        }
        if let Some(Some(l)) = &self.locale {
            c.add(max_len("locale", l, 10));
            if crate::platform::i18n::Lang::parse(l).is_none() {
                c.push("locale", "not_an_option", "must be zh-CN or en");
            }
        }
        if let Some(z) = &self.timezone {
            c.add(crate::platform::validate::timezone("timezone", z.trim()));
        }
        c
    }
}
