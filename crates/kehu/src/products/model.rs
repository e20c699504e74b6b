//! Product types and their checks, and the priced line items that deals (and
//! later quotes, orders and contracts) carry. No SQL, no HTTP.

use crate::entities::product;
use crate::platform::api::double_option;
use crate::platform::error::FieldError;
use crate::platform::money::{self, Money};
use crate::platform::validate::{Checks, max_len, required_text};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A product as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductView {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    /// 件, 套, hour, licence…
    pub unit: Option<String>,
    pub price: Money,
    pub cost: Option<Money>,
    /// A percent as a decimal string (`"13"`).
    pub tax_rate: String,
    pub active: bool,
    pub description: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A percent stored in ten-thousandths as text (`13`, `6.5`).
pub fn percent_text(stored: i64) -> String {
    money::decimal(stored).normalize().to_string()
}

impl From<product::Model> for ProductView {
    fn from(m: product::Model) -> Self {
        ProductView {
            price: money::money(m.price, &m.currency),
            cost: m.cost.map(|c| money::money(c, &m.currency)),
            tax_rate: percent_text(m.tax_rate),
            id: m.id,
            sku: m.sku,
            name: m.name,
            category: m.category,
            unit: m.unit,
            active: m.active,
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Unique stock-keeping code.
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub price: Money,
    /// In the price's currency.
    pub cost: Option<Money>,
    /// Percent, 0–100 (default 0).
    pub tax_rate: Option<String>,
    /// Default true.
    pub active: Option<bool>,
    pub description: Option<String>,
}

/// A change to a product; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub unit: Option<Option<String>>,
    pub price: Option<Money>,
    /// In the price's currency; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Money>)]
    pub cost: Option<Option<Money>>,
    pub tax_rate: Option<String>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub version: Option<i64>,
}

/// A product about to be written, checked.
#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub price: i64,
    pub currency: String,
    pub cost: Option<i64>,
    pub tax_rate: i64,
    pub active: bool,
    pub description: Option<String>,
}

fn opt(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A percent 0–100 as text, stored in ten-thousandths.
pub fn parse_percent(field: &str, s: &str) -> Result<i64, FieldError> {
    let d = money::parse_decimal(field, s)?;
    if d < Decimal::ZERO || d > Decimal::from(100) {
        return Err(FieldError::new(
            field,
            "out_of_range",
            "must be between 0 and 100",
        ));
    }
    money::to_stored(d)
        .ok_or_else(|| FieldError::new(field, "too_precise", "takes at most 4 decimals"))
}

impl ProductDraft {
    pub fn from_model(m: &product::Model) -> Self {
        ProductDraft {
            sku: m.sku.clone(),
            name: m.name.clone(),
            category: m.category.clone(),
            unit: m.unit.clone(),
            price: m.price,
            currency: m.currency.clone(),
            cost: m.cost,
            tax_rate: m.tax_rate,
            active: m.active,
            description: m.description.clone(),
        }
    }

    /// Applies a patch (or a whole new product onto an empty draft) and checks it.
    pub fn apply(&mut self, p: ProductPatch) -> Result<(), Vec<FieldError>> {
        let mut c = Checks::default();
        if let Some(v) = p.sku {
            self.sku = v.trim().to_owned();
        }
        if let Some(v) = p.name {
            self.name = v.trim().to_owned();
        }
        if let Some(v) = p.category {
            self.category = opt(v);
        }
        if let Some(v) = p.unit {
            self.unit = opt(v);
        }
        if let Some(v) = p.description {
            self.description = opt(v);
        }
        if let Some(v) = p.active {
            self.active = v;
        }
        if let Some(price) = p.price {
            self.currency = price.currency.trim().to_owned();
            match money::parse_amount("price", &price.amount, &self.currency) {
                Ok(v) => self.price = v,
                Err(e) => c.0.push(e),
            }
        }
        if let Some(cost) = p.cost {
            self.cost = match cost.filter(|m| !m.amount.trim().is_empty()) {
                None => None,
                Some(m) if m.currency.trim() != self.currency => {
                    c.0.push(crate::platform::error::FieldError::new(
                        "cost.currency",
                        "currency_mismatch",
                        "must be the price's currency",
                    ));
                    None
                }
                Some(m) => match money::parse_amount("cost", &m.amount, &self.currency) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        c.0.push(e);
                        None
                    }
                },
            };
        }
        if let Some(t) = p.tax_rate {
            match parse_percent("tax_rate", &t) {
                Ok(v) => self.tax_rate = v,
                Err(e) => c.0.push(e),
            }
        }
        c.add(required_text("sku", &self.sku, 64));
        c.add(required_text("name", &self.name, 200));
        for (f, v, max) in [
            ("category", &self.category, 100),
            ("unit", &self.unit, 30),
            ("description", &self.description, 4000),
        ] {
            if let Some(v) = v {
                c.add(max_len(f, v, max));
            }
        }
        if c.0.is_empty() { Ok(()) } else { Err(c.0) }
    }
}

impl From<NewProduct> for ProductPatch {
    fn from(n: NewProduct) -> Self {
        ProductPatch {
            sku: Some(n.sku),
            name: Some(n.name),
            category: Some(n.category),
            unit: Some(n.unit),
            price: Some(n.price),
            cost: Some(n.cost),
            tax_rate: Some(n.tax_rate.unwrap_or_else(|| "0".into())),
            active: Some(n.active.unwrap_or(true)),
            description: Some(n.description),
            version: None,
        }
    }
}

/// A product line of a deal (and later of quotes, orders, contracts) as stored and shown. Quantities, prices and
/// percentages are decimal strings; `total` = quantity × unit price × (1 −
/// discount), rounded half-even to the currency's minor unit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LineItem {
    /// The catalogue product, if the line is one.
    pub product_id: Option<String>,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: String,
    pub total: String,
}

