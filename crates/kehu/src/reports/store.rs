//! The activity report: rows of the users the caller sees, buckets by period.

use crate::entities::{activity, task, user};
use crate::platform::auth::CurrentUser;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::scope::{DataScope, subtree};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

pub const PERIODS: &[&str] = &["day", "week", "month"];

/// What to report on.
#[derive(Debug, Clone)]
pub struct Params {
    pub period: String,
    pub from: Date,
    /// Inclusive.
    pub to: Date,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
}

impl Params {
    /// Reads `period`, `from`, `to` (dates, at most 366 days apart; the last 30 days by
    /// default), `user_id`, `team_id` from query pairs.
    pub fn parse(pairs: &[(String, String)], today: Date) -> AppResult<Params> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        for (k, _) in pairs {
            if !["period", "from", "to", "user_id", "team_id"].contains(&k.as_str()) {
                errors.push(FieldError::new(
                    k,
                    "unknown_field",
                    "is not a parameter of this report",
                ));
            }
        }
        let period = get("period").unwrap_or_else(|| "day".into());
        if !PERIODS.contains(&period.as_str()) {
            errors.push(FieldError::new(
                "period",
                "not_an_option",
                "must be day, week or month",
            ));
        }
        let date = |k: &str, default: Date, errors: &mut Vec<FieldError>| match get(k) {
            None => default,
            Some(v) => crate::platform::validate::date(k, &v).unwrap_or_else(|e| {
                errors.push(e);
                default
            }),
        };
        let to = date("to", today, &mut errors);
        let to = if (2000..=2100).contains(&to.year()) {
            to
        } else {
            errors.push(FieldError::new(
                "to",
                "out_of_range",
                "must be between 2000 and 2100",
            ));
            today
        };
        let from = date("from", to - Duration::days(29), &mut errors);
        let from = if (2000..=2100).contains(&from.year()) {
            from
        } else {
            errors.push(FieldError::new(
                "from",
                "out_of_range",
                "must be between 2000 and 2100",
            ));
            to
        };
        if from > to {
            errors.push(FieldError::new("from", "after_to", "must not be after to"));
        } else if (to - from).whole_days() > 366 {
            errors.push(FieldError::new(
                "from",
                "too_long",
                "at most 366 days at once",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Params {
            period,
            from,
            to,
            user_id: get("user_id"),
            team_id: get("team_id"),
        })
    }

    /// The first day of the period `d` falls in.
    pub fn bucket(&self, d: Date) -> Date {
        match self.period.as_str() {
            "week" => d - Duration::days(i64::from(d.weekday().number_days_from_monday())),
            "month" => d.replace_day(1).unwrap_or(d),
            _ => d,
        }
    }
}

/// One user's figures over the whole range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportRow {
    pub user_id: String,
    pub user_name: String,
    /// Activities by kind (`call`, `visit`, …).
    pub by_kind: BTreeMap<String, u64>,
    pub activities: u64,
    /// Distinct customers with at least one activity.
    pub customers_touched: u64,
    /// Follow-ups due in the range and done by their due time.
    pub follow_ups_on_time: u64,
    /// Follow-ups due in the range and done after it, or still open past it.
    pub follow_ups_overdue: u64,
}

/// Activities by kind in one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    /// `YYYY-MM-DD`: the day, the Monday of the week, or the first of the month.
    pub start: String,
    pub by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityReport {
    pub period: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<ReportRow>,
    pub buckets: Vec<Bucket>,
    /// The whole team's figures (the sum of the rows).
    pub total: ReportRow,
}

fn day(d: Date) -> String {
    crate::customers::model::date_text(d)
}

/// The users the report covers: those `user` sees, narrowed to a team (with
/// its sub-teams) or one user.
async fn users_of<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &Params,
) -> AppResult<Vec<user::Model>> {
    let scope = DataScope::for_user(db, user).await?;
    let mut q = scope
        .filter(user::Entity::find(), user::Column::Id)
        .order_by_asc(user::Column::Name);
    if let Some(u) = &p.user_id {
        q = q.filter(user::Column::Id.eq(u.clone()));
    }
    if let Some(t) = &p.team_id {
        let edges: Vec<(String, Option<String>)> = crate::entities::team::Entity::find()
            .select_only()
            .column(crate::entities::team::Column::Id)
            .column(crate::entities::team::Column::ParentId)
            .into_tuple()
            .all(db)
            .await?;
        q = q.filter(user::Column::TeamId.is_in(subtree(&edges, t)));
    }
    Ok(q.all(db).await?)
}

