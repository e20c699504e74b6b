//! Money: exact decimals (`rust_decimal`), never floating point.
//!
//! Amounts are stored as `i64` in ten-thousandths of the currency unit (scale
//! 4), so SQLite and PostgreSQL both keep them without loss and `SUM` in SQL is
//! exact. JSON carries `{"amount": "12800.00", "currency": "CNY"}`: a decimal
//! string with the currency's minor digits. Rounding (half-even, to the
//! currency's minor unit) happens only where a function here says so.

use crate::platform::error::FieldError;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Stored amounts are whole multiples of 10⁻⁴.
pub const SCALE: u32 = 4;
const ONE: i64 = 10_000;
/// The largest amount one record may carry (a trillion units).
pub const MAX_UNITS: i64 = 1_000_000_000_000;

/// Sums of stored money in SQL are taken in two parts, whole 10⁸ units and
/// the rest, each safe from i64 overflow, and joined in Rust as i128
/// (`split_sum`, `join_sums`).
pub const SPLIT: i64 = 100_000_000;

/// `(SUM(e / 10⁸), SUM(e % 10⁸))` as BIGINTs, for a grouped select.
pub fn split_sum(
    e: sea_orm::sea_query::Expr,
) -> (sea_orm::sea_query::Expr, sea_orm::sea_query::Expr) {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func};
    let cast = |x: Expr| Expr::from(Func::cast_as(Func::sum(x), Alias::new("BIGINT")));
    (cast(e.clone().div(SPLIT)), cast(e.modulo(SPLIT)))
}

/// Joins the two parts of a `split_sum`.
pub fn join_sums(high: Option<i64>, low: Option<i64>) -> i128 {
    i128::from(high.unwrap_or(0)) * i128::from(SPLIT) + i128::from(low.unwrap_or(0))
}

/// Currencies we accept and their minor digits (ISO 4217).
pub const CURRENCIES: &[(&str, u32)] = &[
    ("CNY", 2),
    ("USD", 2),
    ("EUR", 2),
    ("HKD", 2),
    ("TWD", 2),
    ("MOP", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("GBP", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("CHF", 2),
];
pub const DEFAULT_CURRENCY: &str = "CNY";

/// A sum of money as the API shows and takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// A decimal string, e.g. `"12800.00"`.
    #[schema(example = "12800.00")]
    pub amount: String,
    /// ISO 4217 code, e.g. `CNY`.
    #[schema(example = "CNY")]
    pub currency: String,
}

/// The minor digits of a currency we accept.
pub fn minor_digits(currency: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, d)| *d)
}

pub fn check_currency(field: &str, currency: &str) -> Result<u32, FieldError> {
    minor_digits(currency).ok_or_else(|| {
        FieldError::new(
            field,
            "not_an_option",
            format!(
                "must be one of: {}",
                CURRENCIES
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// A stored amount as a decimal.
pub fn decimal(stored: i64) -> Decimal {
    Decimal::new(stored, SCALE)
}

/// A decimal as a stored amount, if it has at most four decimals and fits.
pub fn to_stored(d: Decimal) -> Option<i64> {
    if d.scale() > SCALE && d.normalize().scale() > SCALE {
        return None;
    }
    let scaled = d.checked_mul(Decimal::from(ONE))?.normalize();
    if scaled.scale() != 0 {
        return None;
    }
    i64::try_from(scaled).ok()
}

/// Rounds half-even to the currency's minor unit (a defined rounding point).
pub fn round(d: Decimal, currency: &str) -> Decimal {
    let digits = minor_digits(currency).unwrap_or(2);
    d.round_dp_with_strategy(digits, RoundingStrategy::MidpointNearestEven)
}

/// The text of a stored amount with exactly the currency's minor digits
/// (rounded half-even if the stored value has more).
pub fn text(stored: i64, currency: &str) -> String {
    let digits = minor_digits(currency).unwrap_or(2);
    let mut d = round(decimal(stored), currency);
    d.rescale(digits);
    d.to_string()
}

pub fn money(stored: i64, currency: &str) -> Money {
    Money {
        amount: text(stored, currency),
        currency: currency.to_owned(),
    }
}

/// A sum of stored amounts (which may pass i64) as money, rounded half-even
/// to the currency's minor unit.
pub fn money_of_sum(stored: i128, currency: &str) -> Money {
    money_of_scaled(stored, SCALE, currency)
}

/// `value × 10^-scale` as money, rounded half-even to the currency's minor unit
/// (once, so there is no double rounding).
pub fn money_of_scaled(value: i128, scale: u32, currency: &str) -> Money {
    let digits = minor_digits(currency).unwrap_or(2);
    let amount = match Decimal::try_from_i128_with_scale(value, scale) {
        Ok(d) => {
            let mut d = round(d, currency);
            d.rescale(digits);
            d.to_string()
        }
        // Beyond 28 digits: whole units.
        Err(_) => (value / 10i128.pow(scale)).to_string(),
    };
    Money {
        amount,
        currency: currency.to_owned(),
    }
}

/// `amount` parsed as a non-negative amount of `currency`: at most its minor
/// digits, at most `MAX_UNITS`. Errors name `field` (`amount`, `items[0].unit_price`…).
pub fn parse_amount(field: &str, amount: &str, currency: &str) -> Result<i64, FieldError> {
    let digits = check_currency(&format!("{field}.currency"), currency)?;
    let d = parse_decimal(field, amount)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(FieldError::new(field, "negative", "must not be negative"));
    }
    if d.normalize().scale() > digits {
        return Err(FieldError::new(
            field,
            "too_precise",
            format!("{currency} takes at most {digits} decimals"),
        ));
    }
    match to_stored(d) {
        Some(v) if v <= MAX_UNITS.saturating_mul(ONE) => Ok(v),
        _ => Err(FieldError::new(field, "too_large", "is too large")),
    }
}

/// A decimal number written as text (`"12.5"`); never a float.
pub fn parse_decimal(field: &str, s: &str) -> Result<Decimal, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "required", "is required"));
    }
    if s.len() > 40 || s.contains(['e', 'E']) {
        return Err(FieldError::new(
            field,
            "invalid_number",
            "must be a decimal number",
        ));
    }
    Decimal::from_str_exact(s)
        .map_err(|_| FieldError::new(field, "invalid_number", "must be a decimal number"))
}

