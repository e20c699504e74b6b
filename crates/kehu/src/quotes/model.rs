//! Quote and order types (no SQL, no HTTP). Lines are `products::model`
//! line items; totals come from `products::model::totals`, always computed
//! on the server.

use crate::entities::{order, quote};
use crate::platform::api::double_option;
use crate::platform::money::{self, Money};
use crate::products::model::{LineItem, LineItemInput, percent_text};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const QUOTE_STATUSES: &[&str] = &["draft", "sent", "accepted", "rejected", "expired"];
pub const ORDER_STATUSES: &[&str] = &["confirmed", "fulfilled", "cancelled"];
/// What a confirmed order may become (then it stays).
pub const ORDER_MOVES: &[&str] = &["fulfilled", "cancelled"];

/// The priced part of a quote or an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Priced {
    pub items: Vec<LineItem>,
    /// Percent off the lines' sum (`"5"`).
    pub discount_percent: String,
    /// Percent of tax on what is left (`"13"`).
    pub tax_rate: String,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
}

fn priced(items: &str, currency: &str, d: i64, t: i64, sums: [i64; 4]) -> Priced {
    Priced {
        items: serde_json::from_str(items).unwrap_or_default(),
        discount_percent: percent_text(d),
        tax_rate: percent_text(t),
        subtotal: money::money(sums[0], currency),
        discount: money::money(sums[1], currency),
        tax: money::money(sums[2], currency),
        total: money::money(sums[3], currency),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteView {
    pub id: String,
    /// `Q-2026-000123`.
    pub number: String,
    pub title: String,
    pub customer_id: String,
    pub opportunity_id: Option<String>,
    pub owner_id: Option<String>,
    pub currency: String,
    #[serde(flatten)]
    pub priced: Priced,
    pub valid_until: Option<String>,
    /// `draft`, `sent`, `accepted`, `rejected`, `expired`.
    pub status: String,
    /// The order its acceptance made.
    pub order_id: Option<String>,
    pub reject_reason: Option<String>,
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
}

impl From<quote::Model> for QuoteView {
    fn from(m: quote::Model) -> Self {
        QuoteView {
            priced: priced(
                &m.items,
                &m.currency,
                m.discount_percent,
                m.tax_rate,
                [m.subtotal, m.discount, m.tax, m.total],
            ),
            valid_until: m.valid_until.map(|d| d.to_string()),
            id: m.id,
            number: m.number,
            title: m.title,
            customer_id: m.customer_id,
            opportunity_id: m.opportunity_id,
            owner_id: m.owner_id,
            currency: m.currency,
            status: m.status,
            order_id: m.order_id,
            reject_reason: m.reject_reason,
            notes: m.notes,
            sent_at: m.sent_at,
            decided_at: m.decided_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
        }
    }
}

/// A new quote (a draft). Without `items`, a quote for a deal takes the deal's
/// product lines.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQuote {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Required unless `opportunity_id` names the deal (its customer is taken).
    pub customer_id: Option<String>,
    pub opportunity_id: Option<String>,
    /// Default: the deal's, or CNY.
    pub currency: Option<String>,
    pub items: Option<Vec<LineItemInput>>,
    /// 0–100 (default 0).
    pub discount_percent: Option<String>,
    /// 0–100 (default 0).
    pub tax_rate: Option<String>,
    /// `YYYY-MM-DD`.
    pub valid_until: Option<String>,
    pub owner_id: Option<String>,
    pub notes: Option<String>,
}

/// A change to a draft quote.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotePatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub items: Option<Vec<LineItemInput>>,
    pub discount_percent: Option<String>,
    pub tax_rate: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub owner_id: Option<String>,
    pub version: Option<i64>,
}

/// Sending, accepting or rejecting a quote (`reason` to reject).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteAction {
    pub reason: Option<String>,
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    /// `SO-2026-000123`.
    pub number: String,
    pub customer_id: String,
    pub quote_id: Option<String>,
    pub opportunity_id: Option<String>,
    pub owner_id: Option<String>,
    pub currency: String,
    #[serde(flatten)]
    pub priced: Priced,
    pub order_date: String,
    /// `confirmed`, `fulfilled`, `cancelled`.
    pub status: String,
    pub notes: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
}

impl From<order::Model> for OrderView {
    fn from(m: order::Model) -> Self {
        OrderView {
            priced: priced(
                &m.items,
                &m.currency,
                m.discount_percent,
                m.tax_rate,
                [m.subtotal, m.discount, m.tax, m.total],
            ),
            order_date: m.order_date.to_string(),
            id: m.id,
            number: m.number,
            customer_id: m.customer_id,
            quote_id: m.quote_id,
            opportunity_id: m.opportunity_id,
            owner_id: m.owner_id,
            currency: m.currency,
            status: m.status,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
        }
    }
}

/// A new order (confirmed at once).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub customer_id: String,
    pub opportunity_id: Option<String>,
    /// Default CNY.
    pub currency: Option<String>,
    pub items: Vec<LineItemInput>,
    pub discount_percent: Option<String>,
    pub tax_rate: Option<String>,
    /// `YYYY-MM-DD`, default today.
    pub order_date: Option<String>,
    pub owner_id: Option<String>,
    pub notes: Option<String>,
}

/// `fulfilled` or `cancelled` (from `confirmed`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusInput {
    pub status: String,
    pub version: Option<i64>,
}

/// A customer's purchases: what, when, how much (segments and churn scores read it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseSummary {
    pub customer_id: String,
    /// Orders not cancelled.
    pub orders: u64,
    /// Their totals, per currency.
    pub totals: Vec<Money>,
    pub first_order_date: Option<String>,
    pub last_order_date: Option<String>,
}
