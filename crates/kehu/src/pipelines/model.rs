//! Pipeline, stage and rule types and their checks (no SQL, no HTTP).

use crate::entities::{automation_rule, pipeline, pipeline_stage};
use crate::platform::validate::{Checks, max_len, one_of, required_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const STAGE_KINDS: &[&str] = &["open", "won", "lost"];
/// A deal's grade and priority (opportunities use the same lists).
pub const GRADES: &[&str] = &["A", "B", "C"];
pub const PRIORITIES: &[&str] = &["low", "normal", "high"];

/// Fields a stage may require before a deal enters it (besides `custom.<key>`).
pub const REQUIRABLE: &[&str] = &[
    "amount",
    "expected_close_date",
    "contact_id",
    "source",
    "grade",
    "products",
    "notes",
];

pub const ACTIONS: &[&str] = &["create_task", "notify", "set_field", "contract_draft"];
/// Fields a condition may test.
pub const CONDITION_FIELDS: &[&str] = &["amount", "grade", "priority", "source", "currency"];
pub const CONDITION_OPS: &[&str] = &["eq", "ne", "gte", "lte"];
/// Fields a `set_field` action may set.
pub const SETTABLE: &[&str] = &["grade", "priority", "probability"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    pub id: String,
    /// 中文 name.
    pub name: String,
    pub name_en: String,
    /// 0–100: the deal's default win probability in this stage.
    pub probability: i32,
    /// `open`, `won` or `lost`.
    pub kind: String,
    /// What a deal must have before it may enter: `amount`, `expected_close_date`,
    /// `contact_id`, `source`, `grade`, `products`, `notes` or `custom.<key>`.
    pub required_fields: Vec<String>,
    pub position: i32,
}

impl From<pipeline_stage::Model> for StageView {
    fn from(m: pipeline_stage::Model) -> Self {
        StageView {
            required_fields: serde_json::from_str(&m.required_fields).unwrap_or_default(),
            id: m.id,
            name: m.name,
            name_en: m.name_en,
            probability: m.probability,
            kind: m.kind,
            position: m.position,
        }
    }
}

impl StageView {
    /// The name in the reader's language.
    pub fn label(&self, chinese: bool) -> &str {
        if chinese { &self.name } else { &self.name_en }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineView {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub position: i32,
    pub is_default: bool,
    /// In order.
    pub stages: Vec<StageView>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PipelineView {
    pub fn new(p: pipeline::Model, stages: Vec<StageView>) -> Self {
        PipelineView {
            id: p.id,
            name: p.name,
            name_en: p.name_en,
            position: p.position,
            is_default: p.is_default,
            stages,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }

    pub fn label(&self, chinese: bool) -> &str {
        if chinese { &self.name } else { &self.name_en }
    }

    pub fn stage(&self, id: &str) -> Option<&StageView> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The first open stage (where new deals start).
    pub fn first_open(&self) -> Option<&StageView> {
        self.stages.iter().find(|s| s.kind == "open")
    }
}

/// A stage as sent: with `id` to keep (and rename) an existing stage, without to add one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub id: Option<String>,
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    pub name_en: Option<String>,
    pub probability: i32,
    /// `open` (default), `won` or `lost`.
    pub kind: Option<String>,
    pub required_fields: Option<Vec<String>>,
}

/// `POST /api/v1/pipelines` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPipeline {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    pub name_en: Option<String>,
    /// Make it the pipeline new deals go to by default.
    #[serde(default)]
    pub is_default: bool,
    /// In order; at least one open stage, one won and one lost. Omitted: a copy
    /// of the default pipeline's stages.
    pub stages: Option<Vec<StageInput>>,
}

/// `PATCH /api/v1/pipelines/{id}` (administrators). `stages`, when sent, is the
/// whole new list: stages left out are removed (refused while deals sit in them).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelinePatch {
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub is_default: Option<bool>,
    pub stages: Option<Vec<StageInput>>,
    pub version: Option<i64>,
}

/// Checks a pipeline's names and stage list; `custom_keys` are the
/// opportunity custom fields a stage may require.
pub fn check_pipeline(
    name: &str,
    name_en: &str,
    stages: &[StageInput],
    custom_keys: &[String],
) -> Checks {
    let mut c = Checks::default();
    c.add(required_text("name", name, 50));
    c.add(required_text("name_en", name_en, 50));
    if stages.len() < 3 || stages.len() > 20 {
        c.push("stages", "out_of_range", "give 3 to 20 stages");
    }
    let mut seen_ids = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let f = |k: &str| format!("stages[{i}].{k}");
        c.add(required_text(&f("name"), &s.name, 50));
        if let Some(en) = &s.name_en {
            c.add(max_len(&f("name_en"), en, 50));
        }
        if !(0..=100).contains(&s.probability) {
            c.push(
                &f("probability"),
                "out_of_range",
                "must be between 0 and 100",
            );
        }
        let kind = s.kind.as_deref().unwrap_or("open");
        c.add(one_of(&f("kind"), kind, STAGE_KINDS));
        for r in s.required_fields.iter().flatten() {
            let known = REQUIRABLE.contains(&r.as_str())
                || r.strip_prefix("custom.")
                    .is_some_and(|k| custom_keys.iter().any(|x| x == k));
            if !known {
                c.push(
                    &f("required_fields"),
                    "not_an_option",
                    &format!(
                        "{r} is not a field a stage can require ({} or custom.<key>)",
                        REQUIRABLE.join(", ")
                    ),
                );
            }
        }
        if let Some(id) = &s.id {
            if seen_ids.contains(id) {
                c.push(&f("id"), "duplicate", "a stage appears twice");
            }
            seen_ids.push(id.clone());
        }
    }
    for kind in STAGE_KINDS {
        if !stages.is_empty()
            && !stages
                .iter()
                .any(|s| s.kind.as_deref().unwrap_or("open") == *kind)
        {
            c.push(
                "stages",
                "missing_kind",
                &format!("a pipeline needs at least one {kind} stage"),
            );
        }
    }
    c
}

/// "When a deal enters `stage_id` and `condition` holds, do `action`."
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleCondition {
    /// `amount`, `grade`, `priority`, `source` or `currency`.
    pub field: String,
    /// `eq`, `ne`, `gte` or `lte` (`gte`/`lte` for `amount` only).
    pub op: String,
    /// For `amount` a decimal string in the deal's currency.
    pub value: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub pipeline_id: String,
    pub stage_id: String,
    pub name: String,
    pub condition: Option<RuleCondition>,
    /// `create_task` (params `title`, `due_in_days`), `notify` (params `user_id`
    /// — omitted: the owner's team manager — and `message`), `set_field` (params
    /// `field`: grade/priority/probability, `value`) or `contract_draft`.
    pub action: String,
    #[schema(value_type = Object)]
    pub params: Value,
    pub active: bool,
    pub position: i32,
    pub version: i64,
}

impl From<automation_rule::Model> for RuleView {
    fn from(m: automation_rule::Model) -> Self {
        RuleView {
            condition: m
                .condition
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
            params: serde_json::from_str(&m.params).unwrap_or(Value::Object(Default::default())),
            id: m.id,
            pipeline_id: m.pipeline_id,
            stage_id: m.stage_id,
            name: m.name,
            action: m.action,
            active: m.active,
            position: m.position,
            version: m.version,
        }
    }
}

/// `POST /api/v1/automation-rules` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub stage_id: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub condition: Option<RuleCondition>,
    pub action: String,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    pub active: Option<bool>,
}

