//! Custom fields: administrator-defined fields kept in an entity's `custom`
//! JSON column (so adding one needs no migration).
//! (Custom SQL uses `?` placeholders on SQLite and `$n` on PostgreSQL.) This module validates input
//! against the definitions and turns `custom.<key>` list filters into SQL for
//! both databases. The definitions themselves are managed by `custom_fields`.

use crate::entities::custom_field;
use crate::platform::error::FieldError;
use crate::platform::list::{CustomFilter, CustomOp, CustomSort, ListRequest};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, SimpleExpr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Decimal,
    Date,
    Select,
    MultiSelect,
    Checkbox,
    Url,
}

impl FieldKind {
    pub const ALL: [FieldKind; 9] = [
        FieldKind::Text,
        FieldKind::LongText,
        FieldKind::Number,
        FieldKind::Decimal,
        FieldKind::Date,
        FieldKind::Select,
        FieldKind::MultiSelect,
        FieldKind::Checkbox,
        FieldKind::Url,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Number => "number",
            FieldKind::Decimal => "decimal",
            FieldKind::Date => "date",
            FieldKind::Select => "select",
            FieldKind::MultiSelect => "multi_select",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Url => "url",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_key(self) -> String {
        format!("custom_kind.{}", self.as_str())
    }

    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Select | FieldKind::MultiSelect)
    }

    fn ranged(self) -> bool {
        matches!(
            self,
            FieldKind::Number | FieldKind::Decimal | FieldKind::Date
        )
    }
}

/// One active field definition.
#[derive(Clone, Debug)]
pub struct Def {
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub kind: FieldKind,
    pub required: bool,
    pub options: Vec<String>,
}

impl Def {
    pub fn from_model(m: &custom_field::Model) -> Option<Def> {
        Some(Def {
            key: m.key.clone(),
            label_en: m.label_en.clone(),
            label_zh: m.label_zh.clone(),
            kind: FieldKind::parse(&m.kind)?,
            required: m.required,
            options: serde_json::from_str(&m.options).unwrap_or_default(),
        })
    }

    pub fn label(&self, lang: crate::platform::i18n::Lang) -> &str {
        match lang {
            crate::platform::i18n::Lang::ZhCn if !self.label_zh.is_empty() => &self.label_zh,
            _ => &self.label_en,
        }
    }

    /// A stored value as text for pages and exports.
    pub fn display(&self, v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(b) => {
                if *b {
                    "✓".into()
                } else {
                    "✗".into()
                }
            }
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        }
    }
}

