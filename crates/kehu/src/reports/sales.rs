//! The sales reports: the weighted forecast (open deals by expected close
//! month, by rep and team) and the funnel (deals per stage now, how far the
//! deals created in a period got, stage-to-stage conversion, median days in
//! stage, won and lost by reason). Aggregated in SQL over the report indexes of
//! `opportunities`; money summed exactly (stored units), one currency at a time.

use crate::entities::{stage_change, team, user};
use crate::pipelines::model::PipelineView;
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::money::{self, Money};
use crate::platform::scope::DataScope;
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
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
pub(super) async fn owners<C: ConnectionTrait>(
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
    /// Stored units.
    amount: i128,
    /// amount × probability (percent), in stored units × 100.
    weighted: i128,
}

impl Acc {
    fn add(&mut self, count: i64, amount: i128, weighted: i128) {
        self.count += u64::try_from(count).unwrap_or(0);
        self.amount += amount;
        self.weighted += weighted;
    }

    fn figures(&self, currency: &str) -> Figures {
        Figures {
            count: self.count,
            amount: money::money_of_sum(self.amount, currency),
            // Stored units × percent: scale 4 + 2.
            weighted: money::money_of_scaled(self.weighted, money::SCALE + 2, currency),
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

/// "The owner is one of these" on a rollup's `owner_id` (everyone when `None`).
fn scope_cond<C: ColumnTrait>(owner_col: C, owners: &Option<Vec<String>>) -> Condition {
    match owners {
        None => Condition::all(),
        Some(ids) => Condition::all().add(owner_col.is_in(ids.clone())),
    }
}

/// `CAST(SUM(col) AS BIGINT)`: one of a rollup's sums, over the grouped rows.
fn total<C: sea_orm::sea_query::IntoColumnRef>(col: C) -> Expr {
    Expr::from(Func::cast_as(
        Func::sum(Expr::col(col)),
        Alias::new("BIGINT"),
    ))
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
    type Row = (
        String,
        Date,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    use crate::entities::deal_forecast::{Column as F, Entity as Forecasts};
    let rows: Vec<Row> = Forecasts::find()
        .select_only()
        .column(F::OwnerId)
        .column(F::Day)
        .column_as(total(F::Deals), "n")
        .column_as(total(F::AmountHigh), "a_hi")
        .column_as(total(F::AmountLow), "a_lo")
        .column_as(total(F::WeightedHigh), "w_hi")
        .column_as(total(F::WeightedLow), "w_lo")
        .filter(F::PipelineId.eq(pipeline.id.clone()))
        .filter(F::Currency.eq(p.currency.clone()))
        .filter(F::Day.between(p.from, p.to))
        .filter(scope_cond(F::OwnerId, &owners))
        .group_by(F::OwnerId)
        .group_by(F::Day)
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
    for (owner, date, n, a_hi, a_lo, w_hi, w_lo) in rows {
        let join = crate::opportunities::store::join_sums;
        let (a, w) = (join(a_hi, a_lo), join(w_hi, w_lo));
        let n = n.unwrap_or(0);
        if n == 0 {
            // A rollup row whose deals have all moved on.
            continue;
        }
        months.entry(month_key(date)).or_default().add(n, a, w);
        let owner = Some(owner).filter(|o| !o.is_empty());
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
    /// Deals created in the period that are in this stage now.
    pub current_count: u64,
    pub current_amount: Money,
    /// Deals created in the period that reached this stage or a later one (won: that were won).
    pub reached: u64,
    /// Percent of `reached` that went on to the next open or won stage.
    pub conversion_to_next: Option<f64>,
    /// Median days deals spent in this stage, over the latest 2,000 moves out of it in the period.
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

/// The pipeline's funnel for the deals of a period in one currency.
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
    // The deals created in the period: where they are now, how far they got. And
    // the deals closed in the period, by stage and lost reason. All in `currency`,
    // from the rollups (`opportunities::rollups`).
    let join = crate::opportunities::store::join_sums;
    use crate::entities::deal_closing::{Column as D, Entity as Closings};
    use crate::entities::deal_cohort::{Column as K, Entity as Cohorts};
    type CohortRow = (i32, String, String, Option<i64>, Option<i64>, Option<i64>);
    let cohort: Vec<CohortRow> = Cohorts::find()
        .select_only()
        .column(K::FurthestPosition)
        .column(K::Status)
        .column(K::StageId)
        .column_as(total(K::Deals), "n")
        .column_as(total(K::AmountHigh), "a_hi")
        .column_as(total(K::AmountLow), "a_lo")
        .filter(K::PipelineId.eq(pipeline.id.clone()))
        .filter(K::Currency.eq(p.currency.clone()))
        .filter(K::Day.between(p.from, p.to))
        .filter(scope_cond(K::OwnerId, &owners))
        .group_by(K::FurthestPosition)
        .group_by(K::Status)
        .group_by(K::StageId)
        .into_tuple()
        .all(db)
        .await?;
    type ClosedRow = (String, String, Option<i64>, Option<i64>, Option<i64>);
    let closed: Vec<ClosedRow> = Closings::find()
        .select_only()
        .column(D::StageId)
        .column(D::LostReason)
        .column_as(total(D::Deals), "n")
        .column_as(total(D::AmountHigh), "a_hi")
        .column_as(total(D::AmountLow), "a_lo")
        .filter(D::PipelineId.eq(pipeline.id.clone()))
        .filter(D::Currency.eq(p.currency.clone()))
        .filter(D::Day.between(p.from, p.to))
        .filter(scope_cond(D::OwnerId, &owners))
        .group_by(D::StageId)
        .group_by(D::LostReason)
        .into_tuple()
        .all(db)
        .await?;
    let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    let created: u64 = cohort.iter().map(|c| n(c.3)).sum();
    let reached_at = |pos: i32, kind: &str| -> u64 {
        cohort
            .iter()
            .filter(|(f, status, ..)| match kind {
                "won" => status == "won",
                "lost" => status == "lost",
                _ => *f >= pos,
            })
            .map(|c| n(c.3))
            .sum()
    };
    let mut stages = Vec::new();
    for st in &pipeline.stages {
        let (count, amount) = cohort
            .iter()
            .filter(|c| c.2 == st.id)
            .fold((0, 0), |acc, c| (acc.0 + n(c.3), acc.1 + join(c.4, c.5)));
        stages.push(FunnelStage {
            stage_id: st.id.clone(),
            name: st.name.clone(),
            name_en: st.name_en.clone(),
            kind: st.kind.clone(),
            probability: st.probability,
            current_count: count,
            current_amount: money::money_of_sum(amount, &p.currency),
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
    let mut outcomes: BTreeMap<(String, Option<String>), (u64, i128)> = BTreeMap::new();
    for (stage_id, reason, count, hi, lo) in closed.iter().filter(|c| n(c.2) > 0) {
        let status = pipeline
            .stage(stage_id)
            .map(|s| s.kind.clone())
            .unwrap_or_else(|| "lost".into());
        let reason = Some(reason.clone()).filter(|r| status == "lost" && !r.is_empty());
        let e = outcomes.entry((status, reason)).or_default();
        e.0 += n(*count);
        e.1 += join(*hi, *lo);
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
            amount: money::money_of_sum(amount, &p.currency),
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

/// Moves out of a stage the median is taken over: the latest in the period.
pub const MEDIAN_SAMPLE: u64 = 2_000;

/// The median time deals spent in `stage_id`, over the latest `MEDIAN_SAMPLE`
/// moves out of it in the range (all of them when there are fewer), in days.
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
    let mut secs: Vec<Option<i64>> = q
        .select_only()
        .column(stage_change::Column::SecondsInFrom)
        .order_by_desc(stage_change::Column::ChangedAt)
        .limit(MEDIAN_SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    secs.sort_unstable();
    let v: Vec<i64> = secs.into_iter().flatten().collect();
    if v.is_empty() {
        return Ok(None);
    }
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) as f64 / 2.0
    } else {
        v[mid] as f64
    };
    Ok(Some((median / 86_400.0 * 10.0).round() / 10.0))
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