impl LineItem {
    /// The unit price for people, in the document's `currency` (`¥12,800.00`).
    pub fn price_shown(&self, currency: &str) -> String {
        shown(&self.unit_price, currency)
    }

    /// The line's total for people, in the document's `currency`.
    pub fn total_shown(&self, currency: &str) -> String {
        shown(&self.total, currency)
    }
}

/// An amount of `currency` as the pages show money (`platform::money::display_money`).
fn shown(amount: &str, currency: &str) -> String {
    crate::platform::money::display_money(&crate::platform::money::Money {
        amount: amount.to_owned(),
        currency: currency.to_owned(),
    })
}

/// A product line as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// A product of the catalogue: its name and price are the defaults.
    pub product_id: Option<String>,
    /// Required unless `product_id` is given.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// A decimal string, more than 0.
    pub quantity: String,
    /// A decimal string in the record's currency; the product's price by default.
    #[serde(default)]
    pub unit_price: String,
    /// 0–100 (default 0).
    pub discount_percent: Option<String>,
}

/// Checks product lines and prices them; returns the lines and their sum (stored units).
pub fn price_items(
    items: &[LineItemInput],
    currency: &str,
) -> Result<(Vec<LineItem>, i64), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut sum = Decimal::ZERO;
    if items.len() > 100 {
        errors.push(FieldError::new("products", "too_long", "at most 100 lines"));
    }
    for (i, it) in items.iter().enumerate() {
        let f = |k: &str| format!("products[{i}].{k}");
        let before = errors.len();
        if let Some(e) = required_text(&f("name"), &it.name, 200) {
            errors.push(e);
        }
        let qty = money::parse_decimal(&f("quantity"), &it.quantity)
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(q) = qty
            && (q <= Decimal::ZERO || q > Decimal::from(1_000_000_000))
        {
            errors.push(FieldError::new(
                &f("quantity"),
                "out_of_range",
                "must be more than 0",
            ));
        }
        let price = money::parse_amount(&f("unit_price"), &it.unit_price, currency)
            .map_err(|e| errors.push(e))
            .ok();
        let disc = match it
            .discount_percent
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(Decimal::ZERO),
            Some(s) => money::parse_decimal(&f("discount_percent"), s)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        if let Some(d) = disc
            && (d < Decimal::ZERO || d > Decimal::from(100))
        {
            errors.push(FieldError::new(
                &f("discount_percent"),
                "out_of_range",
                "must be between 0 and 100",
            ));
        }
        if errors.len() > before {
            continue;
        }
        let (Some(q), Some(p), Some(d)) = (qty, price, disc) else {
            continue;
        };
        let total = q
            .checked_mul(money::decimal(p))
            .and_then(|x| x.checked_mul(Decimal::from(100) - d))
            .and_then(|x| x.checked_div(Decimal::from(100)))
            .map(|x| money::round(x, currency));
        let Some(total) =
            total.filter(|t| money::to_stored(*t).is_some_and(|v| v <= money::MAX_UNITS * 10_000))
        else {
            errors.push(FieldError::new(
                &f("quantity"),
                "too_large",
                "the line total is too large",
            ));
            continue;
        };
        sum += total;
        out.push(LineItem {
            product_id: it.product_id.clone(),
            name: it.name.trim().to_owned(),
            quantity: q.normalize().to_string(),
            unit_price: money::text(p, currency),
            discount_percent: d.normalize().to_string(),
            total: money::text(money::to_stored(total).unwrap_or(0), currency),
        });
    }
    let sum = money::to_stored(sum).filter(|v| *v <= money::MAX_UNITS * 10_000);
    if sum.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "products",
            "too_large",
            "the total is too large",
        ));
    }
    if errors.is_empty() {
        Ok((out, sum.unwrap_or(0)))
    } else {
        Err(errors)
    }
}

/// The money of a priced document (quote, order): the lines' sum, a discount
/// on the whole, tax on what is left, and the total, in stored units, each
/// rounded half-even to the currency's minor unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

/// Totals of `subtotal` with `discount_percent` and `tax_rate` (percents in
/// ten-thousandths); `None` when the total is too large to keep.
pub fn totals(
    subtotal: i64,
    discount_percent: i64,
    tax_rate: i64,
    currency: &str,
) -> Option<Totals> {
    let hundred = Decimal::from(100);
    let s = money::decimal(subtotal);
    let d = money::round(
        s.checked_mul(money::decimal(discount_percent))? / hundred,
        currency,
    );
    let taxable = s - d;
    let t = money::round(
        taxable.checked_mul(money::decimal(tax_rate))? / hundred,
        currency,
    );
    let stored = |x: Decimal| money::to_stored(x).filter(|v| *v <= money::MAX_UNITS * 10_000);
    Some(Totals {
        subtotal,
        discount: stored(d)?,
        tax: stored(t)?,
        total: stored(taxable + t)?,
    })
}

#[cfg(test)]
mod totals_tests {
    use super::*;

    #[test]
    fn discount_then_tax_rounded_half_even() {
        // 10 % of 1,000.05 is 100.005 → 100.00 (half-even); 13 % tax of 900.05 = 117.0065 → 117.01.
        let t = totals(10_000_500, 100_000, 130_000, "CNY").unwrap();
        assert_eq!(money::text(t.discount, "CNY"), "100.00", "{t:?}");
        assert_eq!(money::text(t.tax, "CNY"), "117.01");
        assert_eq!(money::text(t.total, "CNY"), "1017.06");
        let none = totals(12_345_678, 0, 0, "CNY").unwrap();
        assert_eq!(none.total, 12_345_678);
    }
}