pub async fn activity_report<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    p: &Params,
    now: OffsetDateTime,
) -> AppResult<ActivityReport> {
    let users = users_of(db, user, p).await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let start = p.from.midnight().assume_utc();
    let end = p.to.next_day().unwrap_or(p.to).midnight().assume_utc();
    let acts: Vec<(Option<String>, String, OffsetDateTime, Option<String>)> =
        activity::Entity::find()
            .filter(activity::Column::CreatedBy.is_in(ids.clone()))
            .filter(activity::Column::DeletedAt.is_null())
            .filter(activity::Column::OccurredAt.gte(start))
            .filter(activity::Column::OccurredAt.lt(end))
            .select_only()
            .column(activity::Column::CreatedBy)
            .column(activity::Column::Kind)
            .column(activity::Column::OccurredAt)
            .column(activity::Column::CustomerId)
            .into_tuple()
            .all(db)
            .await?;
    let tasks = task::Entity::find()
        .filter(task::Column::AssigneeId.is_in(ids))
        .filter(task::Column::Kind.eq("follow_up"))
        .filter(task::Column::Status.ne("cancelled"))
        .filter(task::Column::DueAt.gte(start))
        .filter(task::Column::DueAt.lt(end))
        .all(db)
        .await?;
    let mut rows: Vec<ReportRow> = users
        .iter()
        .map(|u| ReportRow {
            user_id: u.id.clone(),
            user_name: u.name.clone(),
            by_kind: BTreeMap::new(),
            activities: 0,
            customers_touched: 0,
            follow_ups_on_time: 0,
            follow_ups_overdue: 0,
        })
        .collect();
    let mut touched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut buckets: BTreeMap<Date, BTreeMap<String, u64>> = BTreeMap::new();
    let mut d = p.from;
    while d <= p.to {
        buckets.entry(p.bucket(d)).or_default();
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    for (by, kind, at, customer) in acts {
        let Some(by) = by else { continue };
        if let Some(r) = rows.iter_mut().find(|r| r.user_id == by) {
            *r.by_kind.entry(kind.clone()).or_insert(0) += 1;
            r.activities += 1;
            if let Some(c) = customer {
                touched.entry(by.clone()).or_default().insert(c);
            }
        }
        *buckets
            .entry(p.bucket(at.date()))
            .or_default()
            .entry(kind)
            .or_insert(0) += 1;
    }
    for t in tasks {
        if let Some(r) = rows.iter_mut().find(|r| r.user_id == t.assignee_id) {
            match (t.status.as_str(), t.done_at) {
                ("done", Some(done)) if done <= t.due_at => r.follow_ups_on_time += 1,
                ("done", _) => r.follow_ups_overdue += 1,
                _ if t.due_at < now => r.follow_ups_overdue += 1,
                _ => {}
            }
        }
    }
    for r in rows.iter_mut() {
        r.customers_touched = touched.get(&r.user_id).map(|s| s.len() as u64).unwrap_or(0);
    }
    let mut total = ReportRow {
        user_id: String::new(),
        user_name: String::new(),
        by_kind: BTreeMap::new(),
        activities: 0,
        customers_touched: touched.values().flatten().collect::<BTreeSet<_>>().len() as u64,
        follow_ups_on_time: 0,
        follow_ups_overdue: 0,
    };
    for r in &rows {
        for (k, n) in &r.by_kind {
            *total.by_kind.entry(k.clone()).or_insert(0) += n;
        }
        total.activities += r.activities;
        total.follow_ups_on_time += r.follow_ups_on_time;
        total.follow_ups_overdue += r.follow_ups_overdue;
    }
    Ok(ActivityReport {
        period: p.period.clone(),
        from: day(p.from),
        to: day(p.to),
        rows,
        buckets: buckets
            .into_iter()
            .map(|(d, by_kind)| Bucket {
                start: day(d),
                by_kind,
            })
            .collect(),
        total,
    })
}

/// A stacked bar chart (SVG) of activities by kind per period; `label` names a kind.
/// (The page gives it a heading: chart titles are measured with a Latin font.)
pub fn chart_svg(r: &ActivityReport, label: impl Fn(&str) -> String) -> String {
    let kinds = crate::activities::model::KINDS;
    let series: Vec<serde_json::Value> = kinds
        .iter()
        .map(|k| {
            serde_json::json!({
                "name": label(k),
                "data": r.buckets.iter().map(|b| *b.by_kind.get(*k).unwrap_or(&0) as f32).collect::<Vec<f32>>(),
                "stack": "all",
            })
        })
        .collect();
    let x: Vec<String> = r
        .buckets
        .iter()
        .map(|b| b.start.get(5..).unwrap_or(&b.start).to_owned())
        .collect();
    let spec = serde_json::json!({
        "width": 760,
        "height": 320,
        "title_text": "",
        "legend_align": "left",
        "series_list": series,
        "x_axis_data": x,
        "margin": {"left": 10, "top": 10, "right": 20, "bottom": 10},
    });
    charts_rs::BarChart::from_json(&spec.to_string())
        .ok()
        .and_then(|c| c.svg().ok())
        .unwrap_or_default()
}
