//! The sales reports: the weighted forecast (open deals by expected close
//! month, by rep and team) and the funnel (deals per stage now, how far the
//! deals created in a period got, stage-to-stage conversion, median days in
//! stage, won and lost by reason). Aggregated in SQL over the report indexes of
//! `opportunities`; money summed exactly (stored units), one currency at a time.

use crate::entities::{opportunity, stage_change, team, user};
use crate::pipelines::model::PipelineView;
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::money::{self, Money};
use crate::platform::scope::DataScope;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

/// What a sales report covers.
#[derive(Debug, Clone)]
pub struct SalesParams {
    pub from: Date,
    /// Inclusive.
    pub to: Date,
    pub pipeline_id: Option<String>,
    pub team_id: Option<String>,
    pub owner_id: Option<String>,
    pub currency: String,
}

impl SalesParams {
    /// Reads `from`, `to` (at most 1,100 days apart), `pipeline_id`, `team_id`,
    /// `owner_id`, `currency`; `default` gives the range when none is sent.
    pub fn parse(pairs: &[(String, String)], default: (Date, Date)) -> AppResult<SalesParams> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        for (k, _) in pairs {
            if ![
                "from",
                "to",
                "pipeline_id",
                "team_id",
                "owner_id",
                "currency",
            ]
            .contains(&k.as_str())
            {
                errors.push(FieldError::new(
                    k,
                    "unknown_field",
                    "is not a parameter of this report",
                ));
            }
        }
        let date = |k: &str, d: Date, errors: &mut Vec<FieldError>| match get(k) {
            None => d,
            Some(v) => match crate::platform::validate::date(k, &v) {
                Ok(x) if (2000..=2100).contains(&x.year()) => x,
                Ok(_) => {
                    errors.push(FieldError::new(
                        k,
                        "out_of_range",
                        "must be between 2000 and 2100",
                    ));
                    d
                }
                Err(e) => {
                    errors.push(e);
                    d
                }
            },
        };
        let from = date("from", default.0, &mut errors);
        let to = date("to", default.1, &mut errors);
        if from > to {
            errors.push(FieldError::new("from", "after_to", "must not be after to"));
        } else if (to - from).whole_days() > 1100 {
            errors.push(FieldError::new(
                "from",
                "too_long",
                "at most 1,100 days at once",
            ));
        }
        let currency = get("currency").unwrap_or_else(|| money::DEFAULT_CURRENCY.to_owned());
        if let Err(e) = money::check_currency("currency", &currency) {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(SalesParams {
            from,
            to,
            pipeline_id: get("pipeline_id"),
            team_id: get("team_id"),
            owner_id: get("owner_id"),
            currency,
        })
    }
}

fn month_key(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// The first day of the month after `d`'s.
fn next_month(d: Date) -> Date {
    let first = d.replace_day(1).unwrap_or(d);
    first
        .checked_add(Duration::days(32))
        .and_then(|x| x.replace_day(1).ok())
        .unwrap_or(first)
}

/// This month and the five after it (the forecast's default range).
pub fn next_six_months(today: Date) -> (Date, Date) {
    let first = today.replace_day(1).unwrap_or(today);
    let mut end = first;
    for _ in 0..6 {
        end = next_month(end);
    }
    (first, end - Duration::days(1))
}

/// The last 90 days (the funnel's default range).
pub fn last_90_days(today: Date) -> (Date, Date) {
    (today - Duration::days(89), today)
}

/// Who a report counts: `None` is everyone (an administrator's whole company).
async fn owners<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &SalesParams,
) -> AppResult<Option<Vec<String>>> {
    let mut ids: Option<Vec<String>> = if user.scope == Scope::All {
        None
    } else {
        let scope = DataScope::for_user(db, user).await?;
        Some(
            scope
                .filter(user::Entity::find(), user::Column::Id)
                .select_only()
                .column(user::Column::Id)
                .into_tuple()
                .all(db)
                .await?,
        )
    };
    if let Some(t) = &p.team_id {
        let members = crate::opportunities::store::team_members(db, t).await?;
        ids = Some(match ids {
            None => members,
            Some(v) => v.into_iter().filter(|x| members.contains(x)).collect(),
        });
    }
    if let Some(o) = &p.owner_id {
        ids = Some(match ids {
            None => vec![o.clone()],
            Some(v) => v.into_iter().filter(|x| x == o).collect(),
        });
    }
    Ok(ids)
}

