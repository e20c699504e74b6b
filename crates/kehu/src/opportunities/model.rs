//! Opportunity types and their checks (no SQL, no HTTP).

use crate::entities::opportunity;
use crate::platform::api::double_option;
use crate::platform::error::FieldError;
use crate::platform::money::{self, Money};
use crate::platform::validate::{Checks, max_len, one_of, required_text};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

pub use crate::pipelines::model::{GRADES, PRIORITIES};
pub const STATUSES: &[&str] = &["open", "won", "lost"];

pub use crate::products::model::{LineItem, LineItemInput, price_items};

/// A deal as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpportunityView {
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub contact_id: Option<String>,
    pub pipeline_id: String,
    pub stage_id: String,
    /// The stage's kind: `open`, `won` or `lost`.
    pub status: String,
    pub amount: Money,
    /// `amount` × `probability`, rounded to the currency's minor unit.
    pub weighted_amount: Money,
    /// 0–100; defaults from the stage.
    pub probability: i32,
    /// `YYYY-MM-DD`.
    pub expected_close_date: Option<String>,
    pub source: Option<String>,
    /// `A`, `B` or `C`.
    pub grade: Option<String>,
    /// `low`, `normal` or `high`.
    pub priority: String,
    pub owner_id: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    pub lost_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub won_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub stage_entered_at: OffsetDateTime,
    /// Product lines; when there are any, `amount` is their sum.
    pub products: Vec<LineItem>,
    #[schema(value_type = Object)]
    pub custom: Value,
    pub notes: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

/// `amount × probability / 100` in stored units, rounded half-even to the minor unit.
pub fn weighted(amount: i64, probability: i32, currency: &str) -> i64 {
    let w = money::decimal(amount) * Decimal::from(probability) / Decimal::from(100);
    money::to_stored(money::round(w, currency)).unwrap_or(0)
}

impl From<opportunity::Model> for OpportunityView {
    fn from(m: opportunity::Model) -> Self {
        OpportunityView {
            amount: money::money(m.amount, &m.currency),
            weighted_amount: money::money(
                weighted(m.amount, m.probability, &m.currency),
                &m.currency,
            ),
            products: serde_json::from_str(&m.products).unwrap_or_default(),
            custom: serde_json::from_str(&m.custom).unwrap_or(Value::Object(Map::new())),
            expected_close_date: m
                .expected_close_date
                .map(crate::customers::model::date_text),
            id: m.id,
            name: m.name,
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            pipeline_id: m.pipeline_id,
            stage_id: m.stage_id,
            status: m.status,
            probability: m.probability,
            source: m.source,
            grade: m.grade,
            priority: m.priority,
            owner_id: m.owner_id,
            campaign_id: m.campaign_id,
            partner_id: m.partner_id,
            lost_reason: m.lost_reason,
            won_at: m.won_at,
            closed_at: m.closed_at,
            stage_entered_at: m.stage_entered_at,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
            deleted_at: m.deleted_at,
        }
    }
}

/// `POST /api/v1/opportunities`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub customer_id: String,
    pub contact_id: Option<String>,
    /// Default: the default pipeline.
    pub pipeline_id: Option<String>,
    /// Default: the pipeline's first open stage.
    pub stage_id: Option<String>,
    /// Ignored when `products` are given (the amount is their sum then).
    pub amount: Option<Money>,
    /// Used when `amount` is not given (default CNY).
    pub currency: Option<String>,
    /// Default: the stage's.
    pub probability: Option<i32>,
    /// `YYYY-MM-DD`.
    pub expected_close_date: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub priority: Option<String>,
    /// Default: you.
    pub owner_id: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    pub lost_reason: Option<String>,
    pub products: Option<Vec<LineItemInput>>,
    pub notes: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
}

/// `PATCH /api/v1/opportunities/{id}`: only the fields sent change; `null` clears.
/// Changing `stage_id` here is a stage move (history, rules) like `POST …/move`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<Option<String>>,
    pub pipeline_id: Option<String>,
    pub stage_id: Option<String>,
    pub amount: Option<Money>,
    pub probability: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expected_close_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub grade: Option<Option<String>>,
    pub priority: Option<String>,
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub campaign_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub partner_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub lost_reason: Option<Option<String>>,
    pub products: Option<Vec<LineItemInput>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub version: Option<i64>,
}

/// `POST /api/v1/opportunities/{id}/move`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    pub stage_id: String,
    /// Required when the stage is a `lost` one.
    pub lost_reason: Option<String>,
    /// The version you read (optional here: a move without it applies to the current deal).
    pub version: Option<i64>,
}