/// Money as the API carries it, for people (`¥12,800.00`); an unreadable
/// amount shows as written.
pub fn display_money(m: &Money) -> String {
    match parse_amount("amount", &m.amount, &m.currency) {
        Ok(v) => display(v, &m.currency),
        Err(_) => m.amount.clone(),
    }
}

/// A stored amount for people: grouped thousands, the currency's digits,
/// and its code (`12,800.00 CNY`), or `¥12,800.00` for yuan.
pub fn display(stored: i64, currency: &str) -> String {
    let t = text(stored, currency);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
        None => (t.clone(), None),
    };
    let (sign, digits) = match int.strip_prefix('-') {
        Some(d) => ("-", d.to_owned()),
        None => ("", int),
    };
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let number = match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    };
    match currency {
        "CNY" => format!("¥{number}"),
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        other => format!("{number} {other}"),
    }
}

/// A short form for chart labels and board columns: `¥1.2万`/`¥3.4亿` in
/// Chinese, `¥12.3K`/`¥4.5M` otherwise (one decimal, rounded half-even).
pub fn compact(stored: i64, currency: &str, chinese: bool) -> String {
    let units = decimal(stored);
    let steps: &[(i64, &str)] = if chinese {
        &[(100_000_000, "亿"), (10_000, "万")]
    } else {
        &[(1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")]
    };
    for (n, suffix) in steps {
        if units.abs() >= Decimal::from(*n) {
            let v = (units / Decimal::from(*n))
                .round_dp_with_strategy(1, RoundingStrategy::MidpointNearestEven)
                .normalize();
            let sym = match currency {
                "CNY" => "¥",
                "USD" => "$",
                "EUR" => "€",
                _ => "",
            };
            return format!("{sym}{v}{suffix}");
        }
    }
    display(stored, currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(
            parse_amount("amount", "12800.00", "CNY").unwrap(),
            128_000_000
        );
        assert_eq!(text(128_000_000, "CNY"), "12800.00");
        assert_eq!(text(5, "CNY"), "0.00");
        assert_eq!(parse_amount("amount", "5", "JPY").unwrap(), 50_000);
        assert_eq!(text(50_000, "JPY"), "5");
        assert_eq!(display(1_234_567_890_000, "CNY"), "¥123,456,789.00");
        assert_eq!(display(12_340_000, "HKD"), "1,234.00 HKD");
    }

    #[test]
    fn refuses_what_is_not_money() {
        for (v, code) in [
            ("12.345", "too_precise"),
            ("-1", "negative"),
            ("1e5", "invalid_number"),
            ("abc", "invalid_number"),
            ("", "required"),
            ("10000000000000", "too_large"),
        ] {
            assert_eq!(
                parse_amount("amount", v, "CNY").unwrap_err().code,
                code,
                "{v}"
            );
        }
        assert_eq!(
            parse_amount("amount", "1", "XXX").unwrap_err().field,
            "amount.currency"
        );
        assert_eq!(
            parse_amount("amount", "0.5", "JPY").unwrap_err().code,
            "too_precise"
        );
    }

    #[test]
    fn rounds_half_even_at_the_minor_unit() {
        // 0.125 → 0.12, 0.135 → 0.14
        assert_eq!(text(1_250, "CNY"), "0.12");
        assert_eq!(text(1_350, "CNY"), "0.14");
        assert_eq!(compact(1_234_560_000, "CNY", true), "¥12.3万");
        assert_eq!(compact(1_234_560_000, "USD", false), "$123.5K");
    }
}