async fn pipeline_of<C: ConnectionTrait>(db: &C, p: &SalesParams) -> AppResult<PipelineView> {
    match &p.pipeline_id {
        Some(id) => crate::pipelines::store::get(db, id)
            .await
            .map_err(|e| match e {
                AppError::NotFound => {
                    AppError::field("pipeline_id", "not_found", "no such pipeline")
                }
                other => other,
            }),
        None => crate::pipelines::store::default_pipeline(db).await,
    }
}

fn sum_bigint(col: opportunity::Column) -> Expr {
    Expr::from(Func::cast_as(
        Func::sum(Expr::col(col)),
        Alias::new("BIGINT"),
    ))
}

fn weighted_sum() -> Expr {
    Expr::from(Func::cast_as(
        Func::sum(sea_orm::sea_query::ExprTrait::mul(
            Expr::col(opportunity::Column::Amount),
            Expr::col(opportunity::Column::Probability),
        )),
        Alias::new("BIGINT"),
    ))
}

/// Count, amount and weighted amount of a group of deals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub count: u64,
    pub amount: Money,
    /// Amount × probability.
    pub weighted: Money,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    count: u64,
    amount: i64,
    /// amount × probability (percent), in stored units × 100.
    weighted: i128,
}

impl Acc {
    fn add(&mut self, count: i64, amount: i64, weighted: i64) {
        self.count += count.max(0) as u64;
        self.amount += amount;
        self.weighted += i128::from(weighted);
    }

