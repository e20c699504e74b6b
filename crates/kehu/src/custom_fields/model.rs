//! Custom field definition types and their checks (no SQL, no HTTP).

use crate::entities::custom_field;
use crate::platform::custom::FieldKind;
use crate::platform::validate::{Checks, max_len, one_of, required_text};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The records that can have custom fields.
pub const ENTITIES: &[&str] = &["customer", "contact", "lead", "opportunity"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomFieldView {
    pub id: String,
    /// `customer` or `contact`.
    pub entity: String,
    /// The key in the record's `custom` object (`a-z`, `0-9`, `_`).
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub kind: FieldKind,
    pub required: bool,
    /// Choices of a select or multi-select field.
    pub options: Vec<String>,
    pub position: i64,
    pub active: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<custom_field::Model> for CustomFieldView {
    fn from(m: custom_field::Model) -> Self {
        CustomFieldView {
            kind: FieldKind::parse(&m.kind).unwrap_or(FieldKind::Text),
            options: serde_json::from_str(&m.options).unwrap_or_default(),
            id: m.id,
            entity: m.entity,
            key: m.key,
            label_en: m.label_en,
            label_zh: m.label_zh,
            required: m.required,
            position: m.position,
            active: m.active,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomField {
    pub entity: String,
    pub key: String,
    #[schema(min_length = 1, max_length = 100)]
    pub label_en: String,
    #[serde(default)]
    pub label_zh: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub position: i64,
}

fn check_options(c: &mut Checks, kind: FieldKind, options: &[String]) {
    if kind.has_options() {
        if options.is_empty() {
            c.push(
                "options",
                "required",
                "a select field needs at least one option",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for o in options {
            if o.trim().is_empty() || o.chars().count() > 100 {
                c.push("options", "invalid", "options must be 1 to 100 characters");
                break;
            }
            if !seen.insert(o.trim()) {
                c.push("options", "taken", "options must differ");
                break;
            }
        }
        if options.len() > 200 {
            c.push("options", "too_long", "at most 200 options");
        }
    } else if !options.is_empty() {
        c.push("options", "invalid", "only select fields have options");
    }
}

impl NewCustomField {
    pub fn check(&self) -> Checks {
        let mut c = Checks::default();
        c.add(one_of("entity", &self.entity, ENTITIES));
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 40
            && self.key.starts_with(|ch: char| ch.is_ascii_lowercase())
            && self
                .key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !key_ok {
            c.push(
                "key",
                "invalid_key",
                "must start with a-z and use only a-z, 0-9 and _ (at most 40)",
            );
        }
        c.add(required_text("label_en", &self.label_en, 100));
        c.add(max_len("label_zh", &self.label_zh, 100));
        check_options(&mut c, self.kind, &self.options);
        c
    }
}

/// Changes to a definition. The key and kind never change (values depend on them).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub label_en: Option<String>,
    pub label_zh: Option<String>,
    pub required: Option<bool>,
    pub options: Option<Vec<String>>,
    pub position: Option<i64>,
    /// Inactive fields disappear from forms and lists; stored values are kept.
    pub active: Option<bool>,
    pub version: Option<i64>,
}

impl CustomFieldPatch {
    pub fn check(&self, kind: FieldKind) -> Checks {
        let mut c = Checks::default();
        if let Some(l) = &self.label_en {
            c.add(required_text("label_en", l, 100));
        }
        if let Some(l) = &self.label_zh {
            c.add(max_len("label_zh", l, 100));
        }
        if let Some(o) = &self.options {
            check_options(&mut c, kind, o);
        }
        c
    }
}