/// `PATCH /api/v1/automation-rules/{id}` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::platform::api::double_option")]
    #[schema(value_type = Option<RuleCondition>)]
    pub condition: Option<Option<RuleCondition>>,
    pub action: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    pub active: Option<bool>,
    pub version: Option<i64>,
}

/// Checks a rule; returns its params in their stored shape.
pub fn check_rule(
    name: &str,
    condition: Option<&RuleCondition>,
    action: &str,
    params: &Value,
) -> (Checks, Value) {
    let mut c = Checks::default();
    c.add(required_text("name", name, 100));
    c.add(one_of("action", action, ACTIONS));
    if let Some(k) = condition {
        c.add(one_of("condition.field", &k.field, CONDITION_FIELDS));
        c.add(one_of("condition.op", &k.op, CONDITION_OPS));
        if k.field == "amount" {
            if let Err(e) = crate::platform::money::parse_decimal("condition.value", &k.value) {
                c.0.push(e);
            }
        } else if k.op == "gte" || k.op == "lte" {
            c.push(
                "condition.op",
                "not_an_option",
                "gte and lte compare amounts only",
            );
        }
        c.add(max_len("condition.value", &k.value, 100));
    }
    let obj = params.as_object().cloned().unwrap_or_default();
    if !params.is_object() && !params.is_null() {
        c.push("params", "invalid", "must be an object");
    }
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let out = match action {
        "create_task" => {
            let title = text("title");
            match &title {
                Some(t) => c.add(max_len("params.title", t, 200)),
                None => c.push("params.title", "required", "is required"),
            }
            let days = obj.get("due_in_days").map(|v| v.as_i64());
            let days = match days {
                None => 1,
                Some(Some(d)) if (0..=365).contains(&d) => d,
                Some(_) => {
                    c.push(
                        "params.due_in_days",
                        "out_of_range",
                        "must be a whole number from 0 to 365",
                    );
                    1
                }
            };
            serde_json::json!({"title": title, "due_in_days": days})
        }
        "notify" => {
            let message = text("message");
            match &message {
                Some(m) => c.add(max_len("params.message", m, 500)),
                None => c.push("params.message", "required", "is required"),
            }
            serde_json::json!({"user_id": text("user_id"), "message": message})
        }
        "set_field" => {
            let field = text("field").unwrap_or_default();
            let value = text("value").unwrap_or_default();
            c.add(one_of("params.field", &field, SETTABLE));
            match field.as_str() {
                "probability" if !value.parse::<i32>().is_ok_and(|p| (0..=100).contains(&p)) => {
                    c.push("params.value", "out_of_range", "must be between 0 and 100")
                }
                "grade" => c.add(one_of("params.value", &value, GRADES)),
                "priority" => c.add(one_of("params.value", &value, PRIORITIES)),
                _ => {}
            }
            serde_json::json!({"field": field, "value": value})
        }
        _ => serde_json::json!({}),
    };
    (c, out)
}