    fn figures(&self, currency: &str) -> Figures {
        // Σ amount × percent, in stored units × 100: scale 4 + 2 gives currency units.
        let w = Decimal::try_from_i128_with_scale(self.weighted, 6)
            .ok()
            .and_then(|w| money::to_stored(money::round(w, currency)))
            .unwrap_or(0);
        Figures {
            count: self.count,
            amount: money::money(self.amount, currency),
            weighted: money::money(w, currency),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastMonth {
    /// `YYYY-MM`.
    pub month: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastGroup {
    /// A user id (by rep) or team id (by team; null: people without a team).
    pub id: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Open deals by expected close month, rep and team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Forecast {
    pub from: String,
    pub to: String,
    pub pipeline_id: String,
    pub currency: String,
    pub months: Vec<ForecastMonth>,
    pub by_owner: Vec<ForecastGroup>,
    pub by_team: Vec<ForecastGroup>,
    pub total: Figures,
}

fn scope_cond(owners: &Option<Vec<String>>) -> Condition {
    match owners {
        None => Condition::all(),
        Some(ids) => Condition::all().add(opportunity::Column::OwnerId.is_in(ids.clone())),
    }
}

async fn names<C: ConnectionTrait>(
    db: &C,
) -> AppResult<(
    BTreeMap<String, (String, Option<String>)>,
    BTreeMap<String, String>,
)> {
    let users = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, (u.name, u.team_id)))
        .collect();
    let teams = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok((users, teams))
}

pub async fn forecast<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &SalesParams,
) -> AppResult<Forecast> {
    let pipeline = pipeline_of(db, p).await?;
    let owners = owners(db, user, p).await?;
    let rows: Vec<(Option<String>, Option<Date>, i64, Option<i64>, Option<i64>)> =
        opportunity::Entity::find()
            .select_only()
            .column(opportunity::Column::OwnerId)
            .column(opportunity::Column::ExpectedCloseDate)
            .column_as(opportunity::Column::Id.count(), "n")
            .column_as(sum_bigint(opportunity::Column::Amount), "amount")
            .column_as(weighted_sum(), "weighted")
            .filter(opportunity::Column::PipelineId.eq(pipeline.id.clone()))
            .filter(opportunity::Column::DeletedAt.is_null())
            .filter(opportunity::Column::Status.eq("open"))
            .filter(opportunity::Column::ExpectedCloseDate.between(p.from, p.to))
            .filter(opportunity::Column::Currency.eq(p.currency.clone()))
            .filter(scope_cond(&owners))
            .group_by(opportunity::Column::OwnerId)
            .group_by(opportunity::Column::ExpectedCloseDate)
            .into_tuple()
            .all(db)
            .await?;
    let (users, teams) = names(db).await?;
    let mut months: BTreeMap<String, Acc> = BTreeMap::new();
    // Every month of the range appears, empty or not.
    let mut m = p.from.replace_day(1).unwrap_or(p.from);
    loop {
        months.insert(month_key(m), Acc::default());
        let next = next_month(m);
        if next > p.to || next <= m {
            break;
        }
        m = next;
    }
    let mut by_owner: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    let mut by_team: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for (owner, date, n, amount, weighted) in rows {
        let (a, w) = (amount.unwrap_or(0), weighted.unwrap_or(0));
        if let Some(d) = date {
            months.entry(month_key(d)).or_default().add(n, a, w);
        }
        let team = owner
            .as_ref()
            .and_then(|o| users.get(o))
            .and_then(|u| u.1.clone());
        by_owner.entry(owner).or_default().add(n, a, w);
        by_team.entry(team).or_default().add(n, a, w);
        total.add(n, a, w);
    }
    let c = &p.currency;
    let mut by_owner: Vec<ForecastGroup> = by_owner
        .into_iter()
        .map(|(id, acc)| ForecastGroup {
            name: id
                .as_ref()
                .and_then(|i| users.get(i))
                .map(|u| u.0.clone())
                .unwrap_or_default(),
            id,
            figures: acc.figures(c),
        })
        .collect();
    by_owner.sort_by(|a, b| {
        b.figures
            .count
            .cmp(&a.figures.count)
            .then(a.name.cmp(&b.name))
    });
    let by_team = by_team
        .into_iter()
        .map(|(id, acc)| ForecastGroup {
            name: id
                .as_ref()
                .and_then(|i| teams.get(i))
                .cloned()
                .unwrap_or_default(),
            id,
            figures: acc.figures(c),
        })
        .collect();
    Ok(Forecast {
        from: crate::customers::model::date_text(p.from),
        to: crate::customers::model::date_text(p.to),
        pipeline_id: pipeline.id,
        currency: c.clone(),
        months: months
            .into_iter()
            .map(|(month, acc)| ForecastMonth {
                month,
                figures: acc.figures(c),
            })
            .collect(),
        by_owner,
        by_team,
        total: total.figures(c),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelStage {
    pub stage_id: String,
    pub name: String,
    pub name_en: String,
    /// `open`, `won` or `lost`.
    pub kind: String,
    pub probability: i32,
    /// Open deals in this stage now (for won/lost stages: deals closed there in the period).
    pub current_count: u64,
    pub current_amount: Money,
    /// Deals created in the period that reached this stage or a later one (won: that were won).
    pub reached: u64,
    /// Percent of `reached` that went on to the next open or won stage.
    pub conversion_to_next: Option<f64>,
    /// Median days deals spent in this stage, over the moves out of it in the period.
    pub median_days: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcome {
    /// `won` or `lost`.
    pub status: String,
    /// The lost reason (null for won deals).
    pub reason: Option<String>,
    pub count: u64,
    pub amount: Money,
}

/// The pipeline's funnel for deals of a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Funnel {
    pub from: String,
    pub to: String,
    pub pipeline_id: String,
    pub currency: String,
    /// Deals created in the period.
    pub created: u64,
    pub stages: Vec<FunnelStage>,
    /// Deals closed in the period, won and lost, by lost reason.
    pub outcomes: Vec<Outcome>,
    /// Won deals ÷ closed deals in the period, percent.
    pub win_rate: Option<f64>,
}

fn range(p: &SalesParams) -> (OffsetDateTime, OffsetDateTime) {
    (
        p.from.midnight().assume_utc(),
        (p.to + Duration::days(1)).midnight().assume_utc(),
    )
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64) * 1000.0 / (whole as f64)).round() / 10.0)
}

pub async fn funnel<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &SalesParams,
) -> AppResult<Funnel> {
    let pipeline = pipeline_of(db, p).await?;
    let owners = owners(db, user, p).await?;
    let (start, end) = range(p);
    let base = || {
        opportunity::Entity::find()
            .filter(opportunity::Column::PipelineId.eq(pipeline.id.clone()))
            .filter(opportunity::Column::DeletedAt.is_null())
            .filter(scope_cond(&owners))
    };
    // Open deals per stage now.
    let open_ids: Vec<String> = pipeline
        .stages
        .iter()
        .filter(|s| s.kind == "open")
        .map(|s| s.id.clone())
        .collect();
    let current: Vec<(String, i64, Option<i64>)> = base()
        .select_only()
        .column(opportunity::Column::StageId)
        .column_as(opportunity::Column::Id.count(), "n")
        .column_as(sum_bigint(opportunity::Column::Amount), "amount")
        .filter(opportunity::Column::StageId.is_in(open_ids))
        .filter(opportunity::Column::Currency.eq(p.currency.clone()))
        .group_by(opportunity::Column::StageId)
        .into_tuple()
        .all(db)
        .await?;
    // How far the deals created in the period got.
    let cohort: Vec<(i32, String, i64)> = base()
        .select_only()
        .column(opportunity::Column::FurthestPosition)
        .column(opportunity::Column::Status)
        .column_as(opportunity::Column::Id.count(), "n")
        .filter(opportunity::Column::CreatedAt.gte(start))
        .filter(opportunity::Column::CreatedAt.lt(end))
        .group_by(opportunity::Column::FurthestPosition)
        .group_by(opportunity::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    // Closed in the period, by outcome and reason.
    let closed: Vec<(String, Option<String>, String, i64, Option<i64>)> = base()
        .select_only()
        .column(opportunity::Column::Status)
        .column(opportunity::Column::LostReason)
        .column(opportunity::Column::Currency)
        .column_as(opportunity::Column::Id.count(), "n")
        .column_as(sum_bigint(opportunity::Column::Amount), "amount")
        .filter(opportunity::Column::ClosedAt.gte(start))
        .filter(opportunity::Column::ClosedAt.lt(end))
        .filter(opportunity::Column::Status.ne("open"))
        .group_by(opportunity::Column::Status)
        .group_by(opportunity::Column::LostReason)
        .group_by(opportunity::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let created: u64 = cohort.iter().map(|c| c.2.max(0) as u64).sum();
    let reached_at = |pos: i32, kind: &str| -> u64 {
        cohort
            .iter()
            .filter(|(f, status, _)| match kind {
                "won" => status == "won",
                "lost" => status == "lost",
                _ => *f >= pos,
            })
            .map(|c| c.2.max(0) as u64)
            .sum()
    };
    let mut stages = Vec::new();
    for st in &pipeline.stages {
        let (count, amount) = if st.kind == "open" {
            current
                .iter()
                .find(|c| c.0 == st.id)
                .map(|c| (c.1.max(0) as u64, c.2.unwrap_or(0)))
                .unwrap_or((0, 0))
        } else {
            closed
                .iter()
                .filter(|c| c.0 == st.kind)
                .fold((0, 0), |acc, c| {
                    (
                        acc.0 + c.3.max(0) as u64,
                        acc.1
                            + if c.2 == p.currency {
                                c.4.unwrap_or(0)
                            } else {
                                0
                            },
                    )
                })
        };
        stages.push(FunnelStage {
            stage_id: st.id.clone(),
            name: st.name.clone(),
            name_en: st.name_en.clone(),
            kind: st.kind.clone(),
            probability: st.probability,
            current_count: count,
            current_amount: money::money(amount, &p.currency),
            reached: reached_at(st.position, &st.kind),
            conversion_to_next: None,
            median_days: median_days(db, &pipeline.id, &st.id, &owners, start, end).await?,
        });
    }
    // Conversion from each open stage to the next open or won one.
    let flow: Vec<usize> = stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind != "lost")
        .map(|(i, _)| i)
        .collect();
    for w in flow.windows(2) {
        let (a, b) = (w[0], w[1]);
        if stages[a].kind == "open" {
            stages[a].conversion_to_next = percent(stages[b].reached, stages[a].reached);
        }
    }
    let mut outcomes: BTreeMap<(String, Option<String>), (u64, i64)> = BTreeMap::new();
    for (status, reason, currency, n, amount) in &closed {
        let e = outcomes
            .entry((
                status.clone(),
                if status == "lost" {
                    reason.clone()
                } else {
                    None
                },
            ))
            .or_default();
        e.0 += (*n).max(0) as u64;
        if currency == &p.currency {
            e.1 += amount.unwrap_or(0);
        }
    }
    let won: u64 = outcomes
        .iter()
        .filter(|(k, _)| k.0 == "won")
        .map(|(_, v)| v.0)
        .sum();
    let all: u64 = outcomes.values().map(|v| v.0).sum();
    let mut outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|((status, reason), (count, amount))| Outcome {
            status,
            reason,
            count,
            amount: money::money(amount, &p.currency),
        })
        .collect();
    outcomes.sort_by(|a, b| b.status.cmp(&a.status).then(b.count.cmp(&a.count)));
    Ok(Funnel {
        from: crate::customers::model::date_text(p.from),
        to: crate::customers::model::date_text(p.to),
        pipeline_id: pipeline.id,
        currency: p.currency.clone(),
        created,
        stages,
        outcomes,
        win_rate: percent(won, all),
    })
}

/// The median of the time deals spent in `stage_id`, over the moves out of it in the range.
async fn median_days<C: ConnectionTrait>(
    db: &C,
    pipeline_id: &str,
    stage_id: &str,
    owners: &Option<Vec<String>>,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> AppResult<Option<f64>> {
    let mut q = stage_change::Entity::find()
        .filter(stage_change::Column::PipelineId.eq(pipeline_id))
        .filter(stage_change::Column::FromStageId.eq(stage_id))
        .filter(stage_change::Column::ChangedAt.gte(start))
        .filter(stage_change::Column::ChangedAt.lt(end))
        .filter(stage_change::Column::SecondsInFrom.is_not_null());
    if let Some(ids) = owners {
        q = q.filter(stage_change::Column::OwnerId.is_in(ids.clone()));
    }
    let n = q.clone().count(db).await?;
    if n == 0 {
        return Ok(None);
    }
    let mid: Vec<i64> = q
        .select_only()
        .column(stage_change::Column::SecondsInFrom)
        .order_by_asc(stage_change::Column::SecondsInFrom)
        .offset((n - 1) / 2)
        .limit(if n % 2 == 0 { 2 } else { 1 })
        .into_tuple()
        .all(db)
        .await?;
    if mid.is_empty() {
        return Ok(None);
    }
    let secs = mid.iter().sum::<i64>() as f64 / mid.len() as f64;
    Ok(Some((secs / 86_400.0 * 10.0).round() / 10.0))
}

/// The forecast as a bar chart (SVG): amount and weighted amount per month.
pub fn forecast_svg(f: &Forecast, labels: (&str, &str)) -> String {
    let units = |m: &Money| m.amount.parse::<f32>().unwrap_or(0.0);
    let spec = serde_json::json!({
        "width": 760,
        "height": 300,
        "title_text": "",
        "legend_align": "left",
        "series_list": [
            {"name": labels.0, "data": f.months.iter().map(|m| units(&m.figures.amount)).collect::<Vec<f32>>()},
            {"name": labels.1, "data": f.months.iter().map(|m| units(&m.figures.weighted)).collect::<Vec<f32>>()},
        ],
        "x_axis_data": f.months.iter().map(|m| m.month.clone()).collect::<Vec<String>>(),
        "margin": {"left": 10, "top": 10, "right": 20, "bottom": 10},
    });
    charts_rs::BarChart::from_json(&spec.to_string())
        .ok()
        .and_then(|c| c.svg().ok())
        .unwrap_or_default()
}

/// The funnel as a funnel chart (SVG): deals of the period that reached each open and won stage.
pub fn funnel_svg(f: &Funnel, chinese: bool) -> String {
    let series: Vec<serde_json::Value> = f
        .stages
        .iter()
        .filter(|s| s.kind != "lost")
        .map(|s| serde_json::json!({"name": if chinese { &s.name } else { &s.name_en }, "data": [s.reached as f32]}))
        .collect();
    let spec = serde_json::json!({
        "width": 760,
        "height": 300,
        "title_text": "",
        "legend_show": false,
        "series_label_position": "inside",
        "funnel_gap": 4,
        "series_list": series,
        "margin": {"left": 10, "top": 10, "right": 10, "bottom": 10},
    });
    charts_rs::FunnelChart::from_json(&spec.to_string())
        .ok()
        .and_then(|c| c.svg().ok())
        .unwrap_or_default()
}
