//! Team types and validation (no SQL, no HTTP).

use crate::entities::team;
use crate::platform::api::double_option;
use crate::platform::validate::{Checks, required_text};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub manager_id: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<team::Model> for TeamView {
    fn from(m: team::Model) -> Self {
        TeamView {
            id: m.id,
            name: m.name,
            parent_id: m.parent_id,
            manager_id: m.manager_id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub manager_id: Option<String>,
}

impl NewTeam {
    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 100));
        c
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub manager_id: Option<Option<String>>,
    pub version: Option<i64>,
}

impl TeamPatch {
    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        if let Some(n) = &self.name {
            c.add(required_text("name", n, 100));
        }
        c
    }
}