fn err(key: &str, code: &str, msg: impl Into<String>) -> FieldError {
    FieldError::new(&format!("custom.{key}"), code, msg)
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks and normalises one value; `Ok(None)` means "empty" (the key is dropped).
fn check_value(def: &Def, v: &Value) -> Result<Option<Value>, FieldError> {
    let k = &def.key;
    let wrong = |what: &str| err(k, "invalid_type", format!("must be {what}"));
    if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(None);
    }
    let out = match def.kind {
        FieldKind::Text | FieldKind::LongText => {
            let s = v.as_str().ok_or_else(|| wrong("text"))?.trim().to_owned();
            let max = if def.kind == FieldKind::Text {
                1000
            } else {
                10_000
            };
            if s.chars().count() > max {
                return Err(err(
                    k,
                    "too_long",
                    format!("must be at most {max} characters"),
                ));
            }
            Value::String(s)
        }
        FieldKind::Number => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            Value::from(n.ok_or_else(|| wrong("a whole number"))?)
        }
        FieldKind::Decimal => {
            let s = text_of(v).ok_or_else(|| wrong("a decimal number"))?;
            let d: rust_decimal::Decimal = s.parse().map_err(|_| wrong("a decimal number"))?;
            Value::String(d.normalize().to_string())
        }
        FieldKind::Date => {
            let s = v.as_str().ok_or_else(|| wrong("a date"))?.trim();
            crate::platform::validate::date(&format!("custom.{k}"), s)?;
            Value::String(s.to_owned())
        }
        FieldKind::Select => {
            let s = v
                .as_str()
                .ok_or_else(|| wrong("one of the options"))?
                .trim();
            if !def.options.iter().any(|o| o == s) {
                return Err(err(
                    k,
                    "not_an_option",
                    format!("must be one of: {}", def.options.join(", ")),
                ));
            }
            Value::String(s.to_owned())
        }
        FieldKind::MultiSelect => {
            let arr = v.as_array().ok_or_else(|| wrong("a list of options"))?;
            let mut out: Vec<Value> = Vec::new();
            for x in arr {
                let s = x.as_str().ok_or_else(|| wrong("a list of options"))?.trim();
                if !def.options.iter().any(|o| o == s) {
                    return Err(err(
                        k,
                        "not_an_option",
                        format!("must be among: {}", def.options.join(", ")),
                    ));
                }
                if !out.iter().any(|o| o.as_str() == Some(s)) {
                    out.push(Value::String(s.to_owned()));
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Array(out)
        }
        FieldKind::Checkbox => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if matches!(s.as_str(), "true" | "on" | "1") => Value::Bool(true),
            Value::String(s) if matches!(s.as_str(), "false" | "off" | "0") => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        FieldKind::Url => {
            let s = v.as_str().ok_or_else(|| wrong("a web address"))?.trim();
            if s.len() > 500 || !crate::platform::validate::is_web_url(s) {
                return Err(err(
                    k,
                    "invalid_url",
                    "must be a web address (http:// or https://)",
                ));
            }
            Value::String(s.to_owned())
        }
    };
    Ok(Some(out))
}

/// Validates `input` (a JSON object of custom values) against `defs`, on top of
/// `existing` values; `null` or empty removes a value. `creating` also checks that
/// required fields are present. Returns the new object or the field errors.
pub fn validate(
    defs: &[Def],
    existing: &Map<String, Value>,
    input: &Value,
    creating: bool,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(obj) = input.as_object() else {
        return Err(vec![FieldError::new(
            "custom",
            "invalid_type",
            "must be an object",
        )]);
    };
    let mut out = existing.clone();
    let mut errors = Vec::new();
    for (k, v) in obj {
        let Some(def) = defs.iter().find(|d| &d.key == k) else {
            errors.push(err(
                k,
                "unknown_field",
                "is not a custom field of this record",
            ));
            continue;
        };
        match check_value(def, v) {
            Ok(Some(v)) => {
                out.insert(k.clone(), v);
            }
            Ok(None) if def.required => errors.push(err(k, "required", "is required")),
            Ok(None) => {
                out.remove(k);
            }
            Err(e) => errors.push(e),
        }
    }
    if creating {
        for d in defs.iter().filter(|d| d.required) {
            if !out.contains_key(&d.key)
                && !errors
                    .iter()
                    .any(|e| e.field == format!("custom.{}", d.key))
            {
                errors.push(err(&d.key, "required", "is required"));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The SQL condition of one `custom.<key>` filter on the JSON text column `column`
/// (written as `table.column`).
pub fn condition(
    backend: DbBackend,
    column: &'static str,
    defs: &[Def],
    f: &CustomFilter,
) -> Result<SimpleExpr, FieldError> {
    let name = match f.op {
        CustomOp::Eq => format!("custom.{}", f.key),
        CustomOp::Gte => format!("custom.{}_from", f.key),
        CustomOp::Lte => format!("custom.{}_to", f.key),
    };
    let Some(def) = defs.iter().find(|d| d.key == f.key) else {
        return Err(FieldError::new(
            &name,
            "unknown_field",
            format!("cannot filter by {name}"),
        ));
    };
    if f.op != CustomOp::Eq && !def.kind.ranged() {
        return Err(FieldError::new(
            &name,
            "unknown_field",
            format!("{} has no range", f.key),
        ));
    }
    let cmp = match f.op {
        CustomOp::Eq => "=",
        CustomOp::Gte => ">=",
        CustomOp::Lte => "<=",
    };
    let value = match def.kind {
        // A filter on a multi-select matches records that include the option.
        FieldKind::MultiSelect => Value::String(f.value.clone()),
        _ => check_value(def, &Value::String(f.value.clone()))
            .map_err(|e| FieldError::new(&name, &e.code, e.message))?
            .ok_or_else(|| FieldError::new(&name, "required", "needs a value"))?,
    };
    let path = format!("$.{}", f.key);
    let sqlite = backend == DbBackend::Sqlite;
    let expr = match (def.kind, &value) {
        (FieldKind::MultiSelect, Value::String(s)) if sqlite => Expr::cust_with_values(
            format!("EXISTS (SELECT 1 FROM json_each({column}, ?) WHERE json_each.value = ?)"),
            [path, s.clone()],
        ),
        (FieldKind::MultiSelect, Value::String(s)) => Expr::cust_with_values(
            format!("(CAST({column} AS jsonb) -> $1) @> jsonb_build_array(CAST($2 AS text))"),
            [f.key.clone(), s.clone()],
        ),
        (FieldKind::Number | FieldKind::Decimal, v) => {
            let n = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            if sqlite {
                Expr::cust_with_values(
                    format!("CAST(json_extract({column}, ?) AS REAL) {cmp} CAST(? AS REAL)"),
                    [path, n],
                )
            } else {
                Expr::cust_with_values(
                    format!(
                        "CAST(CAST({column} AS jsonb) ->> $1 AS numeric) {cmp} CAST($2 AS numeric)"
                    ),
                    [f.key.clone(), n],
                )
            }
        }
        (FieldKind::Checkbox, Value::Bool(b)) => {
            if sqlite {
                Expr::cust_with_values(
                    format!("json_extract({column}, ?) = ?"),
                    [
                        sea_orm::Value::from(path),
                        sea_orm::Value::from(i64::from(*b)),
                    ],
                )
            } else {
                Expr::cust_with_values(
                    format!("(CAST({column} AS jsonb) ->> $1) = $2"),
                    [f.key.clone(), b.to_string()],
                )
            }
        }
        (_, v) => {
            let s = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            if sqlite {
                Expr::cust_with_values(format!("json_extract({column}, ?) {cmp} ?"), [path, s])
            } else {
                Expr::cust_with_values(
                    format!("(CAST({column} AS jsonb) ->> $1) {cmp} $2"),
                    [f.key.clone(), s],
                )
            }
        }
    };
    Ok(expr)
}

/// How a list sorts by the custom field `key` (`sort=custom.<key>`): numbers
/// and decimals as numbers, checkboxes as 0/1, the rest (text, dates, URLs,
/// options) as text; a multi-select cannot be sorted.
pub fn sort_key(
    backend: DbBackend,
    column: &'static str,
    defs: &[Def],
    key: &str,
) -> Result<CustomSort, FieldError> {
    let refuse = || {
        FieldError::new(
            "sort",
            "unknown_field",
            format!("cannot sort by custom.{key}"),
        )
    };
    let def = defs.iter().find(|d| d.key == key).ok_or_else(refuse)?;
    // `key` is a checked definition key (a-z, 0-9, _), safe inside SQL text.
    let sqlite = backend == DbBackend::Sqlite;
    let (expr, numeric) = match def.kind {
        FieldKind::MultiSelect => return Err(refuse()),
        FieldKind::Number | FieldKind::Decimal if sqlite => (
            format!("CAST(json_extract({column}, '$.{key}') AS REAL)"),
            true,
        ),
        FieldKind::Number | FieldKind::Decimal => (
            format!("CAST(CAST({column} AS jsonb) ->> '{key}' AS numeric)"),
            true,
        ),
        FieldKind::Checkbox if sqlite => (format!("json_extract({column}, '$.{key}')"), true),
        FieldKind::Checkbox => (
            format!("CAST(CAST(CAST({column} AS jsonb) ->> '{key}' AS boolean) AS int)"),
            true,
        ),
        _ if sqlite => (format!("json_extract({column}, '$.{key}')"), false),
        _ => (format!("(CAST({column} AS jsonb) ->> '{key}')"), false),
    };
    Ok(CustomSort { expr, numeric })
}

/// The custom-field part of a list: its `custom.<key>` filters as one
/// condition, and its `sort=custom.<key>` resolved on the request; every bad
/// filter or sort is a field error.
pub fn conditions<C: sea_orm::ColumnTrait>(
    backend: DbBackend,
    column: &'static str,
    defs: &[Def],
    req: &ListRequest<C>,
) -> Result<sea_orm::Condition, crate::platform::error::AppError> {
    let mut cond = sea_orm::Condition::all();
    let mut errors = Vec::new();
    for f in &req.custom {
        match condition(backend, column, defs, f) {
            Ok(e) => cond = cond.add(e),
            Err(e) => errors.push(e),
        }
    }
    if let Some(key) = req.custom_sort_key() {
        match sort_key(backend, column, defs, key) {
            // A numeric sort's cursor must carry a number (or blank).
            Ok(s)
                if s.numeric
                    && !req.cursor_value().is_none_or(|v| match v {
                        Value::Null | Value::Bool(_) | Value::Number(_) => true,
                        Value::String(t) => t.trim().parse::<f64>().is_ok_and(f64::is_finite),
                        _ => false,
                    }) =>
            {
                errors.push(FieldError::new(
                    "cursor",
                    "invalid_cursor",
                    "is not a cursor this list gave out",
                ))
            }
            Ok(s) => req.use_custom_sort(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(cond)
    } else {
        Err(crate::platform::error::AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<Def> {
        let d = |key: &str, kind, required, options: &[&str]| Def {
            key: key.into(),
            label_en: key.into(),
            label_zh: key.into(),
            kind,
            required,
            options: options.iter().map(|s| s.to_string()).collect(),
        };
        vec![
            d("budget", FieldKind::Decimal, false, &[]),
            d("seats", FieldKind::Number, true, &[]),
            d("tier", FieldKind::Select, false, &["gold", "silver"]),
            d(
                "channels",
                FieldKind::MultiSelect,
                false,
                &["email", "wechat"],
            ),
            d("vip", FieldKind::Checkbox, false, &[]),
            d("site", FieldKind::Url, false, &[]),
            d("since", FieldKind::Date, false, &[]),
        ]
    }

    #[test]
    fn valid_values_are_normalised() {
        let out = validate(
            &defs(),
            &Map::new(),
            &json!({"budget": "12.50", "seats": "30", "tier": "gold", "channels": ["wechat", "wechat"], "vip": "on", "site": "https://a.cn", "since": "2026-01-31"}),
            true,
        )
        .unwrap();
        assert_eq!(out["budget"], json!("12.5"));
        assert_eq!(out["seats"], json!(30));
        assert_eq!(out["channels"], json!(["wechat"]));
        assert_eq!(out["vip"], json!(true));
    }

    #[test]
    fn bad_values_name_the_field() {
        let codes = |input: Value| -> Vec<(String, String)> {
            validate(&defs(), &Map::new(), &input, true)
                .unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert!(
            codes(json!({"seats": 1, "color": "red"}))
                .contains(&("custom.color".into(), "unknown_field".into()))
        );
        assert!(
            codes(json!({"seats": "many"}))
                .contains(&("custom.seats".into(), "invalid_type".into()))
        );
        assert!(
            codes(json!({"seats": 1, "tier": "bronze"}))
                .contains(&("custom.tier".into(), "not_an_option".into()))
        );
        assert!(
            codes(json!({"seats": 1, "site": "javascript:alert(1)"}))
                .contains(&("custom.site".into(), "invalid_url".into()))
        );
        assert!(
            codes(json!({"seats": 1, "since": "2026-02-30"}))
                .contains(&("custom.since".into(), "invalid_date".into()))
        );
        assert!(codes(json!({})).contains(&("custom.seats".into(), "required".into())));
        assert!(codes(json!([1])).contains(&("custom".into(), "invalid_type".into())));
    }

    #[test]
    fn patches_merge_and_remove() {
        let mut existing = Map::new();
        existing.insert("seats".into(), json!(3));
        existing.insert("tier".into(), json!("gold"));
        let out = validate(
            &defs(),
            &existing,
            &json!({"tier": null, "vip": false}),
            false,
        )
        .unwrap();
        assert_eq!(out.get("seats"), Some(&json!(3)));
        assert!(!out.contains_key("tier"));
        assert_eq!(out["vip"], json!(false));
    }
}
