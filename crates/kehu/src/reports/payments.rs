//! The payments report: confirmed payments (回款) received in a period on the
//! contracts the viewer sees, by month, rep or customer, summed exactly in SQL
//! (`contracts::receivables::payment_sums`), with a server-rendered SVG chart.

use super::sales::{SalesParams, owners};
use crate::contracts::receivables::{GroupBy, payment_sums};
use crate::entities::{customer, user};
use crate::platform::auth::CurrentUser;
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{self, Money};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use time::{Date, Duration};
use utoipa::ToSchema;

/// One group of the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentGroup {
    /// `YYYY-MM`, a user id or a customer id.
    pub key: String,
    /// The month, the rep's or the customer's name.
    pub label: String,
    pub payments: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentReport {
    pub from: String,
    pub to: String,
    pub currency: String,
    /// `month`, `owner` or `customer`.
    pub group_by: String,
    pub groups: Vec<PaymentGroup>,
    pub payments: i64,
    pub total: Money,
}

/// The parameters and the grouping (`group_by`, default `month`).
pub fn parse(pairs: &[(String, String)], today: Date) -> AppResult<(SalesParams, GroupBy)> {
    let mut rest = Vec::new();
    let mut group = GroupBy::Month;
    for (k, v) in pairs {
        match k.as_str() {
            "group_by" => {
                group = match v.trim() {
                    "" | "month" => GroupBy::Month,
                    "owner" => GroupBy::Owner,
                    "customer" => GroupBy::Customer,
                    _ => {
                        return Err(AppError::field(
                            "group_by",
                            "not_an_option",
                            "must be one of: month, owner, customer",
                        ));
                    }
                }
            }
            "pipeline_id" => {
                return Err(AppError::field(
                    k,
                    "unknown_field",
                    "is not a parameter of this report",
                ));
            }
            _ => rest.push((k.clone(), v.clone())),
        }
    }
    let first = today.replace_day(1).unwrap_or(today);
    let start = (first - Duration::days(330))
        .replace_day(1)
        .unwrap_or(first);
    Ok((SalesParams::parse(&rest, (start, today))?, group))
}

fn month_of(day: &str) -> String {
    day.get(..7).unwrap_or(day).to_owned()
}

/// The months from `from` to `to` (`YYYY-MM`).
fn months(from: Date, to: Date) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = from.replace_day(1).unwrap_or(from);
    while d <= to && out.len() < 40 {
        out.push(format!("{:04}-{:02}", d.year(), u8::from(d.month())));
        d = (d + Duration::days(32))
            .replace_day(1)
            .unwrap_or(to + Duration::days(1));
    }
    out
}

pub async fn payments<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &SalesParams,
    group: GroupBy,
) -> AppResult<PaymentReport> {
    let who = owners(db, user, p).await?;
    let rows = payment_sums(db, user, p.from, p.to, &p.currency, who.as_ref(), group).await?;
    let mut sums: BTreeMap<String, (i64, i128)> = BTreeMap::new();
    if group == GroupBy::Month {
        for m in months(p.from, p.to) {
            sums.insert(m, (0, 0));
        }
    }
    for (k, n, s) in rows {
        let key = if group == GroupBy::Month {
            month_of(&k)
        } else {
            k
        };
        let e = sums.entry(key).or_default();
        e.0 += n;
        e.1 += s;
    }
    let keys: Vec<String> = sums.keys().cloned().collect();
    let labels: HashMap<String, String> = match group {
        GroupBy::Month => HashMap::new(),
        GroupBy::Owner => user::Entity::find()
            .filter(user::Column::Id.is_in(keys))
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Name)
            .into_tuple::<(String, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect(),
        // Only the names of customers the viewer sees; the others show as "—".
        GroupBy::Customer => crate::platform::scope::DataScope::for_user(db, user)
            .await?
            .filter(customer::Entity::find(), customer::Column::OwnerId)
            .filter(customer::Column::Id.is_in(keys))
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Name)
            .into_tuple::<(String, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect(),
    };
    let mut groups: Vec<(PaymentGroup, i128)> = sums
        .into_iter()
        .map(|(k, (n, s))| {
            (
                PaymentGroup {
                    label: labels.get(&k).cloned().unwrap_or_else(|| {
                        if group == GroupBy::Month {
                            k.clone()
                        } else {
                            "—".into()
                        }
                    }),
                    key: k,
                    payments: n,
                    amount: money::money_of_sum(s, &p.currency),
                },
                s,
            )
        })
        .collect();
    if group != GroupBy::Month {
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
    }
    let total: i128 = groups.iter().map(|g| g.1).sum();
    Ok(PaymentReport {
        from: p.from.to_string(),
        to: p.to.to_string(),
        currency: p.currency.clone(),
        group_by: match group {
            GroupBy::Month => "month",
            GroupBy::Owner => "owner",
            GroupBy::Customer => "customer",
        }
        .into(),
        payments: groups.iter().map(|g| g.0.payments).sum(),
        total: money::money_of_sum(total, &p.currency),
        groups: groups.into_iter().map(|g| g.0).collect(),
    })
}

/// The report as a bar chart (SVG), one bar per group (the first 24).
pub fn payments_svg(r: &PaymentReport, label: &str) -> String {
    let shown: Vec<&PaymentGroup> = r.groups.iter().take(24).collect();
    let units = |m: &Money| m.amount.parse::<f32>().unwrap_or(0.0);
    let spec = serde_json::json!({
        "width": 760,
        "height": 300,
        "title_text": "",
        "legend_align": "left",
        "series_list": [
            {"name": label, "data": shown.iter().map(|g| units(&g.amount)).collect::<Vec<f32>>()},
        ],
        "x_axis_data": shown.iter().map(|g| g.label.chars().take(12).collect::<String>()).collect::<Vec<String>>(),
        "margin": {"left": 10, "top": 10, "right": 20, "bottom": 10},
    });
    charts_rs::BarChart::from_json(&spec.to_string())
        .ok()
        .and_then(|c| c.svg().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_range() {
        let m = months(
            time::macros::date!(2025 - 11 - 15),
            time::macros::date!(2026 - 02 - 01),
        );
        assert_eq!(m, ["2025-11", "2025-12", "2026-01", "2026-02"]);
    }
}