/// One stage change of a deal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageChangeView {
    pub id: String,
    /// Null for the stage the deal was created in.
    pub from_stage_id: Option<String>,
    pub to_stage_id: String,
    /// Seconds the deal spent in `from_stage_id`.
    pub seconds_in_from: Option<i64>,
    pub changed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

/// A deal's stage history and the time it spent in each stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct History {
    /// The stage changes, oldest first (the whole history: one page).
    pub data: Vec<StageChangeView>,
    /// Always null: the history is never cut into pages.
    pub next_cursor: Option<String>,
    pub total: u64,
    /// Seconds per stage id, the current stage counted up to now.
    pub seconds_in_stage: std::collections::BTreeMap<String, i64>,
}

/// Every field of a deal after a create or a patch, before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The id a new deal gets (a converted lead names it); else a fresh one.
    pub new_id: Option<String>,
    pub name: String,
    pub customer_id: String,
    pub contact_id: Option<String>,
    pub pipeline_id: String,
    pub stage_id: String,
    pub amount: i64,
    pub currency: String,
    pub probability: Option<i32>,
    pub expected_close_date: Option<Date>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub priority: String,
    pub owner_id: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    pub lost_reason: Option<String>,
    pub products: Vec<LineItem>,
    pub notes: Option<String>,
}

pub fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Draft {
    pub fn from_model(m: &opportunity::Model) -> Draft {
        Draft {
            new_id: None,
            name: m.name.clone(),
            customer_id: m.customer_id.clone(),
            contact_id: m.contact_id.clone(),
            pipeline_id: m.pipeline_id.clone(),
            stage_id: m.stage_id.clone(),
            amount: m.amount,
            currency: m.currency.clone(),
            probability: Some(m.probability),
            expected_close_date: m.expected_close_date,
            source: m.source.clone(),
            grade: m.grade.clone(),
            priority: m.priority.clone(),
            owner_id: m.owner_id.clone(),
            campaign_id: m.campaign_id.clone(),
            partner_id: m.partner_id.clone(),
            lost_reason: m.lost_reason.clone(),
            products: serde_json::from_str(&m.products).unwrap_or_default(),
            notes: m.notes.clone(),
        }
    }

    /// The plain fields' checks (the store checks references). `sources`: the
    /// sources to check `source` against (None: it did not change, keep it).
    pub fn check(&self, sources: Option<&[String]>) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 200));
        c.add(one_of("priority", &self.priority, PRIORITIES));
        if let Some(g) = &self.grade {
            c.add(one_of("grade", g, GRADES));
        }
        if let Some(p) = self.probability
            && !(0..=100).contains(&p)
        {
            c.push("probability", "out_of_range", "must be between 0 and 100");
        }
        for (field, v, max) in [
            ("lost_reason", &self.lost_reason, 500),
            ("campaign_id", &self.campaign_id, 36),
            ("partner_id", &self.partner_id, 36),
            ("notes", &self.notes, 10_000),
        ] {
            if let Some(v) = v {
                c.add(max_len(field, v, max));
            }
        }
        if let (Some(s), Some(sources)) = (&self.source, sources)
            && !sources.iter().any(|x| x == s)
        {
            c.push(
                "source",
                "not_an_option",
                &format!("must be one of: {}", sources.join(", ")),
            );
        }
        if let Some(d) = self.expected_close_date
            && !(2000..=2100).contains(&d.year())
        {
            c.push(
                "expected_close_date",
                "out_of_range",
                "must be between 2000 and 2100",
            );
        }
        c
    }

    /// What `required` (a stage's required fields) finds missing.
    pub fn missing(&self, required: &[String], custom: &Map<String, Value>) -> Vec<String> {
        required
            .iter()
            .filter(|r| {
                let present = match r.as_str() {
                    "amount" => self.amount > 0,
                    "expected_close_date" => self.expected_close_date.is_some(),
                    "contact_id" => self.contact_id.is_some(),
                    "source" => self.source.is_some(),
                    "grade" => self.grade.is_some(),
                    "products" => !self.products.is_empty(),
                    "notes" => self.notes.is_some(),
                    other => other
                        .strip_prefix("custom.")
                        .and_then(|k| custom.get(k))
                        .is_some_and(|v| !v.is_null() && v != "" && v != &Value::Array(vec![])),
                };
                !present
            })
            .cloned()
            .collect()
    }
}

/// Parses an optional `YYYY-MM-DD`.
pub fn parse_date(field: &str, v: Option<&str>) -> Result<Option<Date>, FieldError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::platform::validate::date(field, s).map(Some),
    }
}
